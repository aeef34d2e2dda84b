"""noise_score: how often a rule is expected to fire on ordinary activity of its log source.

Reads only the rule's predicates, boolean tree, log source, the corpus index and the
prevalence prior; never its level, status, false-positive notes, folder or building-block
flag (docs/json-format.md). The model (docs/noise-score.md gives it with a worked example):

* each value gets a *share*: the estimated share of hosts whose ordinary activity produces a
  matching event in a working period, from the prevalence prior (lab recordings, native
  binaries, values logging configurations drop as benign), else from its form (unknown is not
  rare: an exact unknown name is 1 in 100, a substring rarer the longer it is); values peer
  rules exclude as benign count as at least somewhat common, and reach (how many other rules
  use the value) raises a share by up to half again: a shared indicator is a known one;
* a predicate (an OR of values) is the noisy-OR of its values; an OR of branches likewise;
* an AND starts from its rarest part and each further part narrows by the square root of its
  share (conditions on one event are not independent: a rare parent and a rare child are
  rarer together, but not by their product);
* each exclusion divides by `1 + weight`: 1 plus the share it removes for an exclusion of
  known benign activity (a value the prior or peer rules name as benign), a quarter plus that
  share for any other; exclusions that only drop empty values trim 2%;
* a rule that decides beyond its query (new terms, a threshold, an indicator match) fires on
  a tenth of what its query matches; a correlation on a tenth of its quietest rule's.

The *estimate* is that share for the whole rule; `noise_score = estimate ** (1/4)`, so 1 is
"every event", 0.56 one host in ten, 0.32 one in a hundred, 0.18 one in a thousand. The
score is monotone: an added AND-ed condition or exclusion lowers it, a widening raises it.
Rules whose volume is not in their logic (machine-learning jobs, promotions of another
product's alerts) have no score and a `noise_note` saying why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..model.predicate import KEYWORD_FIELD, IndicatorKey
from ..model.rule import NormalizedRule
from ..model.tree import And, Leaf, Node, Not, Or, leaves
from .commonness import Commonness
from .exclusions import drops_only_empty
from .field_roles import names_event
from .prior import MAX_SHARE, Evidence, Prior, shared_prior

SCORE_ROOT = 4  # noise_score = estimate ** (1 / SCORE_ROOT)
AND_DAMPING = 0.5  # each further AND-ed part narrows by share ** AND_DAMPING
BEYOND_QUERY_FACTOR = 0.1
CORRELATION_FACTOR = 0.1
REACH_BOOST = 0.5  # reach raises a share by up to this fraction
PEER_FILTERED_SHARE = 0.02  # a value at least PEER_FILTERED_RULES other rules exclude as benign
PEER_FILTERED_RULES = 2
EVENT_NAME_SHARE = 0.05  # an event id the prior does not know: one kind of event, of unknown volume
CATEGORICAL_MIN_RULES = 5  # rules testing a field before its few values say it is categorical
BENIGN_EXCLUSION_WEIGHT = 1.0
OTHER_EXCLUSION_WEIGHT = 0.25
EMPTY_EXCLUSION_WEIGHT = 0.02
SOURCE_SHARE = 0.1  # within its log source, an indicator this share of the rules use is half-common
NO_LOGIC_SCORE = 0.5  # a stored-index rule without a stored score
_CHANNELS = {"security": "security", "system": "system", "sysmon": "microsoft-windows-sysmon/operational",
             "powershell": "microsoft-windows-powershell/operational"}


@dataclass(slots=True)
class PredicateTerm:
    line: int | None
    written: str  # the commonest value as the rule wrote it: `Image ends_with '\\cmd.exe'`
    field: str  # canonical
    op: str
    value: str
    values: int  # OR-ed values in the predicate
    reach: int  # other rules using the commonest value
    peer_excluded: int  # other rules excluding it
    share: float  # the predicate's share (noisy-OR of its values)
    basis: str  # the commonest value's basis: lab | native | logging-excluded | peer-filtered | form | ...
    evidence: str  # one clause: "a native Windows binary; runs on 54 of 115 lab recordings"
    benign: bool
    positive: bool  # False: inside an exclusion


@dataclass(slots=True)
class ExclusionTerm:
    text: str
    benign: bool
    share: float  # what the exclusion matches on its own
    weight: float  # the rule is divided by 1 + weight
    trivial: bool  # only drops empty or missing values


@dataclass(slots=True)
class NoiseBreakdown:
    rule: str
    kind: str
    score: float | None
    estimate: float = 1.0  # the rule's share (before rounding)
    source: str = ""  # the rule's log-source label
    prior_source: str = ""  # the prior's table it is judged against ("" none)
    source_rules: int = 0
    threshold: int = 0  # T for reach in this log source
    predicates: list[PredicateTerm] = field(default_factory=list)
    exclusions: list[ExclusionTerm] = field(default_factory=list)
    logic: float = 1.0  # the query's share, before beyond-query and correlation factors
    beyond_query: str = ""
    beyond_factor: float = 1.0
    references: list[dict[str, Any]] = field(default_factory=list)  # correlation: [{rule, score}]
    intent: str = "detection"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_of(estimate: float) -> float:
    return round(min(1.0, max(0.0, estimate)) ** (1 / SCORE_ROOT), 4)


def source_threshold(rule: NormalizedRule, common: Commonness) -> tuple[int, int]:
    """(rules reading the same log source, T for this rule): the corpus threshold, lowered
    to SOURCE_SHARE of the log source's rules when that is smaller."""
    size = common.source_size(rule)
    return size, min(common.threshold, max(common.options.min_reach, math.ceil(SOURCE_SHARE * size)))


