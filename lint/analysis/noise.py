"""noise_score: a rule's estimated false-positive risk from its logic and the corpus.

Reads only the rule's predicates, boolean tree, log source and the corpus index; never its
level, status, false-positive notes, folder or building-block flag (docs/json-format.md).

The model (docs/noise-score.md gives the formula and a worked example):

* each positive value scores its reach among the other rules of the corpus, `r / (r + T)`,
  where `T` is the commonness threshold, lowered for a small log source (an indicator ten of
  ninety system-log rules use is common there); event-type and routing fields, presence
  tests and very short substrings score high whatever their reach;
* a predicate (an OR of values) is as loose as its loosest value;
* an AND-branch starts from its most specific predicate and each further one can at most
  halve it: `s = min * prod(0.5 + 0.5 * other)`;
* each exclusion trims the branch by 10% to 25% (more when many rules exclude the same
  value: a known source of false positives), down to half at most; exclusions that only
  drop empty or missing values trim nothing;
* the branches combine as a noisy-OR, except that branches resting on the same most
  specific predicate count at most as much as it does, and the rule at most as much as the
  most specific predicate every branch needs; a rule that decides beyond its query (new
  terms, a threshold, an indicator match) scores half.

`explain` returns every term; `noise_score` is its total, so the two never disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from ..model.predicate import IndicatorKey
from ..model.rule import NormalizedRule
from ..model.tree import Node, leaves
from .commonness import Commonness
from .exclusions import drops_only_empty

NO_LOGIC_SCORE = 0.5  # rules whose logic we cannot see (correlations without resolvable rules, filters)
BEYOND_QUERY_FACTOR = 0.5
CORRELATION_FACTOR = 0.5  # a correlation fires only when its rules do, and then only past its threshold
SOURCE_SHARE = 0.1  # within its log source, an indicator this share of the rules use is half-common
EXCLUSION_BASE = 0.1  # what any real exclusion trims
EXCLUSION_COMMON = 0.15  # extra trim for an exclusion many rules apply
EXCLUSION_FLOOR = 0.5  # exclusions together trim at most half
SHORT_SUBSTRING_SCORE = 0.5
# Routing fields that name one kind of event in some logs (Okta's `eventtype`): judged by reach.
EVENT_NAME_FIELDS = frozenset(("eventtype",))


@dataclass(slots=True)
class PredicateTerm:
    line: int | None
    written: str  # the loosest value as the rule wrote it: `Image ends_with '\\cmd.exe'`
    field: str  # canonical
    op: str
    value: str
    values: int  # OR-ed values in the predicate
    reach: int  # other rules using the loosest value
    generality: str  # "event-type" | "routing" | "presence" | "short-substring" | ""
    score: float


@dataclass(slots=True)
class ExclusionTerm:
    text: str
    excluded_by: int  # other rules excluding the most excluded of its values
    trivial: bool  # only drops empty or missing values
    factor: float


@dataclass(slots=True)
class BranchTerm:
    predicates: list[PredicateTerm]
    anchor: int  # index of the most specific predicate (-1: a branch of exclusions only)
    base: float  # the most specific predicate's score (1.0 for a branch of exclusions only)
    structure: float  # product of (0.5 + 0.5 * score) over the other predicates
    exclusions: list[ExclusionTerm]
    exclusion_factor: float
    score: float


@dataclass(slots=True)
class NoiseBreakdown:
    rule: str
    kind: str
    score: float
    source: str = ""
    source_rules: int = 0
    threshold: int = 0  # T used for this rule's indicators
    corpus_threshold: int = 0
    branches: list[BranchTerm] = field(default_factory=list)
    truncated: bool = False
    combined: float = 0.0  # noisy-OR of the branches, capped by shared_cap
    shared_cap: float = 1.0  # score of the most specific predicate every branch needs
    beyond_query: str = ""
    beyond_factor: float = 1.0
    references: list[dict[str, Any]] = field(default_factory=list)  # correlation: [{rule, score}]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _round(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 3)


def source_threshold(rule: NormalizedRule, common: Commonness) -> tuple[int, int]:
    """(rules reading the same log source, T for this rule): the corpus threshold, lowered
    to SOURCE_SHARE of the log source's rules when that is smaller."""
    size = common.source_size(rule)
    return size, min(common.threshold, max(common.options.min_reach, math.ceil(SOURCE_SHARE * size)))


