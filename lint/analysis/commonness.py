"""How common an indicator is in the corpus: the judgment the corpus checks and
the noise score share."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model.index import CorpusIndex
from ..model.predicate import IndicatorKey, Predicate
from ..model.rule import NormalizedRule
from .field_roles import BROAD_FIELDS, LOG_ROUTING_FIELDS

# Operators that test presence, not content.
GENERIC_OPS = ("exists", "is_null")


@dataclass(slots=True)
class CommonnessOptions:
    min_reach: int = 3
    common_share: float = 0.005
    broad_fields: tuple[str, ...] = BROAD_FIELDS
    routing_fields: tuple[str, ...] = LOG_ROUTING_FIELDS
    short_value: int = 3


class Commonness:
    """Judges indicators against one corpus; every threshold comes from the options."""

    def __init__(self, index: CorpusIndex, options: CommonnessOptions | None = None):
        self.index = index
        self.options = options or CommonnessOptions()
        self._broad = {f.casefold() for f in self.options.broad_fields}
        self._generic = self._broad | {f.casefold() for f in self.options.routing_fields}
        self._generic_memo: dict[IndicatorKey, bool] = {}
        self._broad_memo: dict[IndicatorKey, bool] = {}
        self.threshold = max(self.options.min_reach, math.ceil(self.options.common_share * len(index)))
        self._source_sizes: dict[str, int] = {}
        self._field_values: dict[str, tuple[int, int]] | None = None
        self._source_members: dict[str, set[str]] = {}

    def source_size(self, rule: NormalizedRule) -> int:
        """Rules of the corpus reading the rule's kind of event (its log source); the whole
        corpus for a rule that names none."""
        label = rule.logsource.key()
        n = self._source_sizes.get(label)
        if n is None:
            n = self._source_sizes[label] = len(self.index) if label == "(any)" else len(self.source_members(rule))
        return n

    def source_members(self, rule: NormalizedRule) -> set[str]:
        """Keys of the rules reading the rule's log source (`CorpusIndex.same_source`), once per source."""
        label = rule.logsource.key()
        m = self._source_members.get(label)
        if m is None:
            m = self._source_members[label] = self.index.same_source(rule)
        return m

    def field_values(self, field: str) -> tuple[int, int]:
        """(distinct exact values, rules testing the field) across the corpus: a field whose
        rules keep naming the same few values (`Initiated`, `LogonType`) is categorical."""
        if self._field_values is None:
            distinct: dict[str, int] = {}
            rules: dict[str, set[str]] = {}
            for k, u in self.index.usage.items():
                f = k.field.casefold()
                if k.op == "eq":
                    distinct[f] = distinct.get(f, 0) + 1
                rules.setdefault(f, set()).update(u.rules)
            self._field_values = {f: (distinct.get(f, 0), len(r)) for f, r in rules.items()}
        return self._field_values.get(field.casefold(), (0, 0))

    def is_generic(self, key: IndicatorKey) -> bool:
        try:
            return self._generic_memo[key]
        except KeyError:
            g = self._generic_memo[key] = key.field.casefold() in self._generic or key.op in GENERIC_OPS
            return g

    def others(self, key: IndicatorKey, rule_key: str) -> int:
        """Reach among other rules (a rule is never its own evidence)."""
        return self.index.reach(key, exclude=rule_key)

    def is_broad(self, key: IndicatorKey) -> bool:
        """An event-class field or a presence test: common whatever the corpus says."""
        try:
            return self._broad_memo[key]
        except KeyError:
            b = self._broad_memo[key] = key.field.casefold() in self._broad or key.op in GENERIC_OPS
            return b

    def is_common(self, key: IndicatorKey, rule_key: str) -> bool:
        return self.is_broad(key) or self.others(key, rule_key) >= self.threshold

    def value_score(self, key: IndicatorKey, rule_key: str) -> float:
        """0 (specific to this rule) .. 1 (matches almost anything)."""
        if self.is_broad(key):
            return 1.0
        r = self.others(key, rule_key)
        score = r / (r + self.threshold)
        if key.op in ("contains", "wildcard", "regex_match") and len(key.value) <= self.options.short_value:
            score = max(score, 0.5)  # a two-letter substring matches a lot whoever else uses it
        return score

    def predicate_score(self, pred: Predicate, rule_key: str) -> float:
        """An OR of values is as loose as its loosest value."""
        return max((self.value_score(k, rule_key) for k in pred.keys()), default=1.0)

    def predicate_is_common(self, pred: Predicate, rule_key: str) -> bool:
        """Common when any of its OR-ed values is: that value alone satisfies it."""
        return any(self.is_common(k, rule_key) for k in pred.keys())

    def together(self, keys: list[IndicatorKey], rule_key: str) -> int:
        """Other rules that use every one of `keys` (positive or excluded)."""
        sets = sorted((self.index.usage[k].rules for k in keys if k in self.index.usage), key=len)
        if len(sets) < len(keys) or not sets:
            return 0
        both = set(sets[0])
        for s in sets[1:]:
            both &= s
        both.discard(rule_key)
        return len(both)

    def loosest_key(self, pred: Predicate, rule_key: str) -> IndicatorKey:
        return max(pred.keys(), key=lambda k: (self.is_broad(k), self.others(k, rule_key)))
