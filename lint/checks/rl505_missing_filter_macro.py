"""RL505 missing-filter-macro: a Splunk detection without its `<name>_filter` tuning macro."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check


class MissingFilterMacro(Check):
    code = "RL505"
    name = "missing-filter-macro"
    severity = "warning"
    scope = "rule"
    summary = "A Splunk detection's search does not call the `<name>_filter` macro derived from its name."
    what_it_does = (
        "Derives the filter macro's name from the detection's `name` as contentctl does (lower case, spaces, "
        "`-`, `.` and `/` turned into `_`, then `_filter`: `Suspicious Rundll32 Run` -> "
        "`suspicious_rundll32_run_filter`) and reports a `search` that does not call it. A filter macro of "
        "another name (copied from another detection, or left behind by a rename) counts as missing; the "
        "message names it.")
    why_it_matters = (
        "The filter macro is where each installation tunes out its own false positives without editing the "
        "detection, so that updates of the app keep the tuning. Without it, or under another detection's "
        "name, an analyst's exclusions land in the wrong detection or force a local copy that never gets "
        "updates again. contentctl refuses to build such a detection.")
    example = (
        "name: Rundll32 Example Run\n"
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest\n"
        "  | `rundll32_example_filter`'")
    use_instead = (
        "name: Rundll32 Example Run\n"
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest\n"
        "  | `rundll32_example_run_filter`'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        expected = rule.extra.get("filter_macro_expected")
        if rule.vendor != "splunk" or not expected or rule.extra.get("filter_macro_present", True):
            return
        other = rule.extra.get("filter_macro")
        found = f"; it calls `{other}` instead" if other and other != expected else ""
        yield self.finding(rule, f"The search does not call `{expected}`, the filter macro contentctl derives from "
                                 f"the name '{rule.title}'{found}.", rule.logic_line or rule.line, expected=expected)
