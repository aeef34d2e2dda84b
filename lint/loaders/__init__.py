"""Find rule files, load each with its vendor's loader, in parallel when there are many."""

from __future__ import annotations

import os
import pickle
import re
import tomllib
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

from ..collector import paused
from ..cache import Cache, Stamp, clear_dependency_prints, dependency_print, digest_of
from ..model.canonical import canonicalize
from ..model.tree import MAX_DEPTH, depth
from .elastic import load_elastic, looks_like_elastic, read_toml
from .result import LoadResult, parse_error
from .sigma import load_sigma, looks_like_sigma
from .splunk import MacroTable, load_splunk, looks_like_splunk
from .yamlnodes import InputError, decode, load_documents, read_rule_bytes

RULE_SUFFIXES = (".yml", ".yaml", ".toml")
# Folders that never hold rules; hidden folders are skipped too.
SKIP_DIRS = {"node_modules", "__pycache__", "regression_data", "tests", "test"}

# Below this many files, worker start-up costs more than it saves.
PARALLEL_THRESHOLD = 200


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
        return LoadResult(findings=[parse_error(path, e.line, e.reason)]), None
    try:
        result = _load_native(path, raw)
        for rule in result.rules:
            canonicalize(rule)
        if any(depth(r.tree) > MAX_DEPTH for r in result.rules):
            # Whatever a parser let through: the model's walks are recursive to this depth.
            result = LoadResult(findings=[parse_error(path, None, f"rule logic nests deeper than {MAX_DEPTH} levels")])
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
        return LoadResult(findings=[parse_error(path, e.line, e.reason)])
    try:
        if any(looks_like_sigma(d.data) for d in docs):
            return load_sigma(path, docs)
        first = docs[0].data if docs else None
        if looks_like_splunk(first):
            return load_splunk(path, first, text, MacroTable.for_rule(path))
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
        m = re.search(r"line (\d+)", str(e))
        line = int(m.group(1)) if m else (text.rstrip("\n").count("\n") + 1 if "end of document" in str(e) else None)
        return LoadResult(findings=[parse_error(path, line, f"invalid TOML: {e}")])
    if not looks_like_elastic(data):
        return LoadResult()  # pyproject.toml, configs: not rules
    try:
        return load_elastic(path, text, data)
    except RecursionError:
        return LoadResult(findings=[parse_error(path, None, "rule nests too deeply")])
    except Exception as e:  # last resort: one bad file must not end the run
        return LoadResult(findings=[parse_error(path, None, f"internal error while loading: {type(e).__name__}: {e}")])


def reset_memos() -> None:
    """Forget what loading remembers across files (macro tables, folder fingerprints):
    one run sees the files as they are when it starts."""
    MacroTable._by_folder.clear()
    MacroTable._by_dir.clear()
    clear_dependency_prints()


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


def _load_chunk(paths: list[str]) -> list[tuple[LoadResult, Stamp | None]]:
    with paused():
        return [load_stamped(p) for p in paths]


def _load_chunk_blobs(paths: list[str]) -> list[tuple[bytes, Stamp | None]]:
    """Worker side, when results are cached: each result pickled once, here, so the
    parent can both use it and cache it without pickling it again."""
    with paused():
        return [(pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL), stamp) for r, stamp in map(load_stamped, paths)]


def load_paths(
    files: list[str],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    cache: Cache | None = None,
    stamps: dict[str, Stamp] | None = None,
    keep_cached: frozenset[str] = frozenset(),
    consume: Callable[[LoadResult], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> LoadResult:
    """Load every file; results keep the order of `files` whatever the parallelism.

    With a cache, unchanged files come from it and only the others are parsed (in
    parallel when there are many); `stamps`, when given, receives each file's stamp.
    Files in `keep_cached` (absolute paths) are parsed but their cache entry is left as is.
    So that the caller's own work overlaps the parsing, `consume` receives each file's
    result in the order of `files` as soon as it and those before it are in, and
    `meanwhile` runs once while the workers parse.
    """
    jobs = jobs or os.cpu_count() or 1
    results: list[LoadResult | None] = [None] * len(files)
    if cache is not None:
        for i, p in enumerate(files):
            hit = cache.lookup(p)
            if hit is not None:
                results[i] = _repath(hit[0], p)
                if stamps is not None:
                    stamps[p] = hit[1]
        hits = sum(r is not None for r in results)
        if progress and hits:
            progress(hits)
    todo = [i for i, r in enumerate(results) if r is None]
    fed = 0

    def feed() -> None:
        nonlocal fed
        while consume is not None and fed < len(results) and results[fed] is not None:
            consume(results[fed])  # type: ignore[arg-type]
            fed += 1

    def done(i: int, result: LoadResult, stamp: Stamp | None, blob: bytes | None = None) -> None:
        results[i] = result
        if stamp is not None:
            if cache is not None and os.path.abspath(files[i]) not in keep_cached:
                cache.store(files[i], stamp, result, blob)
            if stamps is not None:
                stamps[files[i]] = stamp

    if jobs <= 1 or len(todo) < PARALLEL_THRESHOLD:
        if meanwhile:
            meanwhile()
        for i in todo:
            done(i, *load_stamped(files[i]))
            feed()
            if progress:
                progress(1)
    else:
        size = max(20, min(100, len(todo) // (jobs * 8) or 1))  # the last chunk is the idle tail
        chunks = [todo[k:k + size] for k in range(0, len(todo), size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            # Without a cache, whole chunks travel as one pickle (strings shared across files).
            work = _load_chunk_blobs if cache is not None else _load_chunk
            parts = pool.map(work, [[files[i] for i in c] for c in chunks])
            if meanwhile:
                meanwhile()
            for chunk, loaded in zip(chunks, parts):
                for i, (item, stamp) in zip(chunk, loaded):
                    if cache is not None:
                        done(i, pickle.loads(item), stamp, item)
                    else:
                        done(i, item, stamp)
                feed()
                if progress:
                    progress(len(chunk))
    feed()
    total = LoadResult()
    for r in results:
        total.extend(r)  # type: ignore[arg-type]
    return total
