"""RL603 missing-related-integration: `metadata.integration` against the query's datasets and indices."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check
from .elastic_schema import BROAD_INDICES, ML_PACKAGES, datasets, index_patterns, integrations, layout, line_of, \
    pattern_integration


class MissingRelatedIntegration(Check):
    code = "RL603"
    name = "missing-related-integration"
    severity = "warning"
    scope = "rule"
    summary = ("An Elastic rule reads an integration's data that `metadata.integration` does not list (warning), "
               "or lists an integration it never reads (info).")
    what_it_does = (
        "detection-rules builds a rule's Kibana `related_integrations` from `[metadata] integration` and "
        "its unit tests hold that list to the rule: every package whose dataset the query tests "
        "(`event.dataset: aws.cloudtrail` is package `aws`) and every package an index pattern belongs "
        "to (`logs-okta*` is `okta`, the first word after the first hyphen) must be listed, and every "
        "listed package must have a `logs-<package>` index pattern or a dataset in the query (`windows` "
        "is satisfied by `winlogbeat-*`, `apm` by the APM indices; not judged when a Beats or catch-all "
        "index is read, which may hold any package). As there: Beats, `logs-*`, alert and "
        "Endgame indices name no package; threat_match, machine_learning, Lucene and deprecated rules "
        "and rules of the machine-learning packages are not judged. ES|QL rules (which that test skips) "
        "are judged on their FROM indices, and since the build adds the query's datasets once the list "
        "is not empty, an ES|QL dataset counts as listed then. A package missing from the list is a "
        "warning (an info for an ES|QL rule with no list at all, which that test lets through); a listed "
        "package the rule never reads is an info.")
    why_it_matters = (
        "Kibana shows `related_integrations` to say which integration a rule needs and whether it is "
        "installed. A rule that does not list the package it reads looks ready on a cluster that has "
        "no such data, and never fires; a listed package it never reads asks users to install "
        "something the rule does not use.")
    example = (
        "[metadata]\n"
        "creation_date = \"2026/01/05\"\n"
        "integration = [\"okta\"]\n"
        "updated_date = \"2026/01/05\"\n\n"
        "[rule]\n"
        "index = [\"logs-aws.cloudtrail-*\"]\n"
        "language = \"kuery\"\n"
        "type = \"query\"\n"
        "query = 'event.dataset:aws.cloudtrail and event.action:DeleteTrail'")
    use_instead = (
        "[metadata]\n"
        "creation_date = \"2026/01/05\"\n"
        "integration = [\"aws\"]\n"
        "updated_date = \"2026/01/05\"\n\n"
        "[rule]\n"
        "index = [\"logs-aws.cloudtrail-*\"]\n"
        "language = \"kuery\"\n"
        "type = \"query\"\n"
        "query = 'event.dataset:aws.cloudtrail and event.action:DeleteTrail'")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        lay = layout(rule)
        rtype = rule.extra.get("type", "")
        if (not lay or rule.status == "deprecated" or rtype in ("machine_learning", "threat_match")
                or rule.extra.get("language") == "lucene"):
            return
        patterns = index_patterns(rule)
        listed = integrations(rule)
        if not patterns or any(i.lower() in ML_PACKAGES for i in listed):
            return
        esql = bool(rule.extra.get("esql_from"))
        from_query: dict[str, str] = {}
        for value, _ in datasets(rule):
            if "." in value:
                from_query.setdefault(value.split(".", 1)[0], value)
        from_index: dict[str, str] = {}
        if not any(p in ("logs-*", "*") for p in patterns):  # reads every data stream (promotion rules)
            for p in patterns:
                pkg = pattern_integration(p)
                if pkg:
                    from_index.setdefault(pkg, p)
        effective = set(listed) | (set(from_query) if esql and listed else set())
        line = line_of(rule, "metadata.integration", "metadata")
        have = (f"`metadata.integration` lists {', '.join(f'`{i}`' for i in listed)} but not" if listed
                else "There is no `metadata.integration` to list")
        for pkg in sorted((set(from_query) | set(from_index)) - effective):
            evidence = " and ".join(x for x in (
                f"the query tests dataset `{from_query[pkg]}`" if pkg in from_query else "",
                f"it reads index `{from_index[pkg]}`" if pkg in from_index else "") if x)
            # detection-rules' own test skips ES|QL rules, though its build leaves them without
            # related integrations just the same: said, at a lower severity.
            quiet = esql and not listed
            yield self.finding(rule, f"{have} `{pkg}`, though {evidence}; the rule's related integrations "
                                     f"will not name the package it needs"
                                     + (" (detection-rules' unit test does not check ES|QL rules)." if quiet else "."),
                               line, severity="info" if quiet else None, package=pkg, listed=listed)
        if any(p in BROAD_INDICES for p in patterns):  # a Beats or catch-all index may hold any package
            return
        joined = "|".join(patterns)
        for pkg in listed:
            if f"logs-{pkg}" in joined or pkg in from_query:
                continue
            if (pkg == "windows" and "winlog" in joined) or (
                    pkg == "apm" and ("apm-" in joined or "traces-apm" in joined)):
                continue
            yield self.finding(rule, f"`metadata.integration` lists `{pkg}`, but no index pattern ({', '.join(patterns)}) "
                                     f"is a `logs-{pkg}` one and the query tests none of its datasets.", line,
                               severity="info", package=pkg, listed=listed)
