"""Rules whose logic repeats or lies inside another rule's, found once per run.

Candidates come from the index's usage maps, never from all pairs: for every AND-
branch of a rule its rarest positive indicator is an anchor, and only rules that
use an anchor of another rule are compared with it. A pair is then judged in both
directions with operator semantics (`rule_implies`): both ways is a duplicate,
one way a subsumption. The whole computation runs in the parent process before
the checks fork (`Analysis.prepare_overlap`, from `Check.prepare`), and the forked
workers only look results up.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

from ..model.index import CorpusIndex
from ..model.predicate import IndicatorKey
from ..model.rule import LogSource, NormalizedRule
from ..model.tree import to_compact
from ..model.fields import name_field
from .bounds import Bounds, OverBudget, RuleSize, size_of
from .implication import Atom, path_fields
from .logic_view import LOGSOURCE_EVENT_TYPES, LOGSOURCE_FIELDS, LogicView, rule_implies, skip_fields, traits
# With fewer judged rules than this, candidates are gathered from the judged rules'
# own indicators instead of from every corpus rule's anchors.
TARGET_MODE_LIMIT = 64
# An anchor used by more rules than this is too common to pair on: such a branch (all
# its indicators common) finds its duplicates and narrower rules through theirs, or not at all.
MAX_ANCHOR_USES = 400
# Rules with more AND-branches than this are not compared (pairs of such rules cost
# branches squared).
MAX_BRANCHES = 128


@dataclass(slots=True)
class Subsumer:
    key: str  # the broader rule
    pairs: list[tuple[int, int]]  # (narrow branch, broad branch) of the merged views


@dataclass(slots=True)
class Overlap:
    """Per judged rule: the rules its logic duplicates (reported on it) and the broader
    rules that match everything it matches."""

    duplicates: dict[str, list[str]] = field(default_factory=dict)
    subsumed: dict[str, list[Subsumer]] = field(default_factory=dict)
    pairs_tested: int = 0
    # Per judged rule: comparisons left out because a bound was reached, and why.
    skipped: dict[str, list[str]] = field(default_factory=dict)
    compared: Counter = field(default_factory=Counter)  # per rule: pairs that reached the costly steps


def eligible(rule: Any) -> bool:
    """A rule the overlap checks can compare: full logic (not a reference stub), single
    events (no sequence, no aggregation), live, not matched against threat indicators."""
    if rule.kind != "rule" or rule.tree is None or not rule.predicates or rule.status == "deprecated":
        return False
    found, truncated = rule.branch_view()
    if rule.beyond_query.startswith("a match against") or truncated or len(found) > MAX_BRANCHES:
        return False
    aggregate, sequence = traits(rule)
    return not (aggregate or sequence)


class OverlapFacts(NamedTuple):
    """What candidate generation reads of a corpus rule, all derived from its logic: a
    stored index keeps them (`LazyRule.overlap_facts`), so pairs are ruled out without
    loading the rules they name."""

    eligible: bool
    fields: tuple[str, ...]  # `_tested_fields`
    covers_all: bool
    # Per AND-branch: the fields on which `_plausible` needs a positive indicator of the
    # narrower rule (a broader branch testing a field the narrower rule has no value on
    # cannot contain it).
    branch_fields: tuple[tuple[str, ...], ...]
    size: RuleSize = (0, 0, 0)  # what the bounds judge (bounds.size_of)


def facts_of(rule: Any) -> OverlapFacts:
    stored = getattr(rule, "overlap_facts", None)
    if stored is not None:
        return OverlapFacts(*stored)
    if not eligible(rule):
        return OverlapFacts(False, (), False, ())
    preds = rule.predicates
    per_branch = tuple(
        tuple(sorted({preds[i].field for i in b.positive if _needs_value(preds[i])}))
        for b in rule.branch_view()[0])
    return OverlapFacts(True, tuple(sorted(_tested_fields(rule))), covers_all(rule), per_branch, size_of(rule))


def _needs_value(q: Any) -> bool:
    """A test `_plausible` holds against the narrower rule's values (not skipped there)."""
    return not (q.notes or q.op in ("exists", "fieldref") or _logsource_pred(q))


