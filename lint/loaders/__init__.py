"""Find rule files, load each with its vendor's loader, in parallel when there are many."""

from __future__ import annotations

import os
import pickle
import re
import tomllib
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Iterator

from ..parallel import jobs_for, paused, process_map
from ..cache import Cache, Stamp, digest_of
from ..model.canonical import canonicalize
from ..model.tree import MAX_DEPTH, depth
from ..analysis.robustness import attach_robustness
from .elastic import load_elastic, looks_like_elastic, read_toml
from . import escapes
from .result import LoadResult, parse_error
from .sigma import load_sigma, looks_like_sigma
from .splunk import MacroTable, forget_macro_memos, load_splunk, looks_like_splunk, macro_folder_print
from .words import at, show, token_at
from .yamlnodes import InputError, decode, load_documents, read_rule_bytes

RULE_SUFFIXES = (".yml", ".yaml", ".toml")
# Folders that never hold rules; hidden folders are skipped too.
SKIP_DIRS = {"node_modules", "__pycache__", "regression_data", "tests", "test"}

# Below this many files, worker start-up costs more than it saves.
PARALLEL_THRESHOLD = 200


def dependency_print(path: str) -> str:
    """What a file's load result depends on besides its own bytes (a Splunk detection:
    its macros folder), for the cache to check; '' for nothing."""
    return macro_folder_print(path)


def discover(paths: Iterable[str]) -> list[str]:
    """Rule files under the given paths, sorted, each once. Explicit files are kept as given."""
    found: dict[str, None] = {}
    for root in paths:
        if not os.path.isdir(root):
            # A file named on the command line is judged even if it is no regular file
            # (a FIFO, a device): loading reports it instead of it silently vanishing.
            if os.path.lexists(root):
                found[os.path.normpath(root)] = None
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.lower().endswith(RULE_SUFFIXES) and not name.startswith("."):
                    found[os.path.normpath(os.path.join(dirpath, name))] = None
    return list(found)


def load_file(path: str) -> LoadResult:
    """Load one file, its rules stated in canonical fields and values; every failure
    becomes a parse-error finding, never an exception."""
    return load_stamped(path)[0]


def load_stamped(path: str) -> tuple[LoadResult, Stamp | None]:
    """Load one file and say which content was loaded (for the cache; None if unreadable)."""
    try:
        raw, st = read_rule_bytes(path)
    except OSError as e:
        return LoadResult(findings=[parse_error(path, None, f"cannot read file: {e.strerror or e}")]), None
    except InputError as e:
        return LoadResult(findings=[parse_error(path, e.line, e.reason, e.column)]), None
    try:
        result = _load_native(path, raw)
        for rule in result.rules:
            canonicalize(rule)
        if any(depth(r.tree) > MAX_DEPTH for r in result.rules):
            # Whatever a parser let through: the model's walks are recursive to this depth.
            result = LoadResult(findings=[parse_error(path, None, f"rule logic nests deeper than {MAX_DEPTH} levels")])
        for rule in result.rules:
            # Scored where the file is parsed (both cores, cached with the load): a warm JSON run,
            # explain and reports then read it instead of scoring thousands of rules again.
            attach_robustness(rule)
    except RecursionError:
        result = LoadResult(findings=[parse_error(path, None, "rule nests too deeply")])
    except Exception as e:  # last resort: one bad file must not end the run
        result = LoadResult(findings=[parse_error(
            path, None, f"internal error while loading: {type(e).__name__}: {e}")])
    # Whether the file may hold `# rulelint:` directives: suppression reads only those.
    mentions = b"rulelint" in raw.lower()
    return result, Stamp(st.st_size, st.st_mtime_ns, digest_of(raw), dependency_print(path), mentions)


