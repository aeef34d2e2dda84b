"""`--format json`: the contract of docs/json-format.md."""

from __future__ import annotations

import json
from typing import Any, Iterable, TextIO

from ..analysis.noise import unscored_note
from ..analysis.robustness import robustness_of
from ..run_result import RunResult
from ..model.rule import NormalizedRule
from ..model.tree import to_dict


def rule_dict(rule: NormalizedRule, noise: float | None) -> dict[str, Any]:
    return {
        "key": rule.key,
        "id": rule.id,
        "title": rule.title,
        "vendor": rule.vendor,
        "path": rule.path,
        "line": rule.line,
        "kind": rule.kind,
        "techniques": rule.techniques,
        "tactics": rule.tactics,
        "logsource": rule.logsource.key(),
        "noise_score": noise,
        **({"noise_note": unscored_note(rule)} if noise is None else {}),
        "robustness": robustness_of(rule).to_dict(),
        "predicates": [
            {"field": p.field, "op": p.op, "values": list(p.values), "line": p.line,
             "native_field": p.native_field, "positive": rule.polarity.get(i, True)}
            for i, p in enumerate(rule.predicates)
        ],
        "tree": to_dict(rule.tree),
        "references": rule.references,
    }


def render(result: RunResult, out: TextIO) -> None:
    """{"rules": [...], "findings": [...], "summary": {...}} as one `json.dumps` of it would
    write it, but one rule and one finding at a time: the whole document of a 100,000-rule
    corpus held at once (dicts, then one string) would cost gigabytes. dumps (not dump)
    takes the C encoder."""
    def items(key: str, dicts: Iterable[dict[str, Any]], first: bool = False) -> None:
        out.write(("{" if first else ", ") + json.dumps(key) + ": [")
        for i, d in enumerate(dicts):
            if i:
                out.write(", ")
            out.write(json.dumps(d, ensure_ascii=False))
        out.write("]")

    items("rules", (rule_dict(r, result.noise.get(r.key)) for r in result.targets), first=True)
    items("findings", (f.to_dict() for f in result.findings))
    out.write(', "summary": ' + json.dumps(result.summary(), ensure_ascii=False) + "}\n")
