"""Atoms and branches in words, bounded in length, for the logic checks' messages."""

from __future__ import annotations

import os
from typing import Any, Iterable

from ..model.predicate import quote
from ..model.rule import NormalizedRule
from .implication import Atom, atom_implies
from .logic_view import LogicView

MAX_VALUE_CHARS = 60
MAX_VALUES = 2
MAX_ATOMS = 3


def _value(v: str) -> str:
    return quote(v if len(v) <= MAX_VALUE_CHARS else v[:MAX_VALUE_CHARS] + "...")


def describe_atom(a: Atom, first: frozenset[str] = frozenset()) -> str:
    """`process.name eq 'a.exe' or 'b.exe' (or 3 more)` in canonical terms; values in
    `first` (the evidence) are listed before the others."""
    if a.op in ("exists", "is_null"):
        return f"{a.field} {a.op}"
    vals = sorted(a.values, key=lambda v: (v not in first, v))
    shown = " or ".join(_value(v) for v in vals[:MAX_VALUES])
    more = f" (or {len(vals) - MAX_VALUES} more)" if len(vals) > MAX_VALUES else ""
    case = " (case-sensitive)" if a.cs and any(v.lower() != v.upper() for v in vals) else ""
    return f"{a.field} {a.op} {shown}{more}{case}"


def describe_atoms(atoms: Iterable[Atom], limit: int = MAX_ATOMS, evidence: Iterable[Atom] = ()) -> str:
    """Several atoms joined by `and`, in a stable order, the rest counted. Values of
    theirs that the `evidence` atoms imply come first."""
    items = sorted(atoms, key=lambda a: (a.field, a.op, sorted(a.values)))
    evidence = list(evidence)
    parts = [describe_atom(a, _implied_values(a, evidence)) for a in items[:limit]]
    if len(items) > limit:
        parts.append(f"{len(items) - limit} more tests")
    return " and ".join(parts) if parts else "no positive test"


def _implied_values(a: Atom, evidence: list[Atom]) -> frozenset[str]:
    if not evidence or len(a.values) <= MAX_VALUES:
        return frozenset()
    out = set()
    for v in a.values:
        one = a._replace(values=frozenset((v,)))
        if any(atom_implies(e._replace(values=frozenset((w,))), one) for e in evidence for w in e.values):
            out.add(v)
    return frozenset(out)


def describe_written(rule: NormalizedRule, view: LogicView, atom: Atom) -> str:
    """An atom as the rule wrote it (`Image ends_with '\\cmd.exe'`), else canonical."""
    for i, a in enumerate(view.atoms):
        if a == atom:
            p = rule.predicates[i]
            n = len(p.native_keys())
            text = p.describe(0) if n else describe_atom(atom)
            more = f" (or {n - 1} more)" if n > 1 else ""
            return text + more
    return describe_atom(atom)


def rule_label(rule: Any) -> str:
    """`'Title' (sigma rule x.yml)`: who the other rule is, briefly; the related
    location carries the full path."""
    title = rule.title or rule.key
    return f"{title!r} ({rule.vendor} rule {os.path.basename(rule.path)})"