def prior_context(rule: NormalizedRule, prior: Prior) -> tuple[str, str]:
    """(the prior's log source, the Windows channel) a rule reads."""
    ls = rule.logsource
    source = prior.source_of(ls.category, tuple(s.event_type for s in rule.steps))
    return source, _CHANNELS.get(ls.service.casefold(), "")


def noisy_or(shares: list[float]) -> float:
    quiet = 1.0
    for s in sorted(shares):  # one order, so one rule written two ways gives the same float
        quiet *= 1.0 - s
    return 1.0 - quiet


def narrow(shares: list[float]) -> float:
    """An AND of parts: the rarest part, narrowed by the square root of each other part."""
    if not shares:
        return 1.0
    if len(shares) == 1:
        return shares[0]
    shares = sorted(shares)
    low = shares[0]
    out = low ** (1.0 - AND_DAMPING)
    for s in shares:
        out *= s ** AND_DAMPING
    return out


class Form:
    """A (sub)tree in normal form: an OR of values and other parts, or an AND of parts and
    exclusion weights; `sig` says what it tests, so equal logic has equal signatures."""

    __slots__ = ("kind", "share", "sig", "values", "rest", "factors", "weights")

    def __init__(self, kind: str, share: float, sig: tuple, values: dict | None = None, rest: dict | None = None,
                 factors: dict | None = None, weights: dict | None = None) -> None:
        self.kind, self.share, self.sig = kind, share, sig
        self.values, self.rest = values or {}, rest or {}
        self.factors, self.weights = factors or {}, weights or {}

    def implies(self, other: "Form") -> bool:
        """An OR whose alternatives are a subset of another's implies it."""
        return (self.kind == other.kind == "or" and self.values.keys() <= other.values.keys()
                and self.rest.keys() <= other.rest.keys())

    @staticmethod
    def any_of(values: dict, parts: dict) -> "Form":
        vals, rest = dict(values), {}
        for f in parts.values():
            if f.kind == "or":
                vals.update(f.values)
                rest.update(f.rest)
            else:
                rest[f.sig] = f
        # Absorption: `a or (a and b)` is `a`: drop an AND one of whose parts the OR already has.
        for k, f in list(rest.items()):
            if f.kind == "and" and any(
                    g.kind == "or" and (g.values or g.rest) and g.values.keys() <= vals.keys()
                    and all(r in rest and r != k for r in g.rest) for g in f.factors.values()):
                del rest[k]
        if not vals and len(rest) == 1:
            return next(iter(rest.values()))
        share = noisy_or(list(vals.values()) + [Form._beyond(f, vals) for f in rest.values()])
        if not vals and all(f.kind == "and" for f in rest.values()):
            # `(a and s) or (b and s)` is `s and (a or b)`: never more than `s` lets through,
            # however the branches add up (each counts the events of `s` they share).
            common = set.intersection(*(set(f.factors) for f in rest.values()))
            if common:
                first = next(iter(rest.values()))
                share = min(share, min(first.factors[k].share for k in common))
        return Form("or", share, ("O", frozenset(vals), frozenset(rest)), vals, rest)

    @staticmethod
    def _beyond(part: "Form", vals: dict) -> float:
        """The share of an AND part that the OR's own values do not already count: in
        `cmd or (x and (cmd or wny))` only `x and wny` adds matches. Counting `cmd` twice would
        let a wider OR (one that absorbs the part) score lower than a narrower one."""
        if part.kind != "and" or not vals:
            return part.share
        shares, changed = [], False
        for g in part.factors.values():
            if g.kind == "or" and not g.rest and g.values.keys() & vals.keys():
                left = [v for k, v in g.values.items() if k not in vals]
                shares.append(noisy_or(left))
                changed = True
            else:
                shares.append(g.share)
        return narrow(shares) * trim(list(part.weights.values())) if changed else part.share

    @staticmethod
    def all_of(parts: dict, weights: dict) -> "Form":
        factors, ws = {}, dict(weights)
        for f in parts.values():
            if f.kind == "and":
                factors.update(f.factors)
                ws.update(f.weights)
            else:
                factors[f.sig] = f
        # `a and (a or b)` is `a`: a part another part implies adds nothing.
        for k, f in list(factors.items()):
            if any(k2 != k and g.implies(f) for k2, g in factors.items()):
                del factors[k]
        if len(factors) == 1 and not ws:
            return next(iter(factors.values()))
        share = narrow([f.share for f in factors.values()]) * trim(list(ws.values()))
        return Form("and", share, ("A", frozenset(factors), frozenset(ws)), factors=factors, weights=ws)


