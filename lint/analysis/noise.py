"""noise_score: a rule's estimated false-positive risk from its logic and the corpus.

Reads only the rule's predicates, boolean tree and the corpus index, never its
level, status, false-positive notes, folder or building-block flag.

Model: each AND-branch fires about as often as its most specific positive
predicate allows (each further predicate can at most halve that), and each
exclusion trims it a little; the rule fires if any branch does (noisy-OR).
A rule that decides beyond its query (new terms, a threshold, an indicator
match) fires on far fewer events than its filter matches: half the score.
"""

from __future__ import annotations

from ..model.rule import NormalizedRule
from .commonness import Commonness

EXCLUSION_FACTOR = 0.9
EXCLUSION_FLOOR = 0.6
NO_LOGIC_SCORE = 0.5  # rules whose logic we cannot see (correlations without resolvable rules)
BEYOND_QUERY_FACTOR = 0.5


def branch_scores(rule: NormalizedRule, common: Commonness) -> list[float]:
    branches, _ = rule.branch_view()
    out = []
    for b in branches:
        scores = sorted(common.predicate_score(rule.predicates[i], rule.key) for i in b.positive)
        if scores:
            s = scores[0]
            for extra in scores[1:]:
                s *= 0.5 + 0.5 * extra
        else:
            s = 1.0  # only exclusions: fires on everything else
        s *= max(EXCLUSION_FLOOR, EXCLUSION_FACTOR ** len(b.exclusions))
        out.append(s)
    return out


def noise_score(rule: NormalizedRule, common: Commonness, _seen: frozenset[str] = frozenset()) -> float:
    if not hasattr(rule, "branch_view"):  # a corpus rule known only from a stored index
        stored = getattr(rule, "stored_noise", None)
        return stored if stored is not None else NO_LOGIC_SCORE
    if rule.kind == "correlation":
        targets = [common.index.resolve_reference(r) for r in rule.references]
        scores = [noise_score(t, common, _seen | {rule.key}) for t in targets if t and t.key not in _seen]
        # A correlation fires only when its rules do, and then only past its threshold.
        return round(min(scores) * 0.5, 3) if scores else NO_LOGIC_SCORE
    scores = branch_scores(rule, common)
    if not scores or rule.kind == "filter":  # a filter only removes matches from other rules
        return NO_LOGIC_SCORE
    quiet = 1.0
    for s in scores:
        quiet *= 1.0 - s
    score = 1.0 - quiet
    if rule.beyond_query:
        score *= BEYOND_QUERY_FACTOR
    return round(min(1.0, max(0.0, score)), 3)
