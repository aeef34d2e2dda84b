"""RL602 index-query-mismatch: the query requires a dataset no index pattern of the rule can hold."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.predicate import quote
from ..model.rule import NormalizedRule
from .base import Check
from .elastic_schema import DATASET_FIELDS, holds_dataset, index_patterns, layout


class IndexQueryMismatch(Check):
    code = "RL602"
    name = "index-query-mismatch"
    severity = "warning"
    scope = "rule"
    summary = "An Elastic rule's query tests a dataset that none of its index patterns can hold."
    what_it_does = (
        "For an Elastic rule, reads the datasets its query requires (`event.dataset` or "
        "`data_stream.dataset` equal to a value of the form `package.stream`, in a part of the query a "
        "match needs) and the index patterns it reads (`index`, or an ES|QL query's FROM). Fleet "
        "integrations write a dataset to the data stream `logs-<dataset>-<namespace>`, so "
        "`logs-okta.system-*` can hold `okta.system` and `logs-endpoint.events.*` cannot. A test none of "
        "whose values can sit behind any pattern is a warning; one whose other values can is an info "
        "naming the values that never match. Judged only when every pattern is a `logs-<dataset>` one: "
        "Beats indices (`filebeat-*`, `winlogbeat-*`...), `logs-*`, `endgame-*`, alert and APM indices "
        "may hold anything, and the rule is left alone. Values without a dot (`dns`, `conn`: a module's "
        "own event names) and `event.module` (which need not be the package name: Sysmon events carry "
        "`sysmon`) are not judged.")
    why_it_matters = (
        "A dataset test that can never hold in the indices the rule searches makes that part of the "
        "rule dead: when it is the whole rule, the rule never fires, and nothing in Kibana says why. "
        "It usually means the index list was copied from another rule, or the dataset was renamed "
        "(`windows.sysmon` became `windows.sysmon_operational`).")
    example = (
        "[rule]\n"
        "index = [\"logs-endpoint.events.*\"]\n"
        "language = \"kuery\"\n"
        "type = \"query\"\n"
        "query = 'event.dataset:okta.system and event.action:user.mfa.factor.deactivate'")
    use_instead = (
        "[rule]\n"
        "index = [\"logs-okta*\"]\n"
        "language = \"kuery\"\n"
        "type = \"query\"\n"
        "query = 'event.dataset:okta.system and event.action:user.mfa.factor.deactivate'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if not layout(rule) or rule.status == "deprecated":
            return
        patterns = index_patterns(rule)
        if not patterns:
            return
        pol = rule.polarity
        for i, p in enumerate(rule.predicates):
            if p.field not in DATASET_FIELDS or p.op != "eq" or not pol.get(i) or "computed" in p.notes:
                continue
            judged = [v for v in p.values if "." in v and not any(c in v for c in "*?")]
            if not judged or len(judged) < len(p.values):
                continue
            fits = {v: [holds_dataset(pat, v) for pat in patterns] for v in judged}
            if any(None in f for f in fits.values()):
                continue
            never = [v for v, f in fits.items() if not any(f)]
            if not never:
                continue
            shown = ", ".join(quote(v) for v in never)
            where = ", ".join(patterns)
            if len(never) == len(judged):
                yield self.finding(rule, f"`{p.field}` must be {shown}, a dataset none of the rule's index patterns "
                                         f"({where}) can hold: this test never matches.", p.line,
                                   field=p.field, values=never, index=patterns)
            else:
                yield self.finding(rule, f"`{p.field}` value{'s' if len(never) > 1 else ''} {shown} can never match: "
                                         f"none of the rule's index patterns ({where}) holds that dataset.", p.line,
                                   severity="info", field=p.field, values=never, index=patterns)
