"""Reading events from files: JSON (one document, an array, or one document per line),
zip archives of such files, and EVTX through the `evtx` library (Rust's evtx parser).

Each event is yielded with the file it came from (as given, or found under a given folder)
and its 0-based position in that file, in file order: replay's JSON output refers to
events by exactly that pair. An unreadable file or line becomes a `SourceError`, and the
rest is still read.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Iterator

EVENT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".evtx", ".zip")


@dataclass(slots=True)
class SourceError:
    file: str
    line: int | None
    reason: str


def discover_events(paths: list[str]) -> list[str]:
    """Event files under the given paths, sorted, each once; files named directly are kept."""
    found: dict[str, None] = {}
    for root in paths:
        if not os.path.isdir(root):
            found[os.path.normpath(root)] = None
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.lower().endswith(EVENT_SUFFIXES) and not name.startswith("."):
                    found[os.path.normpath(os.path.join(dirpath, name))] = None
    return list(found)


def read_events(path: str) -> Iterator[tuple[int, dict[str, Any]] | SourceError]:
    """(position, document) for each event of one file, or SourceErrors for what cannot be read."""
    lower = path.lower()
    try:
        if lower.endswith(".evtx"):
            yield from _evtx(path)
        elif lower.endswith(".zip"):
            yield from _zip(path)
        else:
            with open(path, "rb") as fh:
                yield from _json_bytes(path, fh.read())
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as e:
        yield SourceError(path, None, f"cannot read events: {e}")


def _json_bytes(path: str, data: bytes, start: int = 0) -> Iterator[tuple[int, dict[str, Any]] | SourceError]:
    """One JSON document, a JSON array of documents, or documents one after another (one per
    line, or pretty-printed back to back as `evtx_dump` writes them)."""
    fast = _ndjson(data, start)
    if fast is not None:
        yield from fast
        return
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    if text.lstrip()[:1] == "[":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            yield SourceError(path, e.lineno, f"not JSON: {e.msg}")
            return
        for i, d in enumerate(doc if isinstance(doc, list) else [doc]):
            if isinstance(d, dict):
                yield start + i, d
            else:
                yield SourceError(path, None, f"element {i} of the array is not an object")
        return
    decode = _DECODER.raw_decode
    n, pos, end = start, 0, len(text)
    while True:
        m = _SPACE.match(text, pos)
        pos = m.end() if m else pos
        if pos >= end:
            return
        try:
            doc, pos = decode(text, pos)
        except json.JSONDecodeError as e:
            yield SourceError(path, text.count("\n", 0, e.pos) + 1, f"not JSON: {e.msg}")
            nl = text.find("\n", e.pos)  # go on from the next line
            if nl < 0:
                return
            pos = nl + 1
            continue
        if isinstance(doc, dict):
            yield n, doc
            n += 1
        else:
            yield SourceError(path, text.count("\n", 0, pos) + 1, "not a JSON object")


def _ndjson(data: bytes, start: int) -> list[tuple[int, dict[str, Any]]] | None:
    """One object per line, read with orjson: the common export, several times faster than
    the general reader. None when the data is anything else (the general reader then reads it)."""
    try:
        import orjson
    except ImportError:
        return None
    if data[:1] != b"{":
        return None
    out = []
    n = start
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(doc, dict):
            return None
        out.append((n, doc))
        n += 1
    return out


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\r\n]+")


def _zip(path: str) -> Iterator[tuple[int, dict[str, Any]] | SourceError]:
    """The JSON files of an archive, in name order, numbered as one file."""
    n = 0
    with zipfile.ZipFile(path) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            name = info.filename.lower()
            if info.is_dir() or not name.endswith((".json", ".jsonl", ".ndjson")) or "/." in "/" + name:
                continue
            for item in _json_bytes(path, z.read(info), n):
                if isinstance(item, SourceError):
                    item.reason = f"{info.filename}: {item.reason}"
                else:
                    n = item[0] + 1
                yield item


def _evtx(path: str) -> Iterator[tuple[int, dict[str, Any]] | SourceError]:
    try:
        from evtx import PyEvtxParser
    except ImportError:
        yield SourceError(path, None, "reading EVTX needs the `evtx` package (pip install evtx)")
        return
    parser = PyEvtxParser(path)
    for n, record in enumerate(parser.records_json()):
        try:
            yield n, json.loads(record["data"])
        except (KeyError, json.JSONDecodeError) as e:
            yield SourceError(path, None, f"record {n}: {e}")