def _load_native(path: str, raw: bytes) -> LoadResult:
    try:
        text = decode(raw)
        if path.lower().endswith(".toml"):
            return _load_toml(path, text)
        docs = load_documents(text)
    except InputError as e:
        return LoadResult(findings=[parse_error(path, e.line, e.reason, e.column)])
    try:
        if any(looks_like_sigma(d.data) for d in docs):
            result = load_sigma(path, docs)
            return escapes.attach(result, escapes.yaml_findings(path, docs, text, result.rules, "sigma"))
        first = docs[0].data if docs else None
        if looks_like_splunk(first):
            result = load_splunk(path, first, text, MacroTable.for_rule(path))
            return escapes.attach(result, escapes.yaml_findings(path, docs[:1], text, result.rules, "splunk"))
        return LoadResult()  # a YAML file that is not a rule (macro, config, ...)
    except RecursionError:
        return LoadResult(findings=[parse_error(path, None, "rule nests too deeply")])
    except Exception as e:  # last resort: one bad file must not end the run
        return LoadResult(findings=[parse_error(path, None, f"internal error while loading: {type(e).__name__}: {e}")])


def _load_toml(path: str, text: str) -> LoadResult:
    try:
        data = read_toml(text)
    except RecursionError:  # tomllib recurses once per nesting level of arrays and inline tables
        return LoadResult(findings=[parse_error(path, None, "TOML nests too deeply (over Python's recursion limit)")])
    except tomllib.TOMLDecodeError as e:
        reason, line, column = toml_error_words(str(e), text)
        return LoadResult(findings=[parse_error(path, line, f"invalid TOML: {reason}", column)])
    if not looks_like_elastic(data):
        return LoadResult()  # pyproject.toml, configs: not rules
    try:
        result = load_elastic(path, text, data)
        return escapes.attach(result, escapes.toml_findings(path, text, result.rules))
    except RecursionError:
        return LoadResult(findings=[parse_error(path, None, "rule nests too deeply")])
    except Exception as e:  # last resort: one bad file must not end the run
        return LoadResult(findings=[parse_error(path, None, f"internal error while loading: {type(e).__name__}: {e}")])


_TOML_AT = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


def toml_error_words(message: str, text: str) -> tuple[str, int | None, int | None]:
    """(reason, line, column) of a tomllib error: its message and position in one
    sentence, with what stands there, and what to write instead for the usual slips."""
    m = _TOML_AT.search(message)
    what = message[:m.start()] if m else message
    if m and m.group(1):
        line, column = int(m.group(1)), int(m.group(2))
    elif m:  # at end of document: the last line with text
        line, column = text.rstrip().count("\n") + 1, None
    else:
        line = column = None
    lines = text.split("\n")
    src = lines[line - 1] if line and line <= len(lines) else ""
    where = at(line, column)
    key = re.match(r"\s*([\w.\"'-]+)\s*=", src)
    if what == "Illegal character '\\n'":
        return (f"a line break inside a one-line string {where}; close the quote, or use triple quotes "
                "for text over several lines", line, column)
    if what == "Cannot overwrite a value" and key:
        column = key.start(1) + 1
        return f"`{key.group(1).strip()}` is set twice, the second time {at(line, column)}", line, column
    twice = re.fullmatch(r"Cannot declare \((.*)\) twice", what)
    if twice:
        table = ".".join(p.strip().strip("'\"") for p in twice.group(1).split(",") if p.strip())
        return f"the table `[{table}]` is declared twice, the second time {where}", line, column
    if what.startswith("Unescaped '\\'") and column:
        i = src.rfind("\\", 0, column)
        if i >= 0:
            column = i + 1
        escape = src[i:i + 2] if i >= 0 else "\\"
        return (f"an unknown escape {show(escape)} in a double-quoted string {at(line, column)}; write the "
                "value in single quotes, where a backslash is an ordinary character, or double the backslash",
                line, column)
    what = f"{what[:1].lower()}{what[1:]}"
    if m and not m.group(1):
        return f"{what} before the end of the file", line, column
    tok = token_at(src, column - 1) if column and not what.startswith("found") else ""
    found_it = f", found {show(tok)}" if tok else ""
    return f"{what} {where}{found_it}".strip(), line, column