def _generality(key: IndicatorKey, common: Commonness) -> str:
    """What a value's field and operator alone say (the same for every value of one
    predicate): "presence", "event-type", "routing", else ""."""
    if common.is_broad(key):
        return "presence" if key.op in ("exists", "is_null") else "event-type"
    if common.is_generic(key) and key.field.casefold() not in EVENT_NAME_FIELDS:
        return "routing"  # says which log to read, narrows nothing within it
    return ""


class PredicateScore(NamedTuple):
    score: float
    reach: int
    generality: str  # why the field or value is loose ("" when only its reach speaks)
    value: int  # index of the loosest value; -1 for a predicate without values


def _predicate_score(rule: NormalizedRule, i: int, common: Commonness, threshold: int) -> PredicateScore:
    """The score of one predicate, its reach, generality and loosest value: each
    value scores its reach among other rules, unless its field or operator says it is
    loose (1.0), or it is a short substring (at least SHORT_SUBSTRING_SCORE)."""
    keys = rule.predicates[i].keys()
    if not keys:
        return PredicateScore(1.0, 0, "", -1)
    fixed = _generality(keys[0], common)
    short = keys[0].op in ("contains", "wildcard", "regex_match")
    short_value = common.options.short_value
    best = PredicateScore(-1.0, -1, "", -1)
    for n, k in enumerate(keys):
        r = common.others(k, rule.key)
        kind = fixed
        if fixed:
            score = 1.0
        else:
            score = r / (r + threshold) if r + threshold else 0.0
            if short and score < SHORT_SUBSTRING_SCORE and len(k.value) <= short_value:
                score, kind = SHORT_SUBSTRING_SCORE, "short-substring"
        if (score, r) > (best[0], best[1]):
            best = PredicateScore(score, r, kind, n)
    return best


def _predicate_term(rule: NormalizedRule, i: int, scored: tuple[float, int, str, int]) -> PredicateTerm:
    p = rule.predicates[i]
    score, reach, kind, n = scored
    if n < 0:
        return PredicateTerm(p.line, f"{p.native_field or p.field} {p.op}", p.field, p.op, "", 0, 0, "", score)
    k = p.keys()[n]
    return PredicateTerm(p.line, p.describe(n), k.field, k.op, k.value, len(p.values), reach, kind, score)


def _exclusion(rule: NormalizedRule, node: Node, common: Commonness, detail: bool) -> ExclusionTerm:
    idx = sorted(set(leaves(node)))
    text = (" and ".join(rule.predicates[i].describe() for i in idx[:3]) + (" ..." if len(idx) > 3 else "")
            if detail else "")
    if drops_only_empty(rule, node):
        return ExclusionTerm(text, 0, True, 1.0)
    usage = common.index.usage
    most = 0
    for i in idx:
        for k in rule.predicates[i].keys():
            u = usage.get(k)
            if u is not None and len(u.excluded) > most:
                most = max(most, len(u.excluded) - (rule.key in u.excluded))
    share = most / (most + common.threshold) if most + common.threshold else 0.0
    return ExclusionTerm(text, most, False, 1.0 - EXCLUSION_BASE - EXCLUSION_COMMON * share)


class _Terms:
    """One rule's predicate and exclusion terms, each computed once: its branches share them."""

    __slots__ = ("rule", "common", "threshold", "detail", "preds", "ranks", "excls")

    def __init__(self, rule: NormalizedRule, common: Commonness, threshold: int, detail: bool) -> None:
        self.rule, self.common, self.threshold, self.detail = rule, common, threshold, detail
        self.preds: dict[int, PredicateScore] = {}
        self.ranks: dict[int, tuple[float, int, int]] = {}  # the order within a branch: score, line, index
        self.excls: dict[int, ExclusionTerm] = {}

    def _score(self, i: int) -> None:
        scored = self.preds[i] = _predicate_score(self.rule, i, self.common, self.threshold)
        self.ranks[i] = (scored.score, self.rule.predicates[i].line or 0, i)

    def branch(self, positive: frozenset[int], exclusions: tuple[Node, ...]) -> BranchTerm:
        ranks, preds = self.ranks, self.preds
        if not ranks.keys() >= positive:  # most branches reuse predicates scored already
            for i in positive:
                if i not in ranks:
                    self._score(i)
        order = sorted(positive, key=ranks.__getitem__)
        anchor = order[0] if order else -1
        base = preds[anchor].score if order else 1.0  # only exclusions: fires on everything else
        structure = 1.0
        for i in order[1:]:  # each further predicate narrows by half of what it lets through
            structure *= 0.5 + 0.5 * preds[i].score
        terms = []
        factor = 1.0
        for x in exclusions:
            t = self.excls.get(id(x))
            if t is None:
                t = self.excls[id(x)] = _exclusion(self.rule, x, self.common, self.detail)
            terms.append(t)
            factor *= t.factor
        factor = max(EXCLUSION_FLOOR, factor)
        if not self.detail:
            return BranchTerm([], anchor, base, structure, [], factor, base * structure * factor)
        shown = [_predicate_term(self.rule, i, preds[i]) for i in order]
        return BranchTerm(shown, anchor, base, structure, terms, factor, base * structure * factor)


