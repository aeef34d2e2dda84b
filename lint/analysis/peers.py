"""Peer rules: rules on the same log source about the same activity.

Peers share a specific positive indicator, or a technique and a field they both
test positively; on a mixed log they must name the same event. RL102 reads the
exclusions peers apply; reports list them.
"""

from __future__ import annotations

from typing import Iterable

from ..model.index import CorpusIndex
from ..model.predicate import IndicatorKey, could_overlap
from ..model.rule import IndexedRule
from .commonness import Commonness
from .field_roles import names_event


def activity_fields(rule: IndexedRule, common: Commonness) -> frozenset[str]:
    """Fields the rule tests positively that describe the activity (not generic, not naming the event)."""
    return frozenset(k.field for k in rule.positive_keys()
                     if not common.is_generic(k) and not names_event(k.field))


def event_names(rule: IndexedRule) -> frozenset[IndicatorKey]:
    """The rule's positive tests of event-naming fields (`EventID 4688`)."""
    return frozenset(k for k in rule.positive_keys() if names_event(k.field))


class PeerSets:
    """Sets of rule keys that `peer_keys` filters candidates with, for the rules of one
    log source: set algebra in C instead of a Python test per candidate (rules have
    dozens of candidates each). Built per source, so a run judging one rule reads one source."""

    def __init__(self, index: CorpusIndex, common: Commonness, members: Iterable[str]) -> None:
        self.not_rules: set[str] = set()
        self.by_field: dict[str, set[str]] = {}
        self.by_routing: dict[IndicatorKey, set[str]] = {}
        self.routed: set[str] = set()
        self.by_id: dict[str, set[str]] = {}
        self.excluding: set[str] = set()  # rules with an exclusion: the only ones tallied
        rules = index.rules
        for key in members:
            r = rules[key]
            if r.kind != "rule":
                self.not_rules.add(key)
                continue
            if r.excluded_keys():
                self.excluding.add(key)
            for f in activity_fields(r, common):
                self.by_field.setdefault(f, set()).add(key)
            routing = event_names(r)
            if routing:
                self.routed.add(key)
                for k in routing:
                    self.by_routing.setdefault(k, set()).add(key)
            if r.id:
                self.by_id.setdefault(r.id, set()).add(key)


def peer_keys(rule: IndexedRule, index: CorpusIndex, common: Commonness, same_source: set[str],
              sets: PeerSets) -> set[str]:
    """Keys of the rule's peers among `same_source`, the rules of its log source (whose
    peer sets are `sets`): never the rule itself, nor rules with its id."""
    # Sharing `\\cmd.exe` says nothing about sharing an activity: only uncommon indicators link peers.
    sharing: set[str] = set()
    for k in rule.positive_keys():
        if not names_event(k.field) and not common.is_common(k, rule.key):
            u = index.usage.get(k)
            if u is not None:
                sharing |= u.positive
                sharing |= u.excluded
    candidates = sharing & same_source
    if rule.techniques:
        # A shared technique alone links rules that also test a field in common.
        by_technique: set[str] = set()
        for t in rule.techniques:
            by_technique |= index.by_technique.get(t, set())
        by_technique &= same_source
        by_technique -= candidates
        for f in activity_fields(rule, common):
            candidates |= by_technique & sets.by_field.get(f, set())
    # On a mixed log (Windows Security) two rules reading different event ids are
    # about different events whatever else they share.
    own_routing = event_names(rule)
    if own_routing:
        routed = candidates & sets.routed
        candidates -= routed
        for k in own_routing:
            candidates |= routed & sets.by_routing.get(k, set())
    candidates -= sets.not_rules
    if rule.id:
        candidates -= sets.by_id.get(rule.id, set())
    candidates.discard(rule.key)
    return candidates


# -- same behaviour ------------------------------------------------------------------------
# Peers by technique or a shared indicator may still be about other events (a rule on
# `\rundll32.exe` and one on `\regsvr32.exe`, both T1218). RL102 learns only from peers
# that could match the very events the rule matches.

MAX_BRANCH_PAIRS = 4096


_TESTS: dict[tuple[int, str], list[dict[str, list[tuple[tuple[str, str], ...]]]]] = {}


def _branch_tests(rule: IndexedRule, limit: int = 64) -> list[dict[str, list[tuple[tuple[str, str], ...]]]]:
    """Per AND-branch: field -> its predicates (each the OR of its (op, value) tests), a
    path test also read as the name it implies (`\\\\rundll32.exe` under `process.name`).
    Kept per rule object: a rule is read as the peer of dozens of others."""
    memo = (id(rule), rule.key)
    found = _TESTS.get(memo)
    if found is None:
        if len(_TESTS) > 50_000:
            _TESTS.clear()
        found = _TESTS[memo] = _compute_branch_tests(rule, limit)
    return found


def _compute_branch_tests(rule: IndexedRule, limit: int) -> list[dict[str, list[tuple[tuple[str, str], ...]]]]:
    from .benign_filters import basename_key
    out = []
    branches, _ = rule.branch_view()  # type: ignore[attr-defined]
    for b in branches[:limit]:
        fields: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        for i in b.positive:
            p = rule.predicates[i]  # type: ignore[attr-defined]
            if not p.values:
                continue
            fields.setdefault(p.field, []).append(tuple((p.op, v) for v in p.values))
            names = [basename_key(k) for k in p.keys()]
            if names and all(n is not None for n in names):
                fields.setdefault(names[0].field, []).append(tuple((n.op, n.value) for n in names))  # type: ignore[union-attr]
        out.append(fields)
    return out


_MEETS: dict[tuple[int, int], bool] = {}


def _meet(a: tuple[tuple[str, str], ...], b: tuple[tuple[str, str], ...]) -> bool:
    """Whether one value can pass both predicates (each an OR of tests); the tuples live
    in `_TESTS`, so their ids are stable for the run."""
    memo = (id(a), id(b))
    found = _MEETS.get(memo)
    if found is None:
        if len(_MEETS) > 2_000_000:
            _MEETS.clear()
        found = _MEETS[memo] = any(could_overlap(oa, va, ob, vb) for oa, va in a for ob, vb in b)
    return found


def shared_behaviour(rule: IndexedRule, peer: IndexedRule, common: Commonness) -> IndicatorKey | None:
    """The rule's positive test on an activity field that some event matching both rules
    meets, when one such event can exist; None when the two rules cannot match one event
    (they disagree on every AND-branch pair on a field both test) or share no activity field."""
    if not getattr(rule, "has_logic", False) or not getattr(peer, "has_logic", False):
        return None
    mine, theirs = _branch_tests(rule), _branch_tests(peer)
    if not mine or not theirs or len(mine) * len(theirs) > MAX_BRANCH_PAIRS:
        return None
    for a in mine:
        for b in theirs:
            both = a.keys() & b.keys()
            activity = [f for f in both if not names_event(f) and not common.is_generic(IndicatorKey(f, "eq", ""))]
            if not activity:
                continue
            if not all(_meet(x, y) for f in both for x in a[f] for y in b[f]):
                continue
            # The longest such test; ties broken by name, as the sets above have no stable order.
            found = [IndicatorKey(f, op, v) for f in activity for x in a[f] for op, v in x
                     if any(could_overlap(op, v, ob, vb) for y in b[f] for ob, vb in y)]
            return min(found, key=lambda k: (-len(k.value), k)) if found else None
    return None
