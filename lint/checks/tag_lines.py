"""Where a rule writes an ATT&CK id or tactic, so RL301/RL302 point at that line rather
than the rule's first one. Read from the file only when a finding needs it: the loaders
keep no per-tag lines, and these checks fire on a handful of rules per corpus."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from ..model.rule import NormalizedRule


def _lines(path: str) -> tuple[str, ...]:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return _read(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _read(path: str, _mtime: int, _size: int) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return tuple(fh.read().splitlines())
    except OSError:
        return ()


def _patterns(vendor: str, written: str) -> list[re.Pattern[str]]:
    w = re.escape(written)
    if vendor == "sigma":
        # `  - attack.t1059.001` (quoted or not), or inline `tags: [attack.t1059.001]`
        return [re.compile(rf"^\s*-\s*['\"]?attack\.{w}['\"]?\s*(#.*)?$", re.I),
                re.compile(rf"[\[,\s'\"]attack\.{w}['\",\]\s]", re.I)]
    if vendor == "elastic":
        # `id = "T1059"` of a technique or tactic table, or a tactic's `name = "Execution"`
        return [re.compile(rf"^\s*(id|name)\s*=\s*['\"]{w}['\"]", re.I)]
    # Splunk: `  - T1059.001` under mitre_attack_id
    return [re.compile(rf"^\s*-\s*['\"]?{w}['\"]?\s*(#.*)?$", re.I)]


def tag_line(rule: NormalizedRule, written: str) -> int | None:
    """The first line at or after the rule's start (a file may hold several documents)
    where `written` (`T1086`, `credential-access`, `TA0006`) is tagged; None if not found."""
    lines = _lines(rule.path)
    start = max((rule.line or 1) - 1, 0)
    # A Sigma document's tags may sit above its title line, so look from the top when
    # nothing follows the start.
    for first in (start, 0):
        for pattern in _patterns(rule.vendor, written):
            for i in range(first, len(lines)):
                if pattern.search(lines[i]):
                    return i + 1
    return None
