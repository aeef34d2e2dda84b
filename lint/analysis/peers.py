"""Peer rules: rules on the same log source about the same activity.

Peers share a specific positive indicator, or a technique and a field they both
test positively; on a mixed log they must name the same event. RL102 reads the
exclusions peers apply; reports list them.
"""

from __future__ import annotations

from typing import Iterable

from ..model.index import CorpusIndex
from ..model.predicate import IndicatorKey
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
