"""RL201 duplicate-logic: a rule whose detection logic another rule already has, across vendors too."""

from __future__ import annotations

from typing import Iterator

from ..analysis.logic_text import describe_atoms, rule_label
from ..findings import Finding
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Option
from .overlap_check import OverlapCheck


class DuplicateLogic(OverlapCheck):
    code = "RL201"
    name = "duplicate-logic"
    severity = "warning"
    summary = "Another rule of the corpus has the same detection logic."
    what_it_does = (
        "Compares the rule's logic with the rules that share its rarest indicators and read the "
        "same kind of event (log-source category and product). Two rules are duplicates when "
        "every AND-branch of each implies an AND-branch of the other, after canonical fields and "
        "values (`Image|endswith: '\\\\certutil.exe'` in Sigma and `process.name : \"certutil.exe\"` "
        "in EQL are one test) and with their exclusions. Tests that only say which log or event "
        "class a rule reads (`event.category`, `host.os.type`, `event.type: start`, `sourcetype`) "
        "count only when both rules test that field. The finding is reported on the later rule "
        "(by path: the loaders keep no dates; a judged target against the corpus is the later one), "
        "with the other as a related location. Sequences, aggregations, indicator-match and "
        "deprecated rules are not compared; rules that decide beyond their query (threshold, new "
        "terms) are duplicates only of rules deciding the same way.")
    why_it_matters = (
        "A duplicate fires the same alerts twice, doubles triage and tuning work, and drifts: "
        "a fix or an exclusion added to one copy is missing from the other.")
    example = (
        "# sigma/.../certutil_decode.yml            (an older rule)\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: '-decode'\n"
        "  condition: selection\n"
        "# elastic/.../certutil_decode.toml          (this rule: the same logic)\n"
        "query = 'process where process.name : \"certutil.exe\" and process.command_line : \"*-decode*\"'")
    use_instead = (
        "Keep one rule: extend the existing rule (its exclusions, its tags) instead of adding a "
        "copy, or make the new rule test something the old one does not.")
    options = (
        Option("max_related", 10, "how many duplicate rules are listed as related locations"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        found = ctx.overlap_of(rule).duplicates.get(rule.key)
        if not found:
            return
        others = [ctx.index.rules[k] for k in found]
        first = others[0]
        branches = ctx.logic_view(rule).merged()
        logic = describe_atoms(branches[0].atoms)
        if len(branches) > 1:
            logic += f" (the first of {len(branches)} branches)"
        also = f" and {len(others) - 1} more rules" if len(others) > 1 else ""
        msg = f"Its logic is the same as {rule_label(first)}{also}: {logic}."
        yield self.overlap_finding(rule, ctx, msg, others, "duplicates", "same logic")
