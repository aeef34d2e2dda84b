"""RL502 undefined-lookup: a Splunk search reads a lookup that the repository's lookups/ folder does not define."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check


class UndefinedLookup(Check):
    code = "RL502"
    name = "undefined-lookup"
    severity = "warning"
    scope = "rule"
    summary = "A Splunk detection reads a lookup (`| lookup`, `| inputlookup`) that the repository's `lookups/` folder does not define."
    what_it_does = (
        "Finds the lookup each `lookup` and `inputlookup` command of a Splunk detection's `search` names "
        "(subsearches included) and looks it up in the `lookups/` folder beside `detections/` "
        "(security_content's layout): a lookup is defined by a YAML file's `name:` or `filename:`, or by a "
        "file of that name in the folder. `outputlookup` is not judged (it creates its table). Not reported: "
        "lookups named through a macro or a `$token$`, the lookups of apps security_content relies on "
        "(Enterprise Security's asset and identity framework, URL Toolbox, SA-admon: the list contentctl's "
        "own validation ignores), and every lookup when no `lookups/` folder exists at all.")
    why_it_matters = (
        "A lookup the app does not ship makes the search fail (`lookup table ... does not exist`) or, "
        "for `inputlookup` of a baseline's file that is gone, return nothing: the detection is silently "
        "dead or its enrichment and allow-list empty.")
    example = (
        "# lookups/ defines `remote_access_software`, not `remote_access_softwares`\n"
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest Processes.process_name\n"
        "  | `drop_dm_object_name(Processes)`\n"
        "  | lookup remote_access_softwares remote_utility AS process_name OUTPUT isutility\n"
        "  | `rl502_documented_rule_filter`'")
    use_instead = (
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest Processes.process_name\n"
        "  | `drop_dm_object_name(Processes)`\n"
        "  | lookup remote_access_software remote_utility AS process_name OUTPUT isutility\n"
        "  | `rl502_documented_rule_filter`'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        seen: set[str] = set()
        for use in rule.extra.get("lookups") or ():
            if use["defined"] is not False or use["command"] == "outputlookup" or use["name"].lower() in seen:
                continue
            seen.add(use["name"].lower())
            yield self.finding(rule, f"Lookup `{use['name']}` read by `{use['command']}` is not defined in the "
                                     f"repository's lookups/ folder (no file's `name:` or `filename:` is "
                                     f"`{use['name']}`).", use["line"], lookup=use["name"])
