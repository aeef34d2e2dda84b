"""RL503 tstats-without-summariesonly: a `| tstats` over a data model that does not set its summaries option."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check


class TstatsWithoutSummariesonly(Check):
    code = "RL503"
    name = "tstats-without-summariesonly"
    severity = "warning"
    scope = "rule"
    summary = "A Splunk `| tstats ... from datamodel=...` without `summariesonly` or the `security_content_summariesonly` macro."
    what_it_does = (
        "Reports each `tstats` command of a Splunk detection that reads a data model (`from datamodel=`) "
        "and neither calls a `*summariesonly*` macro (security_content's `security_content_summariesonly`) "
        "nor sets the `summariesonly=` option itself.")
    why_it_matters = (
        "security_content routes every data model search through `security_content_summariesonly`, so one "
        "macro decides, per installation, whether searches read only the accelerated summaries (fast, "
        "but blind to events not yet summarized) or the raw events too. A search that leaves the option "
        "out ignores that choice: it takes Splunk's default, so it runs differently from every other "
        "detection of the app and cannot be tuned with them.")
    example = (
        "search: '| tstats count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest\n"
        "  | `rl503_documented_rule_filter`'")
    use_instead = (
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest\n"
        "  | `rl503_documented_rule_filter`'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        for t in rule.extra.get("tstats") or ():
            if t["datamodel"] and not t["summariesonly"]:
                yield self.finding(rule, f"`tstats` over datamodel={t['datamodel']} neither calls "
                                         f"`security_content_summariesonly` nor sets `summariesonly=`, so it "
                                         f"ignores the app's choice of accelerated summaries.",
                                   t["line"], datamodel=t["datamodel"])