def trim(weights: list[float]) -> float:
    """What a set of exclusions lets through: each removes one known source of matches, with
    diminishing returns (a rule that needs thirty exclusions matches much more than those
    thirty programs, and the long tail remains)."""
    return 1.0 / (1.0 + math.log1p(sum(weights))) if weights else 1.0


class RuleJudge:
    """One rule's value and predicate shares, each computed once."""

    def __init__(self, rule: NormalizedRule, common: Commonness, prior: Prior | None = None,
                 detail: bool = True) -> None:
        prior = prior or shared_prior()
        self.rule, self.common, self.prior, self.detail = rule, common, prior, detail
        self.excl: dict[int, ExclusionTerm] = {}
        self.own: dict[str, int] = {}
        self.value_shares: dict[int, dict[IndicatorKey, float]] = {}  # per predicate, each value's share
        self.source, self.channel = prior_context(rule, prior)
        self.platform = rule.logsource.product.casefold()
        self.size, self.threshold = source_threshold(rule, common)
        self.members = common.source_members(rule)
        # per predicate: share, index of its commonest value, that value's evidence, reach, peers excluding it
        self.preds: dict[int, tuple[float, int, Evidence, int, int]] = {}

    def value(self, key: IndicatorKey) -> tuple[float, Evidence, int, int]:
        """(share, evidence, reach, peers excluding it) of one value."""
        ev = self.prior.evidence(key, self.source, self.channel, self.platform)
        share = ev.share
        usage = self.common.index.usage.get(key)
        reach = excluded = 0
        if usage is not None:
            reach = len(usage.positive) - (self.rule.key in usage.positive)
            if usage.excluded:  # benign where this rule looks: rules of its own log source
                mine = usage.excluded if self.rule.logsource.key() == "(any)" else usage.excluded & self.members
                excluded = len(mine) - (self.rule.key in mine)
        if excluded >= PEER_FILTERED_RULES and ev.basis in ("form", "presence"):
            peer = PEER_FILTERED_SHARE * (1 + excluded / (excluded + self.threshold))
            if peer > share:
                share = peer
                ev = Evidence(peer, "peer-filtered", f"{excluded} other rules exclude it as benign", True)
        if ev.basis == "form" and key.op == "eq" and key.field != KEYWORD_FIELD:
            if names_event(key.field) and share < EVENT_NAME_SHARE:
                share = EVENT_NAME_SHARE
                ev = Evidence(share, "event-name", "names a kind of event, and the rule fires on every one of "
                              "that kind its other conditions let through", False)
            distinct, users = self.common.field_values(key.field)
            distinct -= self.own_values(key.field)  # the rule's own values are not evidence
            if users >= CATEGORICAL_MIN_RULES and distinct > 0 and 1.0 / (distinct + 1) > share:
                share = 1.0 / (distinct + 1)
                ev = Evidence(share, "categorical", f"one of only {distinct} values {users} rules test "
                              f"{key.field} for", False)
        if reach and ev.basis not in ("event-type", "routing", "presence"):
            # saturating: raises every share below 1, never to 1
            share = 1.0 - (1.0 - share) ** (1.0 + REACH_BOOST * reach / (reach + self.threshold))
        return share, ev, reach, excluded

    def own_values(self, field: str) -> int:
        """Exact values on `field` only this rule uses."""
        n = self.own.get(field)
        if n is None:
            usage = self.common.index.usage
            n = self.own[field] = len({
                k for p in self.rule.predicates if p.field == field and p.op == "eq"
                for k in p.keys() if (u := usage.get(k)) is not None and u.rules <= {self.rule.key}})
        return n

    def predicate(self, i: int) -> float:
        got = self.preds.get(i)
        if got is None:
            keys = self.rule.predicates[i].keys()
            if not keys:
                got = (MAX_SHARE, -1, Evidence(MAX_SHARE, "form", "a test without values", False), 0, 0)
            else:
                best, shares = None, []
                for n, k in enumerate(keys):
                    share, ev, reach, excl = self.value(k)
                    shares.append(share)
                    if best is None or (share, reach) > (best[0], best[3]):
                        best = (share, n, ev, reach, excl)
                assert best is not None
                self.value_shares[i] = dict(zip(keys, shares))
                got = (noisy_or(shares),) + best[1:]
            self.preds[i] = got
        return got[0]

    def benign(self, node: Node) -> bool:
        for i in leaves(node):
            self.predicate(i)
            if self.preds[i][2].benign:
                return True
        return False

    def exclusion(self, node: Node) -> ExclusionTerm:
        idx = sorted(set(leaves(node)))
        text = (" and ".join(self.rule.predicates[i].describe() for i in idx[:3]) + (" ..." if len(idx) > 3 else "")
                if self.detail else "")
        if drops_only_empty(self.rule, node):
            return ExclusionTerm(text, False, 0.0, EMPTY_EXCLUSION_WEIGHT, True)
        share = self.share(node)
        benign = self.benign(node)
        if isinstance(node, Leaf):
            # Each excluded value is an exclusion of its own: `not x and not y` and
            # `not (x or y)` and `x|y` in one filter weigh the same.
            weight = 0.0
            for k in self.rule.predicates[node.pred].keys():
                v, ev, _, _ = self.value(k)
                weight += (BENIGN_EXCLUSION_WEIGHT if ev.benign else OTHER_EXCLUSION_WEIGHT) + v
        else:
            weight = (BENIGN_EXCLUSION_WEIGHT if benign else OTHER_EXCLUSION_WEIGHT) + share
        return ExclusionTerm(text, benign, share, weight, False)

    def share(self, root: Node) -> float:
        """The share of a (sub)tree, evaluated bottom-up without recursion (trees can be deep)."""
        return self.form(root).share

    def form(self, root: Node) -> "Form":
        """The (sub)tree in normal form: nested ANDs and ORs merged, each part and each value
        once, a part implied by a sibling dropped; so any two writings of one logic match."""
        out: dict[int, Form] = {}
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if isinstance(node, Leaf):
                self.predicate(node.pred)
                values = self.value_shares.get(node.pred) or {IndicatorKey("", "", str(node.pred)): self.preds[node.pred][0]}
                out[id(node)] = Form.any_of(values, {})
                continue
            kids = [node.child] if isinstance(node, Not) else node.children
            if not ready:
                stack.append((node, True))
                stack.extend((c, False) for c in kids if not isinstance(c, Not))
                continue
            if isinstance(node, Not):
                out[id(node)] = Form.all_of({}, self.exclusions(node))
                continue
            pos = [out[id(c)] for c in kids if not isinstance(c, Not)]
            if isinstance(node, And):
                weights: dict[Any, float] = {}
                for c in kids:
                    if isinstance(c, Not):
                        weights.update(self.exclusions(c))
                out[id(node)] = Form.all_of({f.sig: f for f in pos}, weights)
            else:
                pos += [Form.all_of({}, self.exclusions(c)) for c in kids if isinstance(c, Not)]
                out[id(node)] = Form.any_of({}, {f.sig: f for f in pos})
        return out[id(root)]

    def exclusions(self, node: Not) -> dict[Any, float]:
        """The weights of one NOT by what each excludes: `not (a or b)` is two exclusions,
        `not a and not b`; an exclusion written twice counts once."""
        parts = node.child.children if isinstance(node.child, Or) else [node.child]
        out: dict[Any, float] = {}
        for x in parts:
            t = self.excl.get(id(x))
            if t is None:
                t = self.excl[id(x)] = self.exclusion(x)
            if isinstance(x, Leaf):
                p = self.rule.predicates[x.pred]
                out[("X", p.field, p.op, frozenset(p.values))] = t.weight
            else:
                out[("X", id(x))] = t.weight
        return out

    def terms(self) -> tuple[list[PredicateTerm], list[ExclusionTerm]]:
        pol = self.rule.polarity
        shown = []
        for i in sorted(self.preds):
            share, n, ev, reach, excl = self.preds[i]
            p = self.rule.predicates[i]
            if n < 0:
                shown.append(PredicateTerm(p.line, f"{p.native_field or p.field} {p.op}", p.field, p.op, "", 0, 0, 0,
                                           share, ev.basis, ev.text, ev.benign, pol.get(i, True)))
                continue
            k = p.keys()[n]
            # Shown as lint, the reports and `indicators` count it: every rule of the corpus using the value.
            shown.append(PredicateTerm(p.line, p.describe(n), k.field, k.op, k.value, len(p.values),
                                       self.common.index.reach(k), excl,
                                       share, ev.basis, ev.text, ev.benign, pol.get(i, True)))
        return shown, list({id(t): t for t in self.excl.values()}.values())


