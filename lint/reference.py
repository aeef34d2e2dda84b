"""The reference index: corpus context without the corpus.

`rulelint index build PATH... -o FILE` stores the index of a corpus (indicator
keys, which rules use them, each rule's id, path, log source and techniques; no
titles, no queries) as a compressed snapshot with its provenance. The package
ships one built from the three public corpora (SigmaHQ, Elastic, Splunk), so a
team's thirty private rules are judged with the reach of 8,000 public ones.
Rebuild it with:

    rulelint index build CORPUS -o lint/data/reference.idx

A rule of the linted corpus replaces the reference rule with the same id.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import __version__
from .model import snapshot
from .model.index import CorpusIndex
from .model.rule import NormalizedRule

BUNDLED = Path(__file__).resolve().parent / "data" / "reference.idx"
MAGIC = b"rulelint-reference 1\n"
MAX_FILE = 64 * 2**20  # the bundled index is under 2 MB
MAX_EXPANDED = 512 * 2**20


def provenance(roots: list[str]) -> list[dict[str, str]]:
    """Sources of a corpus root as its README table gives them (folder, repository,
    commit, licence): the shared corpus documents them so."""
    out = []
    for root in roots:
        readme = Path(root) / "README.md"
        if not readme.is_file():
            out.append({"folder": os.path.basename(os.path.normpath(root)), "repository": "", "commit": "",
                        "licence": ""})
            continue
        for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and re.fullmatch(r"[0-9a-f]{40}", cells[2].split()[0] if cells[2] else ""):
                out.append({"folder": cells[0].rstrip("/"), "repository": cells[1],
                            "commit": cells[2].split()[0], "licence": cells[3]})
    return out


def build(rules: list[NormalizedRule], roots: list[str]) -> bytes:
    """The reference bytes of a corpus: paths relative to the corpus roots (so the same
    corpora give the same bytes wherever they are), no titles."""
    base = os.path.commonpath([os.path.abspath(r) for r in roots]) if roots else os.getcwd()
    if os.path.isfile(base):
        base = os.path.dirname(base)
    sources = provenance(roots)
    repos = {s["folder"]: s["repository"] for s in sources if s["repository"]}
    seen: set[str] = set()
    for r in rules:
        r.title = ""  # the reference holds figures and keys, not rule text
        rel = os.path.relpath(os.path.abspath(r.path), base).replace(os.sep, "/")
        head, _, rest = rel.partition("/")
        # `SigmaHQ/sigma:rules/windows/...`: where the rule lives upstream.
        r.path = f"{repos[head]}:{rest}" if head in repos and rest else rel
        key = r.id or f"{r.path}#0"
        r.key = key if key not in seen else f"{key}@{r.path}"
        seen.add(r.key)
    index = CorpusIndex(rules)
    vendors: dict[str, int] = {}
    for r in index.rules.values():
        vendors[r.vendor] = vendors.get(r.vendor, 0) + 1
    meta = {
        "rulelint": __version__,  # no build date: rebuilding from the same corpora gives the same bytes
        "rules": len(index.rules),
        "indicators": len(index.usage),
        "vendors": vendors,
        "sources": sources,
    }
    return MAGIC + zlib.compress(snapshot.dump(index, None, meta, stable=True), 9)


def read(path: str | os.PathLike[str]) -> tuple[CorpusIndex, dict[str, Any]]:
    """The index and provenance of a reference file. Raises ValueError if it is not one."""
    data = _bytes(str(path))
    if not data.startswith(MAGIC):
        raise ValueError(f"{path} is not a rulelint reference index")
    try:
        # Bounded: a repository's config may name the file, and a few KB must not
        # inflate to gigabytes.
        inflate = zlib.decompressobj()
        raw = inflate.decompress(data[len(MAGIC):], MAX_EXPANDED)
        if inflate.unconsumed_tail:
            raise ValueError(f"{path} expands past {MAX_EXPANDED // 2**20} MiB: not a reference index")
    except zlib.error as e:
        raise ValueError(f"{path} is damaged: {e}") from None
    return snapshot.load(raw)


@lru_cache(maxsize=4)
def fingerprint(path: str | os.PathLike[str]) -> str:
    return hashlib.sha1(_bytes(str(path))).hexdigest()[:16]


@lru_cache(maxsize=4)
def _bytes(path: str) -> bytes:
    # Non-blocking, regular files only, bounded: never hang on a FIFO or read a device.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if st.st_size > MAX_FILE:
            raise ValueError(f"{path} is over {MAX_FILE // 2**20} MiB: not a reference index")
        return fh.read(MAX_FILE + 1)


def upstream_commits(meta: dict[str, Any]) -> dict[str, str]:
    """Each source repository of a reference index and the commit it was built from:
    `SigmaHQ/sigma` -> `8eaafff1...`, so a reference rule links to its file upstream."""
    return {s["repository"]: s["commit"] for s in meta.get("sources", []) if s.get("repository") and s.get("commit")}


def describe(meta: dict[str, Any]) -> str:
    """`7,851 rules: SigmaHQ/sigma@8eaafff, elastic/detection-rules@14cf530, ...`"""
    sources = ", ".join(f"{s['repository'] or s['folder']}@{s['commit'][:7]}" if s.get("commit")
                        else s.get("repository") or s["folder"] for s in meta.get("sources", []))
    return f"{meta.get('rules', 0):,} rules" + (f" from {sources}" if sources else "")


def merge(index: CorpusIndex, reference: CorpusIndex) -> int:
    """Add the reference's rules to the index, except those the index has itself
    (same id, or same key); returns how many were added."""
    own_ids = {r.id for r in index.rules.values() if r.id}
    skip = {key for key, stub in reference.rules.items()
            if (stub.id and stub.id in own_ids) or key in index.rules}
    index.absorb(reference, skip)
    return len(reference.rules) - len(skip)
