"""Stable fingerprints of findings: what a finding is about, not where it sits or what
the corpus measured today.

A fingerprint is built from the check code, the rule (its id; a rule without one by
its file name and position in the file) and the finding's *subject*: `finding.data`
with its evidence left out (counts, shares, lines, paths, and lists of what the rule
lacks), rule keys in it (`key`, `*_key`) stripped of paths, prose (`reason`, ...) with
its numbers blanked. When that leaves nothing, or only what kind of finding it is
(`kind`, `status`...), the message with its numbers blanked is the subject. So
inserting lines above a finding, moving a file to another folder, or the reach of
`\\cmd.exe` going from 131 to 132 keep a fingerprint; a different indicator, check
or rule changes it.

Checks may set `data["subject"]` to say outright what identifies their finding.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from typing import Any, Iterable

from .findings import Finding

VERSION = "v1"  # part of every fingerprint: bump when the recipe changes

# Data keys holding evidence that drifts as the corpus or the file changes.
EVIDENCE_KEYS = frozenset({
    "reach", "together", "threshold", "peers", "count", "counts", "share", "score", "noise",
    "noise_score", "rules", "total", "n", "line", "lines", "column", "col", "end_line",
    "path", "paths", "file", "files", "related",
    # What the rule lacks: the finding stays the same finding while that list grows or shrinks.
    "missing",
})
# Keys that only classify a finding: data holding nothing else leaves the message to
# tell what the finding is about.
CATEGORY_KEYS = frozenset({"kind", "status", "type", "scope", "category", "severity", "level"})
# Keys whose text is prose: numbers in it (lines, counts) are blanked.
PROSE_KEYS = frozenset({"reason", "message", "why", "detail", "details", "hint", "text", "note",
                        "evidence", "summary", "description"})

_DIGITS = re.compile(r"\d+")
_RULE_IN_FILE = re.compile(r"^(.*)#(\d+)$")


def _basename(path: str) -> str:
    return os.path.basename(path.replace("\\", "/"))


def rule_ref(key: str) -> str:
    """A rule key without the path it may hold: `id@path` is the id, `path#2` the file
    name and position."""
    key = key.split("@", 1)[0]
    m = _RULE_IN_FILE.match(key)
    return f"{_basename(m.group(1))}#{m.group(2)}" if m else key


def rule_identity(f: Finding) -> str:
    """The rule a finding is about, independent of where its file lives."""
    if f.rule_id:
        return f"id:{f.rule_id}"
    ref = rule_ref(f.rule_key) if f.rule_key else ""
    return f"file:{ref}" if "#" in ref else f"file:{_basename(f.path) if f.path else ''}"


def _is_evidence(key: str) -> bool:
    k = key.casefold()
    return k in EVIDENCE_KEYS or k.endswith(("_path", "_paths", "_line", "_lines", "_count", "_reach"))


def _is_rule_key(key: str) -> bool:
    k = key.casefold()
    return k in ("key", "keys") or k.endswith(("_key", "_keys"))


def _canonical(value: Any, prose: bool = False, key: bool = False) -> Any:
    """The identifying part of a data value: numbers dropped, prose numbers blanked,
    rule keys without their paths, lists sorted (their order often follows counts)."""
    if isinstance(value, bool) or isinstance(value, (int, float)) or value is None:
        return None
    if isinstance(value, str):
        return rule_ref(value) if key else _DIGITS.sub("#", value) if prose else value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if _is_evidence(str(k)):
                continue
            c = _canonical(v, str(k).casefold() in PROSE_KEYS, _is_rule_key(str(k)))
            if c not in (None, "", [], {}):
                out[str(k)] = c
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [c for c in (_canonical(v, prose, key) for v in value) if c not in (None, "", [], {})]
        return sorted(items, key=lambda c: json.dumps(c, sort_keys=True, ensure_ascii=False))
    return str(value)


def _message(f: Finding) -> str:
    text = f.message.replace(f.path, os.path.basename(f.path)) if f.path else f.message
    return _DIGITS.sub("#", text)


def subject(f: Finding) -> Any:
    """What the finding is about, as plain JSON data."""
    if "subject" in f.data:
        return _canonical(f.data["subject"])
    data = _canonical(f.data)
    if not data:
        return {"message": _message(f)}
    if set(data) <= CATEGORY_KEYS:
        # Data that only says what kind of finding it is (`{"kind": "covered"}`): the
        # message says what it is about, and tells two of them in one rule apart.
        return {**data, "message": _message(f)}
    return data


def fingerprint(f: Finding) -> str:
    """A stable hex digest of the finding's check, rule and subject."""
    payload = json.dumps([VERSION, f.code, rule_identity(f), subject(f)], sort_keys=True,
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def fingerprints(findings: Iterable[Finding]) -> list[str]:
    """Fingerprints of a run's findings, in order: a repeat of the same subject in one
    rule (two identical stale suppressions) gets `:2`, `:3`... by its place in the file,
    which line moves keep."""
    findings = list(findings)
    base = [fingerprint(f) for f in findings]
    order = sorted(range(len(findings)), key=lambda i: (findings[i].path, findings[i].line or 0, i))
    seen: Counter[str] = Counter()
    out = list(base)
    for i in order:
        seen[base[i]] += 1
        if seen[base[i]] > 1:
            out[i] = f"{base[i]}:{seen[base[i]]}"
    return out
