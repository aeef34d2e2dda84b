"""Candidate rules per event: the index of each rule's anchoring predicates.

A rule's anchors are tests one of which every event it matches must pass: a positive
predicate of an AND (the most telling one: a value of `process.name` rather than
`event.category`), the union of its children's anchors for an OR. An event then looks up
its own values, exact ones in a hash table and substrings in one Aho-Corasick automaton per
field, and only the rules an anchor names are evaluated, plus the few with no anchor (a
rule of regular expressions only). The index only ever proposes: the evaluator decides.
"""

from __future__ import annotations

import itertools
from typing import Iterable

import ahocorasick

from ..analysis.implication import _literals
from ..model.predicate import KEYWORD_FIELD, Predicate
from ..model.rule import NormalizedRule
from ..model.tree import Leaf, Node, Not, Or
from .event import Event

Anchor = tuple[str, str, str]  # (field, op, folded value); op: eq | contains | starts_with | ends_with

# Fields nearly every event of a source holds the same value in: poor anchors.
_GENERIC = frozenset({
    "event.category", "event.type", "event.action", "event.code", "event.module", "event.dataset", "event.kind",
    "event.provider", "event.outcome", "host.os.type", "host.os.family", "host.os.platform", "host.os.name",
    "winlog.channel", "winlog.provider_name", "winlog.event_id", "EventID", "EventCode", "Channel",
    "Provider_Name", "source", "sourcetype", "data_stream.dataset", "agent.type", "index", "user.id",
    "process.args_count", "network.direction", "network.transport", "network.protocol", "user.domain",
})
_WEIGHT = {"eq": 1.0, "ends_with": 2.0, "starts_with": 2.5, "contains": 3.0}
MIN_NEEDLE = 3  # shorter substrings are in nearly every value


def rule_anchors(rule: NormalizedRule, tree: Node | None = None) -> list[Anchor] | None:
    """Tests one of which every event the rule matches passes; None when no such set is known."""
    return _anchors(rule.tree if tree is None else tree, rule.predicates)


def _anchors(node: Node | None, preds: list[Predicate]) -> list[Anchor] | None:
    if node is None or isinstance(node, Not):
        return None
    if isinstance(node, Leaf):
        return _leaf(preds[node.pred])
    kids = [_anchors(c, preds) for c in node.children]
    if isinstance(node, Or):
        if any(k is None for k in kids):
            return None
        return [a for k in kids for a in k]  # type: ignore[union-attr]
    options = [k for k in kids if k]
    return min(options, key=_cost) if options else None


def _cost(anchors: list[Anchor]) -> float:
    return sum(_WEIGHT[op] * (20.0 if field in _GENERIC else 1.0) for field, op, _ in anchors)


def _leaf(p: Predicate) -> list[Anchor] | None:
    if p.field == KEYWORD_FIELD or p.transform or "windash" in p.notes:
        return None
    forms = [(p.field, p.op, p.values)]
    if p.native and p.native_field and p.native_field != p.field:
        forms.append((p.native_field, p.native[0].op, tuple(k.value for k in p.native)))
    out: list[Anchor] = []
    for field, op, values in forms:
        for v in values:
            a = _one(field, op, v)
            if a is None:
                return None
            out.append(a)
    return out


def _one(field: str, op: str, value: str) -> Anchor | None:
    if op == "wildcard":
        prefix, suffix, chunks = _literals(value)
        best = max(chunks, key=len, default="")
        if len(best) < MIN_NEEDLE:
            return None
        return field, "contains", best.casefold()
    if op not in _WEIGHT:
        return None
    v = value.casefold()
    if op != "eq" and len(v) < MIN_NEEDLE:
        return None
    return field, op, v


class CandidateIndex:
    """Rule numbers proposed for an event by its values."""

    def __init__(self, anchors: Iterable[tuple[int, list[Anchor] | None]]) -> None:
        self.exact: dict[tuple[str, str], list[int]] = {}
        substrings: dict[str, dict[str, list[tuple[str, int]]]] = {}
        self.always: list[int] = []
        self.rule_fields: dict[int, frozenset[str]] = {}
        for n, found in anchors:
            if not found:
                self.always.append(n)
                continue
            self.rule_fields[n] = frozenset(f for f, _, _ in found)
            for field, op, value in found:
                if op == "eq":
                    self.exact.setdefault((field, value), []).append(n)
                else:
                    substrings.setdefault(field, {}).setdefault(value, []).append((op, n))
        self.automata: dict[str, ahocorasick.Automaton] = {}
        numbers = itertools.count()  # each needle's number: one found twice in a value counts once
        for field, needles in substrings.items():
            auto = ahocorasick.Automaton()
            for needle, uses in needles.items():
                by_op = {op: frozenset(n for o, n in uses if o == op) for op in ("contains", "starts_with", "ends_with")}
                auto.add_word(needle, (len(needle), by_op["contains"], by_op["starts_with"], by_op["ends_with"],
                                       next(numbers)))
            auto.make_automaton()
            self.automata[field] = auto
        self.fields = frozenset(f for f, _ in self.exact) | frozenset(self.automata)
        self.always_set = frozenset(self.always)

    def fields_of(self, rules: frozenset[int]) -> frozenset[str]:
        """The fields the anchors of these rules test: all an event of their scope needs looked up."""
        out: set[str] = set()
        for n in rules:
            out |= self.rule_fields.get(n, frozenset())
        return frozenset(out)

    def candidates(self, ev: Event, in_scope: frozenset[int], fields: frozenset[str] | None = None) -> set[int]:
        """Rules of `in_scope` the event's values propose (and those with no anchor);
        `fields`: the anchor fields of those rules (default: every anchored field)."""
        found = set(self.always_set & in_scope)
        exact = self.exact
        automata = self.automata
        for field in (self.fields if fields is None else fields).intersection(ev.fields):
            vals = ev.folded(field)
            if not vals:
                continue
            for v in vals:
                hit = exact.get((field, v))
                if hit:
                    found.update(in_scope.intersection(hit))
            auto = automata.get(field)
            if auto is None:
                continue
            seen: set[int] = set()  # a needle found twice proposes its `contains` rules once
            for v in vals:
                last = len(v) - 1
                for end, (size, contains, starts, ends, pid) in auto.iter(v):
                    if contains and pid not in seen:
                        seen.add(pid)
                        found |= contains
                    if starts and end + 1 == size:
                        found |= starts
                    if ends and end == last:
                        found |= ends
        return found & in_scope
