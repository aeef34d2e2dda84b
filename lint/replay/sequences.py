"""EQL sequences over a stream of events: steps in time order, joined by their `by` fields,
within `maxspan`, with missing-event steps (`![...]`).

As Elasticsearch runs them: per join key, at most one partial sequence waits at each step
(a newer start replaces an older one); an event advances the partial sequence of the step
before the one it matches, trying the last step first so one event never fills two steps.
A sequence is complete when its last step matches; then every event of it counts as matched.
`until` is not modelled (matches are a superset of Elasticsearch's when a rule uses it).
"""

from __future__ import annotations

from typing import Callable, Iterable

from ..model.rule import NormalizedRule
from ..model.tree import And, Node, Not, leaves
from .evaluate import Compiled, Test, compile_tree
from .event import Event

Scope = Callable[[Event], bool]


def is_sequence(rule: NormalizedRule) -> bool:
    return len(getattr(rule, "steps", ()) or ()) > 1


def matches_of(compiled: Compiled, scope: Scope, events: list[Event]) -> set[int]:
    """Positions of the events the rule matches (for a sequence, the events of its matches)."""
    if not is_sequence(compiled.rule):
        test = compiled.test
        return {i for i, ev in enumerate(events) if scope(ev) and test(ev)}
    seq = SequenceMatcher(compiled.rule, compiled.tests)
    order = sorted(range(len(events)), key=lambda i: (events[i].timestamp or 0.0, i))
    return seq.run((i, events[i]) for i in order)


def step_nodes(rule: NormalizedRule) -> list[list[Node]]:
    """The top-level conditions of each step, read from the `stepN` notes of their predicates."""
    n = len(rule.steps)
    out: list[list[Node]] = [[] for _ in range(n)]
    tree = rule.tree
    kids = tree.children if isinstance(tree, And) else [tree] if tree is not None else []
    for kid in kids:
        steps = {_step_of(rule, i) for i in leaves(kid)}
        steps.discard(None)
        k = steps.pop() if len(steps) == 1 else 0
        out[min(k, n - 1)].append(kid)
    return out


def step_anchors(rule: NormalizedRule) -> list | None:
    """Anchors of every step (missing-event steps included: their events must be seen too)."""
    from .anchors import rule_anchors

    out = []
    for kids in step_nodes(rule):
        kids = [k.child if isinstance(k, Not) and len(kids) == 1 else k for k in kids]
        found = rule_anchors(rule, kids[0] if len(kids) == 1 else And(kids)) if kids else None
        if not found:
            return None
        out.extend(found)
    return out


def _step_of(rule: NormalizedRule, pred: int) -> int | None:
    for note in rule.predicates[pred].notes:
        if note.startswith("step") and note[4:].isdigit():
            return int(note[4:]) - 1
    return None


class SequenceMatcher:
    def __init__(self, rule: NormalizedRule, tests: list[Test]) -> None:
        self.rule = rule
        self.maxspan = rule.maxspan
        nodes = step_nodes(rule)
        self.steps: list[tuple[Test, tuple[str, ...], bool, str]] = []
        for step, kids in zip(rule.steps, nodes):
            negated = step.negated
            if negated and len(kids) == 1 and isinstance(kids[0], Not):
                kids = [kids[0].child]  # the step's condition; its absence is what the rule wants
            node = kids[0] if len(kids) == 1 else And(kids) if kids else None
            test = compile_tree(node, tests) if node is not None else (lambda ev: True)
            etype = step.event_type if step.event_type not in ("any", "*") else ""
            self.steps.append((test, step.by, negated, etype))
        self.positive = [k for k, s in enumerate(self.steps) if not s[2]]

    def _key(self, ev: Event, by: tuple[str, ...]) -> tuple | None:
        key = []
        for f in by:
            vals = ev.values(f)
            if not vals:
                return None
            key.append(vals[0])
        return tuple(key)

    def _fits(self, k: int, ev: Event) -> bool:
        test, _, _, etype = self.steps[k]
        if etype:
            cats = ev.folded("event.category")
            if not cats or etype not in cats:
                return False
        return test(ev)

    def run(self, stream: Iterable[tuple[int, Event]]) -> set[int]:
        pos = self.positive
        last = len(pos) - 1
        # partial[stage][key] = (start time, [(position, time)...]) for the positive steps filled so far
        partial: list[dict[tuple, tuple[float, list[tuple[int, float]]]]] = [dict() for _ in pos]
        negated = [k for k, s in enumerate(self.steps) if s[2]]
        seen_negated: list[tuple[int, float, tuple | None]] = []  # (step, time, key)
        matched: set[int] = set()
        for i, ev in stream:
            t = ev.timestamp or 0.0
            for k in negated:
                if self._fits(k, ev):
                    seen_negated.append((k, t, self._key(ev, self.steps[k][1])))
            for stage in range(last, -1, -1):
                k = pos[stage]
                if not self._fits(k, ev):
                    continue
                key = self._key(ev, self.steps[k][1])
                if key is None and self.steps[k][1]:
                    continue
                if stage == 0:
                    if last == 0:
                        matched.add(i)
                    else:
                        partial[0][key] = (t, [(i, t)])
                    break
                prev = partial[stage - 1].pop(key, None)
                if prev is None:
                    continue
                start, filled = prev
                if self.maxspan is not None and t - start > self.maxspan:
                    continue
                filled = filled + [(i, t)]
                if stage == last:
                    if not self._broken(filled, key, seen_negated):
                        matched.update(p for p, _ in filled)
                else:
                    partial[stage][key] = (start, filled)
                break
        return matched

    def _broken(self, filled: list[tuple[int, float]], key: tuple | None, seen: list) -> bool:
        """Whether a missing-event step did happen between the steps around it."""
        if not seen:
            return False
        times = [t for _, t in filled]
        for k, t, nkey in seen:
            if nkey != key and self.steps[k][1]:
                continue
            before = sum(1 for p in self.positive if p < k)  # positive steps preceding step k
            lo = times[before - 1] if before > 0 else float("-inf")
            hi = times[before] if before < len(times) else times[0] + (self.maxspan or float("inf"))
            if lo <= t <= hi:
                return True
        return False