def covers_all(rule: NormalizedRule) -> bool:
    """Whether the rule's predicates say all it requires of an event, so that it may be
    the broader rule of a pair. A Splunk search aggregated by `stats` (not `tstats`)
    also drops events missing any `by` field and may filter later in ways the parser
    leaves out (`| where NOT x IN (y)`): it can be the narrower rule only."""
    return rule.vendor != "splunk" or rule.extra.get("aggregation") in (None, "tstats")


def compatible_sources(a: LogSource, b: LogSource) -> bool:
    """The same kind of event, as CorpusIndex.same_source judges it, either way round."""
    if a.category or b.category:
        return a.category == b.category and (not a.product or not b.product or a.product == b.product)
    return a.key() == b.key()


def later(a: NormalizedRule, b: NormalizedRule) -> bool:
    """Whether `a` comes after `b`: the loaders keep no dates, so path order decides."""
    return (a.path, a.key) > (b.path, b.key)


def build_overlap(judged: list[NormalizedRule], index: CorpusIndex,
                  view: Callable[[NormalizedRule], LogicView], bounds: Bounds = Bounds()) -> Overlap:
    """Duplicates and subsumptions of the judged rules among the corpus's; `view` gives
    each rule's logic view (the run keeps them)."""
    judged_keys = {r.key for r in judged}
    result = Overlap()
    facts = {k: facts_of(r) for k, r in index.rules.items()}
    live = set()
    for k, f in facts.items():
        if f.eligible:
            why = bounds.too_large(f.size)
            if not why:
                live.add(k)
            elif k in judged_keys:
                result.skipped.setdefault(k, []).append(why)
    every = judged_keys >= live
    # Rules testing each field positively: a narrower rule tests every field of the
    # broader branch it falls in.
    with_field: dict[str, set[str]] = {}
    for k in live:
        for f in facts[k].fields:
            with_field.setdefault(f, set()).add(k)
    # Directed candidates (narrower, broader) with the broader rule's anchored branches,
    # made one broader rule at a time: all pairs of a large corpus held at once (tens of
    # millions at 100,000 rules) would cost gigabytes.
    targeted: dict[str, dict[str, list[int]]] = {}  # broader -> narrower -> branches
    if len(judged) >= TARGET_MODE_LIMIT:
        broad_keys = live
    else:
        # Few judged rules: each may be the narrower (its keys lead to broader rules) or
        # the broader one (its anchors lead to narrower rules).
        # As the narrower rule, any rule testing one of its fields is a candidate, kept
        # if one of its branches is plausible (operator semantics without a shared key).
        broad_keys = {r.key for r in judged if r.key in live}
        for k in sorted(broad_keys):
            others: set[str] = set()
            for f in _tested_fields(index.rules[k]):
                others |= with_field.get(f, set())
            others.discard(k)
            for o in others:
                targeted.setdefault(o, {})[k] = list(range(len(facts[o].branch_fields)))

    def candidates() -> Iterator[tuple[tuple[str, str], list[int], bool]]:
        """((narrower, broader), anchored branches, whether only anchors proposed the pair)."""
        for y_key in sorted(broad_keys | targeted.keys()):
            chosen = targeted.pop(y_key, {})
            found_for = {x: list(bs) for x, bs in chosen.items()}
            if y_key in broad_keys:
                for b, need, users in _anchors(index.rules[y_key], index):
                    found = users & live
                    for f in need:
                        if not found:
                            break
                        found &= with_field.get(f, set())
                    for x_key in found:
                        if x_key != y_key and (every or x_key in judged_keys or y_key in judged_keys):
                            found_for.setdefault(x_key, []).append(b)
            for x_key in sorted(found_for):
                yield (x_key, y_key), found_for[x_key], x_key not in chosen

    keys_by_field: dict[str, dict[str, list[IndicatorKey]]] = {}
    verdicts: dict[tuple[tuple, tuple], list[tuple[int, int]] | None] = {}

    sigs: dict[str, tuple] = {}

    def sig(r: NormalizedRule) -> tuple:
        """What the rule's logic view is made of: rules with the same signature (copies, the
        same logic under another id) have the same view, so one verdict serves them all."""
        found = sigs.get(r.key)
        if found is None:
            found = sigs[r.key] = (tuple(view(r).atoms), tuple(p.native_field or p.field for p in r.predicates),
                                   to_compact(r.tree))
        return found

    def inside(x: NormalizedRule, y: NormalizedRule) -> list[tuple[int, int]] | None:
        pair = (sig(x), sig(y))
        found = verdicts.get(pair, False)
        if found is False:
            vx, vy = view(x), view(y)
            result.pairs_tested += 1
            found = verdicts[pair] = rule_implies(vx, vy, skip_fields(vx, vy)[1])
        return found

    held: dict[str, frozenset[str]] = {}  # per narrower rule: fields it holds a positive value on
    compared = result.compared
    past: dict[str, int] = {}  # per judged rule: pairs left out past max_rule_pairs
    for (x_key, y_key), anchored, by_anchor in candidates():
        x, y = index.rules[x_key], index.rules[y_key]
        fy = facts[y_key]
        if (x.id and x.id == y.id) or x.beyond_query != y.beyond_query or not fy.covers_all:
            continue
        if not compatible_sources(x.logsource, y.logsource):
            continue
        if anchored:
            fx = held.get(x_key)
            if fx is None:
                fx = held[x_key] = frozenset(k.field for k in x.positive_keys())
            anchored = [b for b in anchored if all(_held(f, fx) for f in fy.branch_fields[b])]
            if not anchored:
                continue
        # The costly steps start here: each rule takes part in at most max_rule_pairs of them
        # through anchors (pairs in key order of the broader rule, then the narrower: the same
        # whatever the run). A few judged rules (pre-commit) meet every rule testing their
        # fields: that work is bounded by the corpus size, not by its near-copies.
        if by_anchor:
            if compared[x_key] >= bounds.max_rule_pairs or compared[y_key] >= bounds.max_rule_pairs:
                for k in (x_key, y_key):
                    if k in judged_keys and compared[k] >= bounds.max_rule_pairs:
                        past[k] = past.get(k, 0) + 1
                continue
            compared[x_key] += 1
            compared[y_key] += 1
        if anchored:
            work = [bounds.max_pair_work]
            try:
                if not any(_plausible(x, y, b, keys_by_field, work) for b in anchored):
                    continue
            except OverBudget:
                for a, b in ((x, y), (y, x)):
                    if a.key in judged_keys:
                        result.skipped.setdefault(a.key, []).append(
                            f"its comparison with {b.title!r} ({os.path.basename(b.path)}) would take over "
                            f"{bounds.max_pair_work:,} character comparisons (option max_pair_work)")
                continue
        x_in_y = inside(x, y)
        if not x_in_y:
            continue
        if facts[x_key].covers_all and inside(y, x):
            if x.key in judged_keys and (y.key not in judged_keys or later(x, y)):
                result.duplicates.setdefault(x.key, []).append(y.key)
        elif x.key in judged_keys and not x.beyond_query:
            # A narrower filter changes what a new-terms or threshold rule counts: no subsumption.
            result.subsumed.setdefault(x.key, []).append(Subsumer(y.key, x_in_y))
    for k, n in past.items():
        result.skipped.setdefault(k, []).append(
            f"it was compared with {compared[k]:,} rules sharing its indicators and {n:,} more were left out, "
            f"past the bound of {bounds.max_rule_pairs:,} comparisons per rule (option max_rule_pairs)")
    for table in (result.duplicates, result.subsumed):
        for key, found in table.items():
            found.sort(key=lambda o: _order(index.rules[o if isinstance(o, str) else o.key]))
    return result


