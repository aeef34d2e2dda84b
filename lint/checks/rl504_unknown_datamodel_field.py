"""RL504 unknown-datamodel-field: a `tstats` field that the CIM data model's dataset does not have."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..loaders.spl.references import cim, cim_version, unknown_field
from ..model.rule import NormalizedRule
from .base import Check


class UnknownDatamodelField(Check):
    code = "RL504"
    name = "unknown-datamodel-field"
    severity = "warning"
    scope = "rule"
    summary = "A `tstats` over a CIM data model names a field (`Processes.proces_name`) its dataset does not have."
    what_it_does = (
        "In each `tstats ... from datamodel=<Model>` command of a Splunk detection, reads every dotted field "
        "whose first part is a dataset of that CIM data model (`Processes.` under `Endpoint`, `All_Traffic.` "
        "under `Network_Traffic`, a child dataset such as `All_Changes.Account_Management.` too) and looks "
        "the field up among the dataset's fields, those it inherits, the asset and identity fields and the "
        "fields every event has (`_time`, `host`, `tag`, ...). The CIM fields are those of the data model "
        "definitions Splunk ships in its `pytest-splunk-addon` package (Apache-2.0; version in "
        "`lint/model/cim_fields.json`, rebuilt by `tools/gen_cim_fields.py`). Fields after `drop_dm_object_name` "
        "and data models the table does not hold are not judged.")
    why_it_matters = (
        "A data model returns only its own fields: `tstats` over a field the dataset does not have matches "
        "nothing in `where` and groups everything as null in `by`, with no error. A typo "
        "(`Processes.proces_name`) or a field of another dataset makes the detection silently dead.")
    example = (
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.proces_name=rulelint-example.exe by Processes.dest\n"
        "  | `rl504_documented_rule_filter`'")
    use_instead = (
        "search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes\n"
        "  where Processes.process_name=rulelint-example.exe by Processes.dest\n"
        "  | `rl504_documented_rule_filter`'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        seen: set[str] = set()
        for t in rule.extra.get("tstats") or ():
            if not t["datamodel"]:
                continue
            for dotted, line in t["fields"]:
                if dotted in seen:
                    continue
                hit = unknown_field(t["datamodel"], dotted)
                if hit is None:
                    continue
                seen.add(dotted)
                model, dataset, field = hit
                yield self.finding(rule, f"Field `{dotted}`: the {model} data model's {dataset} dataset has no "
                                         f"field `{field}` (CIM data models of pytest-splunk-addon "
                                         f"{cim_version()}), so tstats finds nothing in it.",
                                   line, field=dotted, datamodel=model, dataset=dataset)