def combine(branches: list[BranchTerm]) -> float:
    """Noisy-OR of the branches, where branches resting on the same most specific predicate
    count together at most as much as that predicate alone: they fire on its events only
    (`a and (x1 or x2 or ... or x30)` expands to thirty branches, not thirty chances)."""
    groups: dict[int, list[BranchTerm]] = {}
    for i, b in enumerate(branches):
        groups.setdefault(b.anchor if b.anchor >= 0 else -1 - i, []).append(b)
    quiet = 1.0
    for group in groups.values():
        q = 1.0
        for b in group:
            q *= 1.0 - b.score
        cap = max(b.base * b.exclusion_factor for b in group)
        quiet *= 1.0 - min(1.0 - q, cap)
    return 1.0 - quiet


def explain(rule: NormalizedRule, common: Commonness, _seen: frozenset[str] = frozenset(),
            detail: bool = True) -> NoiseBreakdown:
    """The noise score of a rule with every term that makes it. Without `detail` the same
    numbers are computed but the per-predicate and per-exclusion terms are not kept."""
    kind = getattr(rule, "kind", "rule")
    if not rule.has_logic:  # a corpus rule known only from a stored index
        stored = getattr(rule, "stored_noise", None)
        return NoiseBreakdown(rule.key, kind, stored if stored is not None else NO_LOGIC_SCORE,
                              note="known only from a stored index: its stored score")
    if kind == "correlation":
        refs = []
        for ref in rule.references:
            target = common.index.resolve_reference(ref)
            if target is not None and target.key not in _seen:
                refs.append({"reference": ref, "rule": target.key,
                             "score": explain(target, common, _seen | {rule.key}, detail=False).score})
        if not refs:
            return NoiseBreakdown(rule.key, kind, NO_LOGIC_SCORE, note="a correlation whose rules are not in the corpus")
        low = min(r["score"] for r in refs)
        return NoiseBreakdown(rule.key, kind, round(low * CORRELATION_FACTOR, 3), references=refs,
                              note=f"a correlation: its quietest rule's score times {CORRELATION_FACTOR}")
    size, threshold = source_threshold(rule, common)
    out = NoiseBreakdown(rule.key, kind, NO_LOGIC_SCORE, rule.logsource.key(), size, threshold, common.threshold)
    if kind == "filter":
        out.note = "a filter only removes matches from other rules"
        return out
    all_branches, out.truncated = rule.branch_view()
    terms = _Terms(rule, common, threshold, detail)
    out.branches = [terms.branch(b.positive, b.exclusions) for b in all_branches]
    if not out.branches:
        out.note = "no logic to score"
        return out
    out.combined = combine(out.branches)
    # A predicate every branch needs bounds the whole rule: it fires only when that one does.
    shared = frozenset.intersection(*(b.positive for b in all_branches))
    if shared:
        out.shared_cap = min(terms.preds[i].score for i in shared)
        out.combined = min(out.combined, out.shared_cap)
    if rule.beyond_query:
        out.beyond_query, out.beyond_factor = rule.beyond_query, BEYOND_QUERY_FACTOR
    out.score = _round(out.combined * out.beyond_factor)
    return out


def noise_score(rule: NormalizedRule, common: Commonness, _seen: frozenset[str] = frozenset()) -> float:
    """The total of `explain`, without keeping its terms."""
    return explain(rule, common, _seen, detail=False).score
