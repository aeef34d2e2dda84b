"""RL501 undefined-macro: a Splunk search calls a macro that the repository's macros/ folder does not define."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check


class UndefinedMacro(Check):
    code = "RL501"
    name = "undefined-macro"
    severity = "error"
    scope = "rule"
    summary = "A Splunk detection calls a macro that no file of the repository's `macros/` folder defines."
    what_it_does = (
        "Reads every macro call of a Splunk detection's `search` (and of the macros it expands) and looks "
        "each up in the `macros/` folder beside `detections/` (security_content's layout), by name and "
        "number of arguments (`name(2)`). A call no macro file defines is reported on the line of the call. "
        "Not reported: the detection's `<name>_filter` tuning macro (contentctl creates it when it is "
        "missing), the macros of apps security_content relies on without shipping them "
        "(`drop_dm_object_name`, `get_asset`, `get_risk_severity`, `cim_corporate_web_domain_search`, the "
        "list contentctl's own validation ignores), and every call when no `macros/` folder exists at all "
        "(a rule kept outside such a repository).")
    why_it_matters = (
        "Splunk refuses to run a search that calls an undefined macro, so the detection never fires. "
        "rulelint also reads the search with the macro treated as empty: a source macro such as "
        "`sysmon` that is missing (a typo, a macro renamed in the repository) silently widens the logic "
        "every other check judges.")
    example = (
        "# macros/ defines `sysmon`, not `symon`\n"
        "search: '`symon` EventCode=1 Image=\"*\\\\rulelint-example.exe\" | stats count by dest "
        "| `rl501_documented_rule_filter`'")
    use_instead = (
        "search: '`sysmon` EventCode=1 Image=\"*\\\\rulelint-example.exe\" | stats count by dest "
        "| `rl501_documented_rule_filter`'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        for m in rule.extra.get("undefined_macros") or ():
            key = m["macro"]
            name, _, arity = key.partition("(")
            args = f" with {arity.rstrip(')')} argument(s)" if arity else ""
            via = "" if m.get("direct") else " (called inside another macro)"
            yield self.finding(rule, f"Macro `{name}`{args}{via} is not defined by any file of the repository's "
                                     f"macros/ folder, so Splunk refuses to run the search.",
                               m.get("line"), macro=key)