_STRING_OPS = frozenset(("eq", "contains", "starts_with", "ends_with"))


def _plausible(x: NormalizedRule, y: NormalizedRule, branch: int, memo: dict[str, dict[str, str]],
               work: list[int]) -> bool:
    # `work`: the pair's remaining budget of character comparisons (OverBudget past it).
    """Before building views: every test of the broader rule's branch has, on its field,
    a positive indicator of `x` equal to it or, for string tests, holding its value (an
    implied string test contains the implying one's value; case folded: a necessary
    condition only)."""
    xkeys = x.positive_keys()
    preds = y.predicates
    by = None
    for i in y.branch_view()[0][branch].positive:
        q = preds[i]
        if q.notes or q.op in ("exists", "fieldref") or _logsource_pred(q):
            continue
        keys = q.keys()
        if keys[0] in xkeys or (len(keys) > 1 and any(k in xkeys for k in keys)):
            continue
        if by is None:
            by = memo.get(x.key)
            if by is None:
                # Per field, the values of `x` joined: one substring search tests them all.
                parts: dict[str, list[str]] = {}
                for k in xkeys:
                    parts.setdefault(k.field, []).append(k.value.casefold())
                by = memo[x.key] = {f: "\0".join(v) for f, v in parts.items()}
        mine = by.get(q.field, "")
        for f in path_fields(q.field):  # a full path also tells the name
            mine += "\0" + by.get(f, "")
        if not mine:
            return False
        if q.op in _STRING_OPS:
            work[0] -= len(q.values) * len(mine)
            if work[0] < 0:
                raise OverBudget
            if not any(v.casefold() in mine for v in q.values):
                return False
    return True