def reset_memos() -> None:
    """Forget what loading remembers across files (macro tables, folder fingerprints):
    one run sees the files as they are when it starts."""
    forget_macro_memos()


def _repath(result: LoadResult, path: str) -> LoadResult:
    """A cached result read through another spelling of its path (relative, absolute):
    report the path as this run names it."""
    old = next((r.path for r in result.rules), None) or next((f.path for f in result.findings), None)
    if old is None or old == path:
        return result
    for r in result.rules:
        r.path = path
        if old in r.key:
            r.key = r.key.replace(old, path)
    for f in result.findings:
        f.path = path
        f.message = f.message.replace(old, path)
        f.rule_key = f.rule_key.replace(old, path)
    return result


@dataclass(slots=True)
class Loaded:
    """One file's load: its result, what content it was (None: unreadable), and whether
    it came from the cache. `blob` is the result as the worker pickled it, so a cache
    stores it without pickling it again."""

    path: str
    result: LoadResult
    stamp: Stamp | None
    from_cache: bool = False
    blob: bytes | None = None


def _parse_chunk(paths: list[str], pickled: bool) -> list[tuple[LoadResult | bytes, Stamp | None]]:
    """Worker side. With `pickled`, each result is pickled here, once (the parent both
    uses and caches it); else the chunk travels as one pickle (strings shared across files)."""
    with paused():
        loaded = [load_stamped(p) for p in paths]
        if pickled:
            return [(pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL), stamp) for r, stamp in loaded]
        return loaded  # type: ignore[return-value]


def _parse(files: list[str], jobs: int, pickled: bool,
           meanwhile: Callable[[], None] | None) -> Iterator[tuple[LoadResult, Stamp | None, bytes | None]]:
    """Parse `files` in order, in worker processes when there are many; `meanwhile` runs
    once, while the workers parse."""
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        if meanwhile:
            meanwhile()
        for path in files:
            yield (*load_stamped(path), None)
        return
    size = max(20, min(100, len(files) // (jobs * 8) or 1))  # the last chunk is the idle tail
    chunks = [files[k:k + size] for k in range(0, len(files), size)]
    for part in process_map(partial(_parse_chunk, pickled=pickled), chunks, jobs, meanwhile):
        for item, stamp in part:
            if pickled:
                yield pickle.loads(item), stamp, item  # type: ignore[arg-type]
            else:
                yield item, stamp, None  # type: ignore[misc]


def load_files(files: list[str], jobs: int | None = None, cache: Cache | None = None,
               meanwhile: Callable[[], None] | None = None) -> Iterator[Loaded]:
    """Every file's load, in the order of `files` whatever the parallelism. With a cache,
    unchanged files come from it and only the others are parsed; storing results is
    the caller's. `meanwhile` is the caller's own work, run once while workers parse."""
    hits: dict[int, tuple[LoadResult, Stamp]] = {}
    if cache is not None:
        for i, p in enumerate(files):
            hit = cache.lookup(p)
            if hit is not None:
                hits[i] = hit
    parsed = _parse([p for i, p in enumerate(files) if i not in hits], jobs_for(jobs), cache is not None, meanwhile)
    for i, path in enumerate(files):
        hit = hits.get(i)
        if hit is not None:
            yield Loaded(path, _repath(hit[0], path), hit[1], True)
        else:
            result, stamp, blob = next(parsed)
            yield Loaded(path, result, stamp, False, blob)
    if meanwhile and len(hits) == len(files):
        meanwhile()  # nothing was parsed: the caller's work still runs once


def load_paths(files: list[str], jobs: int | None = None) -> LoadResult:
    """Every file's rules and parse errors, in file order, without a cache."""
    total = LoadResult()
    for loaded in load_files(files, jobs):
        total.extend(loaded.result)
    return total
