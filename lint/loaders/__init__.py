"""Find rule files, load each with its vendor's loader, in parallel when there are many."""

from __future__ import annotations

import os
import re
import tomllib
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

from ..model.canonical import canonicalize
from .elastic import load_elastic, looks_like_elastic
from .result import LoadResult, parse_error
from .sigma import load_sigma, looks_like_sigma
from .splunk import MacroTable, load_splunk, looks_like_splunk
from .yamlnodes import MAX_FILE_BYTES, InputError, decode, load_documents

RULE_SUFFIXES = (".yml", ".yaml", ".toml")
# Folders that never hold rules; hidden folders are skipped too.
SKIP_DIRS = {"node_modules", "__pycache__", "regression_data", "tests", "test"}

# Below this many files, worker start-up costs more than it saves.
PARALLEL_THRESHOLD = 200


def discover(paths: Iterable[str]) -> list[str]:
    """Rule files under the given paths, sorted, each once. Explicit files are kept as given."""
    found: dict[str, None] = {}
    for root in paths:
        if os.path.isfile(root):
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
    result = _load_native(path)
    for rule in result.rules:
        canonicalize(rule)
    return result


def _load_native(path: str) -> LoadResult:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # enough for decode() to refuse an oversized file
        text = decode(raw)
        if path.lower().endswith(".toml"):
            return _load_toml(path, text)
        docs = load_documents(text)
    except InputError as e:
        return LoadResult(findings=[parse_error(path, e.line, e.reason)])
    except OSError as e:
        return LoadResult(findings=[parse_error(path, None, f"cannot read file: {e.strerror or e}")])
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
        data = tomllib.loads(text)
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


def _load_chunk(paths: list[str]) -> list[LoadResult]:
    return [load_file(p) for p in paths]


def load_paths(
    files: list[str],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Load every file; results keep the order of `files` whatever the parallelism."""
    jobs = jobs or os.cpu_count() or 1
    total = LoadResult()
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        for p in files:
            total.extend(load_file(p))
            if progress:
                progress(1)
        return total
    size = max(20, min(200, len(files) // (jobs * 8) or 1))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for results in pool.map(_load_chunk, chunks):
            for r in results:
                total.extend(r)
            if progress:
                progress(len(results))
    return total