def _held(field: str, fields: frozenset[str]) -> bool:
    """Whether a rule with positive values on `fields` has one `_plausible` can read for
    a test on `field` (its own, or a path field naming it)."""
    return field in fields or any(f in fields for f in path_fields(field))


def _tested_fields(rule: NormalizedRule) -> set[str]:
    """The fields a rule tests, a path field counting for its name field too."""
    fields = {p.field for p in rule.predicates}
    for f in list(fields):
        n = name_field(f)
        if n:
            fields.add(n)
    return fields


def _order(r: NormalizedRule) -> tuple[str, str]:
    return (r.path, r.key)


def anchor_keys(atom: Atom) -> list[IndicatorKey]:
    return [IndicatorKey(atom.field, atom.op, v) for v in atom.values]


def _anchors(rule: NormalizedRule, index: Any) -> list[tuple[int, frozenset[str], set[str]]]:
    """For each AND-branch of the rule (by index): the fields a narrower rule must test
    (log-source tests aside), and the rules using the branch's rarest indicator positively.
    A branch whose rarest indicator no other rule uses has no candidate."""
    usage = index.usage
    preds = rule.predicates
    # Per predicate: how many rules use its values positively (None: not an anchor).
    weight: list[int | None] = []
    for p in preds:
        if p.op in ("exists", "is_null", "fieldref") or _logsource_pred(p):
            weight.append(None)
            continue
        keys = p.keys()
        if len(keys) == 1:
            u = usage.get(keys[0])
            weight.append(len(u.positive) if u is not None else 0)
        else:
            weight.append(sum(len(u.positive) for k in keys if (u := usage.get(k)) is not None))
    out = []
    seen: set[int] = set()
    for bi, b in enumerate(rule.branch_view()[0]):
        best, best_n = -1, MAX_ANCHOR_USES + 1
        for i in b.positive:
            n = weight[i]
            if n is not None and n < best_n:
                best, best_n = i, n
        if best < 0 or best in seen or best_n <= 1:
            continue
        seen.add(best)
        users: set[str] = set()
        for k in preds[best].keys():
            u = usage.get(k)
            if u is not None:
                users |= u.positive
        need = frozenset(preds[i].field for i in b.positive if weight[i] is not None)
        out.append((bi, need, users))
    return out


def _logsource_pred(p: Any) -> bool:
    """`is_logsource_atom` of a predicate, without making the atom."""
    if p.field in LOGSOURCE_FIELDS:
        return p.op in ("eq", "wildcard", "starts_with", "exists") and not p.notes
    return p.field == "event.type" and p.op == "eq" and not p.notes and LOGSOURCE_EVENT_TYPES.issuperset(p.values)
