"""Rule intent: detection, alert promotion, machine learning, the rule types that fire far
less often than their query matches, hunting and building-block content."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from rulelint.analysis.intent import KINDS, Intent, intent
from rulelint.loaders import discover, load_file, load_paths
from rulelint.model.rule import NormalizedRule


def load_one(root: Path, rel: str, text: str) -> NormalizedRule:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    res = load_file(str(p))
    assert len(res.rules) == 1, res.findings
    return res.rules[0]


def elastic(tmp_path: Path, query: str, *, rtype: str = "query", language: str = "kuery", extra: str = "",
            rel: str = "rules/windows/r.toml") -> NormalizedRule:
    lang = f'language = "{language}"\n' if language else ""
    text = (
        '[metadata]\nmaturity = "production"\n\n[rule]\nname = "Example"\n'
        'rule_id = "6c1e0f2a-0000-4000-8000-000000000001"\nseverity = "medium"\n'
        f'type = "{rtype}"\n{lang}{extra}\n'
        + (f"query = '''\n{query}\n'''\n" if query is not None else "")
    )
    return load_one(tmp_path, rel, text)


def sigma(tmp_path: Path, detection: str, *, logsource: str = "product: windows\n    category: process_creation",
          rel: str = "rules/windows/r.yml") -> NormalizedRule:
    text = (
        "title: Example\nid: 6c1e0f2a-0000-4000-8000-000000000002\nstatus: test\n"
        f"logsource:\n    {logsource}\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ") + "\n"
        "level: medium\n"
    )
    return load_one(tmp_path, rel, text)


def splunk(tmp_path: Path, search: str, *, rtype: str = "TTP", rel: str = "detections/endpoint/r.yml") -> NormalizedRule:
    text = (
        "name: Example\nid: 6c1e0f2a-0000-4000-8000-000000000003\nversion: 1\nstatus: production\n"
        f"type: {rtype}\nsearch: '{search}'\n"
    )
    return load_one(tmp_path, rel, text)


def check(rule: NormalizedRule, kind: str, *, static: bool = True, hunting: bool = False,
          building_block: bool = False) -> Intent:
    it = intent(rule)
    assert (it.kind, it.static, it.hunting, it.building_block) == (kind, static, hunting, building_block), it
    assert it.kind in KINDS
    assert (it.note == "") == (kind == "detection"), it.note
    return it


# -- plain detections, including rules that merely mention alert fields ----------------------

def test_plain_detections(tmp_path):
    check(elastic(tmp_path, 'event.category:process and process.name:"whoami.exe"'), "detection")
    check(sigma(tmp_path, "selection:\n    Image|endswith: '\\whoami.exe'\ncondition: selection"), "detection")
    check(splunk(tmp_path, "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=whoami.exe "
                           "by Processes.dest"), "detection")


def test_alert_words_that_are_not_alert_records(tmp_path):
    # event.kind event, a negated alert kind, an alert-ish field of ordinary telemetry
    check(elastic(tmp_path, "event.kind:event and event.category:process and process.name:cmd.exe"), "detection")
    check(elastic(tmp_path, "process.name:cmd.exe and not event.kind:alert"), "detection")
    check(elastic(tmp_path, 'network.protocol:tls and tls.detailed.alert_types:"decode_error"'), "detection")
    # an alert only on one side of an OR: the rule also fires without any alert
    check(elastic(tmp_path, "event.kind:alert or process.name:cmd.exe"), "detection")
    # Defender's own raw events (advanced hunting), not its alerts
    check(elastic(tmp_path, "process where process.name == \"cmd.exe\"", rtype="eql", language="eql",
                  extra='index = ["logs-endpoint.events.process-*", "logs-m365_defender.event-*"]'), "detection")
    # deleting a GuardDuty detector is an API call, not a GuardDuty finding
    check(elastic(tmp_path, "event.dataset:aws.cloudtrail and event.provider:guardduty.amazonaws.com and "
                            "event.action:DeleteDetector"), "detection")
    # a Security & Compliance Center admin action is audit, not an alert
    check(splunk(tmp_path, "sourcetype=o365:management:activity Workload=SecurityComplianceCenter "
                           "Operation=SearchCreated | stats count by user"), "detection")
    # Windows Defender configuration changes are events, its detections are alerts
    check(sigma(tmp_path, "selection:\n    EventID: 5001\ncondition: selection",
                logsource="product: windows\n    service: windefend"), "detection")


# -- alert promotions --------------------------------------------------------------------

def test_elastic_promotions(tmp_path):
    it = check(elastic(tmp_path, "event.kind: alert and data_stream.dataset: crowdstrike.alert",
                       extra='index = ["logs-crowdstrike.alert-*"]', rel="rules/promotions/cs.toml"),
               "alert-promotion", static=False)
    assert "crowdstrike.alert" in it.note and "cannot" in it.note
    # by the query alone, without an index or the promotions folder
    check(elastic(tmp_path, "event.kind:alert and event.module:endgame and endgame.metadata.type:detection"),
          "alert-promotion", static=False)
    check(elastic(tmp_path, "event.dataset:google_workspace.alert"), "alert-promotion", static=False)
    check(elastic(tmp_path, 'data_stream.dataset:azure.identity_protection and '
                            'azure.identityprotection.properties.risk_level:"high"'), "alert-promotion", static=False)
    check(elastic(tmp_path, "event.dataset:o365.audit and event.code:(WDATPAlerts or MCASAlerts)"),
          "alert-promotion", static=False)
    check(elastic(tmp_path, 'data_stream.dataset:o365.audit and event.provider:SecurityComplianceCenter and '
                            'event.action:"Unusual volume of file deletion"'), "alert-promotion", static=False)
    # a sequence that needs an alert step is driven by that alert
    check(elastic(tmp_path, 'sequence by host.id with maxspan=5m\n [any where data_stream.dataset == "endpoint.alerts"]\n'
                            ' ![any where event.category == "process"]', rtype="eql", language="eql"),
          "alert-promotion", static=False)


def test_elastic_higher_order_rules(tmp_path):
    it = check(elastic(tmp_path, 'from .alerts-security.* metadata _id\n| where kibana.alert.rule.name like "*PowerShell*"\n'
                                 '| stats n = count_distinct(kibana.alert.rule.name) by host.id\n| where n >= 5',
                       rtype="esql", language="esql"), "alert-promotion", static=False)
    assert "other rules" in it.note
    check(elastic(tmp_path, "signal.rule.name:* and event.kind:signal", rtype="threshold",
                  extra='index = [".alerts-security.*"]\n[rule.threshold]\nfield = ["host.id"]\nvalue = 3'),
          "alert-promotion", static=False)


def test_sigma_promotions(tmp_path):
    check(sigma(tmp_path, "selection:\n    Signature|contains: 'Mimikatz'\ncondition: selection",
                logsource="category: antivirus"), "alert-promotion", static=False)
    check(sigma(tmp_path, "selection:\n    riskEventType: 'impossibleTravel'\ncondition: selection",
                logsource="product: azure\n    service: riskdetection"), "alert-promotion", static=False)
    check(sigma(tmp_path, "selection:\n    EventID:\n        - 1116\n        - 1117\ncondition: selection",
                logsource="product: windows\n    service: windefend"), "alert-promotion", static=False)
    # a hunting rule over alerts is still a promotion, flagged as hunting
    check(sigma(tmp_path, "selection:\n    Signature|startswith: 'HKTL'\ncondition: selection",
                logsource="category: antivirus", rel="rules-threat-hunting/av/r.yml"),
          "alert-promotion", static=False, hunting=True)


def test_splunk_promotions(tmp_path):
    check(splunk(tmp_path, "| tstats sum(All_Risk.calculated_risk_score) as risk_score from datamodel=Risk.All_Risk "
                           "where All_Risk.risk_object_type=system by All_Risk.risk_object | where risk_score > 100",
                 rtype="Correlation"), "alert-promotion", static=False)
    check(splunk(tmp_path, "| tstats count from datamodel=Alerts where Alerts.severity IN (\"high\",\"critical\") "
                           "by Alerts.signature"), "alert-promotion", static=False)
    check(splunk(tmp_path, "sourcetype=o365:management:activity Operation=AlertEntityGenerated Name=\"*malicious*\" "
                           "| stats count by AlertId"), "alert-promotion", static=False)


# -- machine learning and the rule types ---------------------------------------------------

def test_machine_learning(tmp_path):
    rule = elastic(tmp_path, None, rtype="machine_learning", language="",
                   extra='anomaly_threshold = 50\nmachine_learning_job_id = "v3_rare_process_by_host_windows"')
    it = check(rule, "machine-learning", static=False)
    assert "v3_rare_process_by_host_windows" in it.note


def test_rule_types(tmp_path):
    it = check(elastic(tmp_path, "event.category:authentication and event.outcome:failure", rtype="threshold",
                       extra='[rule.threshold]\nfield = ["user.name"]\nvalue = 25'), "threshold")
    assert "25" in it.note
    it = check(elastic(tmp_path, "event.category:process and process.name:cmd.exe", rtype="new_terms",
                       extra='[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ["host.id"]\n'
                             '[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\nvalue = "now-7d"'),
               "new-terms")
    assert "host.id" in it.note
    check(elastic(tmp_path, "destination.ip:*", rtype="threat_match",
                  extra='threat_index = ["filebeat-*"]\nthreat_query = "threat.indicator.ip:*"'),
          "indicator-match", static=False)
    it = check(elastic(tmp_path, 'sequence by host.id with maxspan=1m\n [process where process.name == "a.exe"]\n'
                                 ' [network where process.name == "a.exe"]', rtype="eql", language="eql"), "sequence")
    assert "2 steps" in it.note and "60 s" in it.note


def test_hunting_and_building_blocks(tmp_path):
    check(splunk(tmp_path, "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=net.exe "
                           "by Processes.dest", rtype="Hunting"), "hunting", hunting=True)
    check(sigma(tmp_path, "selection:\n    Image|endswith: '\\net.exe'\ncondition: selection",
                rel="rules-threat-hunting/windows/r.yml"), "hunting", hunting=True)
    check(elastic(tmp_path, "event.category:process and process.name:net.exe",
                  extra='building_block_type = "default"'), "building-block", building_block=True)
    # a building block that is also a new-terms rule keeps its type, flagged as building block
    check(elastic(tmp_path, "event.category:process and process.name:net.exe", rtype="new_terms",
                  extra='building_block_type = "default"\n[rule.new_terms]\nfield = "new_terms_fields"\n'
                        'value = ["host.id"]'), "new-terms", building_block=True)


# -- the reference corpus -----------------------------------------------------------------

# Measured on the reference corpus: 193 alert promotions (Sigma 56, Elastic 97, Splunk 40).
PROMOTIONS = range(170, 221)


@pytest.fixture(scope="module")
def corpus_rules(shared_corpus: Path) -> list[NormalizedRule]:
    return load_paths(discover([str(shared_corpus)]), jobs=os.cpu_count()).rules


def test_corpus_intents(corpus_rules):
    ml_files = [r for r in corpus_rules if r.vendor == "elastic" and r.extra.get("type") == "machine_learning"]
    assert len(ml_files) >= 100
    assert all(intent(r).kind == "machine-learning" and not intent(r).static for r in ml_files)
    kinds = Counter(intent(r).kind for r in corpus_rules)
    assert kinds["machine-learning"] == len(ml_files)
    assert kinds["alert-promotion"] in PROMOTIONS, kinds
    by_vendor = Counter(r.vendor for r in corpus_rules if intent(r).kind == "alert-promotion")
    assert all(by_vendor[v] >= 20 for v in ("sigma", "elastic", "splunk")), by_vendor
    # every rule of Elastic's promotions folder is recognised from its query
    promoted = [r for r in corpus_rules if "/rules/promotions/" in r.path.replace("\\", "/")]
    assert promoted and all(intent(r).kind == "alert-promotion" for r in promoted)
    assert kinds["detection"] > sum(kinds.values()) / 2