def _unscored(rule: NormalizedRule, kind: str, note: str, intent_kind: str) -> NoiseBreakdown:
    return NoiseBreakdown(rule.key, kind, None, intent=intent_kind, note=note, source=rule.logsource.key())


def explain(rule: NormalizedRule, common: Commonness, _seen: frozenset[str] = frozenset(),
            detail: bool = True, prior: Prior | None = None) -> NoiseBreakdown:
    """The noise score of a rule with every term that makes it. Without `detail` the same
    numbers are computed but the per-predicate and per-exclusion terms are not kept."""
    from .intent import intent as rule_intent  # intent reads the loaders' metadata; imported late

    prior = prior or shared_prior()
    kind = getattr(rule, "kind", "rule")
    if not rule.has_logic:  # a corpus rule known only from a stored index
        stored = getattr(rule, "stored_noise", None)
        return NoiseBreakdown(rule.key, kind, stored, note="known only from a stored index: its stored score"
                              if stored is not None else "known only from a stored index without a score")
    what = rule_intent(rule)
    if not what.static:
        return _unscored(rule, kind, what.note, what.kind)
    if kind == "correlation":
        refs = []
        for ref in rule.references:
            target = common.index.resolve_reference(ref)
            if target is not None and target.key not in _seen:
                sub = explain(target, common, _seen | {rule.key}, detail=False, prior=prior)
                if sub.score is not None:
                    refs.append({"reference": ref, "rule": target.key, "score": sub.score, "estimate": sub.estimate})
        if not refs:
            return _unscored(rule, kind, "a correlation whose rules are not in the corpus: nothing to judge", what.kind)
        low = min(r["estimate"] for r in refs)
        est = low * CORRELATION_FACTOR
        return NoiseBreakdown(rule.key, kind, score_of(est), est, references=refs, logic=low, intent=what.kind,
                              note=f"a correlation: its quietest rule's share times {CORRELATION_FACTOR}")
    if kind == "filter":
        return _unscored(rule, kind, "a filter only removes matches from other rules", what.kind)
    if rule.tree is None:
        return _unscored(rule, kind, "no logic to judge", what.kind)
    judge = RuleJudge(rule, common, prior, detail)
    logic = judge.share(rule.tree)
    out = NoiseBreakdown(rule.key, kind, None, logic, rule.logsource.key(), judge.source, judge.size,
                         judge.threshold, logic=logic, intent=what.kind, note=what.note)
    if rule.beyond_query:
        out.beyond_query, out.beyond_factor = rule.beyond_query, BEYOND_QUERY_FACTOR
    out.estimate = logic * out.beyond_factor
    out.score = score_of(out.estimate)
    if detail:
        out.predicates, out.exclusions = judge.terms()
    return out


def noise_score(rule: NormalizedRule, common: Commonness, _seen: frozenset[str] = frozenset()) -> float | None:
    """The total of `explain`, without keeping its terms."""
    return explain(rule, common, _seen, detail=False).score


def unscored_note(rule: NormalizedRule) -> str:
    """Why a rule has no noise score, from the rule alone (`explain` says the same)."""
    from .intent import intent as rule_intent

    what = rule_intent(rule)
    if not what.static:
        return what.note
    if not rule.has_logic:
        return "known only from a stored index without a score"
    kind = getattr(rule, "kind", "rule")
    if kind == "correlation":
        return "a correlation whose rules are not in the corpus: nothing to judge"
    if kind == "filter":
        return "a filter only removes matches from other rules"
    return "no logic to judge"
