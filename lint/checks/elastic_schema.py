"""What the Elastic schema checks (RL601-RL604) share: the layout the loader kept of a
TOML rule, the datasets its query names, its index patterns, and the ECS field names.

The rules follow Elastic's detection-rules repository: its rule schema (the dataclasses of
`detection_rules/rule.py`) and the unit tests it runs on every rule without a cluster
(`tests/test_all_rules.py`: index or data view present, integration metadata against the
query's datasets and the index patterns). Nothing here is fetched at run time.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model.rule import NormalizedRule

DATASET_FIELDS = ("event.dataset", "data_stream.dataset")
# Index patterns any integration's data may sit behind (Beats indices, every data stream):
# detection-rules' IGNORE_INDICES, which its integration test skips.
BROAD_INDICES = frozenset({".alerts-security.*", "logs-*", "metrics-*", "traces-*", "endgame-*", "filebeat-*",
                           "packetbeat-*", "auditbeat-*", "winlogbeat-*"})
# Machine-learning packages (detection-rules' MACHINE_LEARNING_PACKAGES): their rules read
# the anomaly indices of a job, not an integration's data stream.
ML_PACKAGES = frozenset({"lmd", "dga", "ded", "problemchild", "beaconing", "pad"})

_ECS = Path(__file__).resolve().parent.parent / "model" / "ecs_fields.json"


def layout(rule: NormalizedRule) -> dict[str, Any]:
    """The keys and table lines the loader kept of an Elastic TOML file (empty otherwise)."""
    out = rule.extra.get("toml") if rule.vendor == "elastic" else None
    return out if isinstance(out, dict) else {}


def line_of(rule: NormalizedRule, *tables: str) -> int | None:
    """The line of the first of these tables (or `table.key` entries) the file has."""
    lines = layout(rule).get("lines", {})
    for t in tables:
        if lines.get(t):
            return lines[t]
    return rule.line


def integrations(rule: NormalizedRule) -> list[str]:
    """`metadata.integration`: the packages the rule declares (detection-rules builds the
    Kibana `related_integrations` field from it and from the query's datasets)."""
    return list(layout(rule).get("integration", []))


def datasets(rule: NormalizedRule) -> list[tuple[str, int | None]]:
    """(value, line) of every dataset the query requires: `event.dataset` or
    `data_stream.dataset` tested for equality where a match needs the test to hold.
    Wildcards and computed ES|QL columns are left out."""
    out: list[tuple[str, int | None]] = []
    pol = rule.polarity
    for i, p in enumerate(rule.predicates):
        if p.field in DATASET_FIELDS and p.op == "eq" and pol.get(i) and "computed" not in p.notes:
            out += [(v, p.line) for v in p.values if v and not any(c in v for c in "*?")]
    return out


def index_patterns(rule: NormalizedRule) -> list[str]:
    """The index patterns the rule reads: `index`, or an ES|QL query's FROM sources."""
    idx = rule.extra.get("index") or rule.extra.get("esql_from") or []
    return [str(i) for i in idx if isinstance(i, str)] if isinstance(idx, list) else []


_DATA_STREAM = re.compile(r"logs-(?P<dataset>[^-]*)-(?P<namespace>[^-]*)$")


def holds_dataset(pattern: str, dataset: str) -> bool | None:
    """Whether a data stream of `dataset` (`logs-<dataset>-<namespace>`) can sit behind the
    index pattern: None where the pattern is not a `logs-<dataset>` one, so nothing is known."""
    if not pattern.startswith("logs-") or pattern in BROAD_INDICES or pattern.startswith("logs-*"):
        return None
    for namespace in ("default", "x"):
        if fnmatchcase(f"logs-{dataset}-{namespace}", pattern):
            return True
    m = _DATA_STREAM.match(pattern)
    return bool(m and fnmatchcase(dataset, m["dataset"]))


def pattern_integration(pattern: str) -> str | None:
    """The package an index pattern belongs to, as detection-rules' integration test reads
    it: the first word after the first hyphen (`logs-aws.cloudtrail-*` is aws); None for the
    patterns that test ignores."""
    if pattern in BROAD_INDICES:
        return None
    if pattern in ("apm-*-transaction*", "traces-apm*"):
        return "apm"
    head, _, tail = pattern.partition("-")
    m = re.search(r"\b\w+\b", tail or head)
    return m.group(0) if m else None


@lru_cache(maxsize=1)
def ecs() -> tuple[str, frozenset[str], frozenset[str]]:
    """(ECS version, every ECS field name, the ECS field sets: the names' first parts)."""
    doc = json.loads(_ECS.read_text(encoding="utf-8"))
    names = frozenset(doc["fields"])
    return doc["version"], names, frozenset(n.split(".", 1)[0] for n in names)


@lru_cache(maxsize=1)
def _ecs_by_set() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in sorted(ecs()[1]):
        out.setdefault(n.split(".", 1)[0], []).append(n)
    return out


def _within(a: str, b: str, bound: int) -> bool:
    """Levenshtein distance of a and b at most `bound` (banded, early exit)."""
    if abs(len(a) - len(b)) > bound:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > bound:
            return False
        prev = cur
    return prev[-1] <= bound


@lru_cache(maxsize=4096)
def nearest_ecs(field: str) -> str | None:
    """The ECS name a field not in ECS was most likely meant to be, or None when none is
    near enough to say: its underscores as dots (`process.parent_name`), its last part cut
    at an underscore (`destination.ip_address`), or one or two typing slips away with the
    same number of parts (`proces.name`)."""
    names = ecs()[1]
    dotted = field.replace("_", ".")
    if dotted != field and dotted in names:
        return dotted
    parent, _, leaf = field.rpartition(".")
    if parent and "_" in leaf:
        cut = f"{parent}.{leaf.split('_', 1)[0]}"
        if cut in names:
            return cut
    # A slip in the field set itself (`proces.`) is one character at most: a longer
    # difference there is another namespace (APM's `processor.name` is not `process.name`).
    head = field.split(".", 1)[0].lower()
    sets = [s for s in _ecs_by_set() if _within(head, s, 1)]
    bound = 1 if len(field) < 10 else 2
    parts, lowered = field.count("."), field.lower()
    best: tuple[int, str] | None = None
    for s in sets:
        for name in _ecs_by_set()[s]:
            if name.count(".") != parts or abs(len(name) - len(field)) > bound or not _within(lowered, name, bound):
                continue
            d = 0 if lowered == name else 1 if _within(lowered, name, 1) else 2
            if best is None or d < best[0]:
                best = (d, name)
    return best[1] if best else None
