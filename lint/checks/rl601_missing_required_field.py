"""RL601 missing-required-field: an Elastic rule lacks a key detection-rules requires of its type."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check
from .elastic_schema import ML_PACKAGES, integrations, layout, line_of

# Keys without a default in detection-rules' rule dataclasses (BaseRuleData, RuleMeta and
# the per-type classes), plus `license`, which its unit tests read on every rule.
RULE_KEYS = ("author", "description", "license", "name", "risk_score", "rule_id", "severity", "type")
META_KEYS = ("creation_date", "updated_date")
QUERY_TYPES = ("query", "eql", "esql", "threshold", "new_terms", "threat_match")
TYPE_KEYS = {
    "machine_learning": ("anomaly_threshold", "machine_learning_job_id"),
    "threat_match": ("threat_index", "threat_mapping"),
    "threshold": ("threshold",),
    "new_terms": ("new_terms",),
}
SUB_KEYS = {"threshold": ("field", "value"), "new_terms": ("field", "value", "history_window_start")}
LANGUAGE_OF = {"eql": "eql", "esql": "esql"}


class MissingRequiredField(Check):
    code = "RL601"
    name = "missing-required-field"
    severity = "error"
    scope = "rule"
    summary = "An Elastic rule lacks a key that detection-rules' schema requires of every rule or of its rule type."
    what_it_does = (
        "Reads the keys of an Elastic detection-rules TOML file against what Elastic's detection-rules "
        "repository requires without a cluster. Every rule: `rule_id`, `name`, `description`, `author`, "
        "`risk_score`, `severity`, `type` (fields without a default in its base rule schema), `license` "
        "(its unit tests read it on every rule), and `[metadata]` `creation_date` and `updated_date`. "
        "Query-based types (query, eql, esql, threshold, new_terms, threat_match) also need `query` and "
        "`language`, `eql` with `language = \"eql\"` and `esql` with `language = \"esql\"`; query, eql, "
        "threshold and new_terms rules need `index` or `data_view_id` (its unit test skips ES|QL, which "
        "names its indices in FROM, threat_match and rules of the machine-learning packages). threshold "
        "needs `[rule.threshold]` with `field` and `value`; new_terms needs `[rule.new_terms]` with "
        "`field`, `value` and `history_window_start`; threat_match needs `threat_index` and "
        "`threat_mapping`; machine_learning needs `anomaly_threshold` and `machine_learning_job_id`. "
        "The finding points at the table the key belongs in. Deprecated rules (maturity `deprecated`) "
        "follow a smaller schema and are not checked; `maturity` itself is optional in the schema.")
    why_it_matters = (
        "detection-rules refuses to load, test or package a rule that misses one of these keys, and "
        "Kibana rejects the import: the rule never runs. A rule type whose own keys are missing (a "
        "threshold without its count, new terms without their fields) has no defined behaviour at all.")
    example = (
        "[rule]\n"
        "author = [\"rulelint examples\"]\n"
        "description = \"Many failed logons from one source.\"\n"
        "index = [\"logs-system.security*\"]\n"
        "language = \"kuery\"\n"
        "license = \"Elastic License v2\"\n"
        "risk_score = 47\n"
        "severity = \"medium\"\n"
        "type = \"threshold\"\n"
        "query = 'event.category:authentication and event.outcome:failure'\n\n"
        "[rule.threshold]\n"
        "field = [\"source.ip\"]   # no `value`: how many failures?")
    use_instead = (
        "[metadata]\n"
        "creation_date = \"2026/01/05\"\n"
        "updated_date = \"2026/01/05\"\n\n"
        "[rule]\n"
        "author = [\"rulelint examples\"]\n"
        "description = \"Many failed logons from one source.\"\n"
        "index = [\"logs-system.security*\"]\n"
        "language = \"kuery\"\n"
        "license = \"Elastic License v2\"\n"
        "risk_score = 47\n"
        "severity = \"medium\"\n"
        "type = \"threshold\"\n"
        "query = 'event.category:authentication and event.outcome:failure'\n\n"
        "[rule.threshold]\n"
        "field = [\"source.ip\"]\n"
        "value = 25")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        lay = layout(rule)
        if not lay or rule.status == "deprecated":
            return
        keys = set(lay.get("rule", ()))
        rtype = rule.extra.get("type", "")
        at_rule = line_of(rule, "rule")
        missing = [k for k in RULE_KEYS if k not in keys]
        if rtype in QUERY_TYPES:
            missing += [k for k in ("query", "language") if k not in keys]
            want = LANGUAGE_OF.get(rtype)
            if want and "language" in keys and rule.extra.get("language") != want:
                yield self.finding(rule, f"A {rtype} rule needs `language = \"{want}\"`, not "
                                         f"{rule.extra.get('language')!r}.", at_rule, key="language")
        if (rtype in ("query", "eql", "threshold", "new_terms") and not keys & {"index", "data_view_id"}
                and not any(i.lower() in ML_PACKAGES for i in integrations(rule))):
            missing.append("index")
        missing += [k for k in TYPE_KEYS.get(rtype, ()) if k not in keys]
        for key in missing:
            what = "`index` or `data_view_id`" if key == "index" else f"`{key}`"
            owner = f"a {rtype} rule" if key not in RULE_KEYS and rtype else "every rule"
            yield self.finding(rule, f"The `[rule]` table has no {what}, which detection-rules requires of "
                                     f"{owner}.", at_rule, key=key)
        for table, subs in SUB_KEYS.items():
            if rtype == table and table in keys:
                for sub in subs:
                    if sub not in lay.get(table, ()):
                        yield self.finding(rule, f"`[rule.{table}]` has no `{sub}`, which detection-rules requires "
                                                 f"of a {rtype} rule.", line_of(rule, f"rule.{table}", "rule"),
                                           key=f"{table}.{sub}")
        if "metadata" not in lay:
            yield self.finding(rule, "The file has no `[metadata]` table; detection-rules requires one with "
                                     "`creation_date` and `updated_date`.", 1, key="metadata")
            return
        meta = set(lay["metadata"])
        for key in META_KEYS:
            if key not in meta:
                yield self.finding(rule, f"The `[metadata]` table has no `{key}`, which detection-rules requires "
                                         f"of every rule.", line_of(rule, "metadata"), key=f"metadata.{key}")
