"""RL205 unused-detection-item: a Sigma selection or filter the condition never uses."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check


class UnusedDetectionItem(Check):
    code = "RL205"
    name = "unused-detection-item"
    severity = "warning"
    scope = "rule"
    summary = "A Sigma detection item the condition never uses, or a `1 of`/`all of` pattern matching none."
    what_it_does = (
        "Reports every named item under a Sigma rule's `detection` (a selection, a filter) that no "
        "condition names, directly or through a `1 of x*`/`all of x*` pattern, on the item's key line; "
        "and every `1 of`/`all of` pattern of the condition that matches no item, on the condition "
        "line. Such a pattern is dropped from the condition, as pySigma's backends drop it, so the rule "
        "loads when the rest of the condition still selects something; a condition naming an item "
        "that does not exist does not load (`parse-error`).")
    why_it_matters = (
        "An unused item is logic the author wrote and a reviewer reads, but no backend converts: most "
        "often an exclusion that silently excludes nothing (`filter_main_svchost` written, the "
        "condition still `selection and not filter_main`), so the false positives it was meant to "
        "remove still fire. A `not 1 of filter_*` whose filters were renamed `exclude_*` is the same "
        "mistake in another form.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\schtasks.exe'\n"
        "    CommandLine|contains: ' /create '\n"
        "  filter_main_system:\n"
        "    User|contains: 'SYSTEM'\n"
        "  filter_optional_installer:\n"
        "    ParentImage|endswith: '\\\\msiexec.exe'\n"
        "  condition: selection and not filter_main_system   # filter_optional_installer is never used")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\schtasks.exe'\n"
        "    CommandLine|contains: ' /create '\n"
        "  filter_main_system:\n"
        "    User|contains: 'SYSTEM'\n"
        "  filter_optional_installer:\n"
        "    ParentImage|endswith: '\\\\msiexec.exe'\n"
        "  condition: selection and not 1 of filter_*")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if rule.vendor != "sigma":
            return
        for line, name in rule.extra.get("unused_detections", ()):
            kind = "filter" if name.lower().startswith(("filter", "exclu", "fp_", "falsepositive")) else "item"
            what = ("so it excludes nothing" if kind == "filter" else "so it takes no part in what the rule matches")
            yield self.finding(rule, f"The detection {kind} '{name}' is not named by the condition, "
                                     f"{what}; name it in the condition or remove it.", line, item=name)
        for line, pattern in rule.extra.get("empty_selectors", ()):
            yield self.finding(rule, f"The condition's '{pattern}' matches no detection item, so it is dropped "
                                     f"and the rest of the condition decides alone; rename the items or the "
                                     f"pattern.", line, pattern=pattern)
