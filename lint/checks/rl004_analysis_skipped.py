"""RL004 analysis-skipped: a rule too large for the analyses that compare rules pairwise."""

from __future__ import annotations

from typing import Iterator

from ..analysis.bounds import Bounds
from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Option
from .overlap_check import OverlapCheck

_DEFAULT = Bounds()


class AnalysisSkipped(OverlapCheck):
    code = "RL004"
    name = "analysis-skipped"
    severity = "info"
    summary = "A rule was left out of the pairwise analyses because comparing it would pass a work bound."
    what_it_does = (
        "The overlap analyses (duplicate-logic, subsumed-rule) compare each rule with the corpus rules "
        "that share its rarest indicators. Their work grows with the values of both rules, so each rule "
        "and each pair has a bound: a rule with more values, a longer value or more characters of values "
        "than the bounds allow is compared with no other rule, and a pair whose comparison would scan "
        "more characters than `max_pair_work` is not compared; and a rule takes part in at most "
        "`max_rule_pairs` comparisons (the real corpora's most is under 200; a corpus of near-copies "
        "reaches it). This check reports each such gap on the "
        "judged rule, naming the bound that was reached, the rule's figure and, for a pair, the other "
        "rule. The largest real rules (SigmaHQ's vulnerable-driver hash list, about 4,400 values) sit "
        "well inside the defaults.")
    why_it_matters = (
        "A crafted or generated rule (100,000 values, a 5 MB string) must not stall a CI run for hours, "
        "and a skipped comparison must not pass for a clean result: the finding says which analysis did "
        "not look at the rule, so a reviewer knows what was not checked.")
    example = (
        "# with [options.analysis-skipped] max_values = 3\n"
        "detection:\n"
        "  selection:\n"
        "    CommandLine|contains:\n"
        "      - 'payload-1'\n"
        "      - 'payload-2'\n"
        "      - 'payload-3'\n"
        "      - 'payload-4'\n"
        "  condition: selection")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    CommandLine|contains:\n"
        "      - 'payload-1'\n"
        "      - 'payload-2'\n"
        "  condition: selection")
    options = (
        Option("max_values", _DEFAULT.max_values, "values a rule may hold and still be compared with others"),
        Option("max_value_chars", _DEFAULT.max_value_chars, "characters of all its values together"),
        Option("max_one_value", _DEFAULT.max_one_value, "characters of its longest value"),
        Option("max_pair_work", _DEFAULT.max_pair_work,
               "character comparisons one pair's comparison may take before it is given up"),
        Option("max_rule_pairs", _DEFAULT.max_rule_pairs,
               "rules one rule is compared with (past the cheap filters) before the rest are left out"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        for reason in ctx.overlap_of(rule).skipped.get(rule.key, []):
            yield self.finding(rule, f"The overlap analyses (duplicate-logic, subsumed-rule) skipped this rule: "
                                     f"{reason}.", rule.logic_line or rule.line)
