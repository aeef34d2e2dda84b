"""What a rule is for: a plain detection, or something whose volume its logic alone
does not decide (a machine-learning job, the promotion of another product's alerts),
or a rule type that fires far less often than its query matches (threshold, new terms,
sequence, correlation), or content not meant to alert (hunting, building blocks).

`intent(rule)` reads the rule's logic and type, as a detection engineer would:

- machine-learning: an Elastic `machine_learning` rule; its anomaly job decides.
- alert-promotion: the rule selects records that are already another product's (or
  other rules') alerts, detections or risk events, so its volume is that product's
  alert volume. Evidence, preferred from the query: every way through the rule's
  logic requires an alert record (`event.kind` alert/signal, an alert-feed dataset
  such as `crowdstrike.alert` or `azure.identity_protection`, `kibana.alert.*` fields,
  an Entra ID Protection `riskEventType`, Microsoft 365 alert records, a Windows
  Defender detection event, Okta ThreatInsight, ...); or the rule reads an alert
  source (an Elastic alert index in `index` or an ES|QL `FROM`, the Splunk CIM `Risk`,
  `Alerts` or `Intrusion_Detection` data models, the risk index, a Sigma
  `antivirus` / Entra ID risk-detection / PIM / Microsoft 365 threat-management log).
  Elastic's `rules/promotions/` folder is supporting evidence only.
- correlation, threshold, new-terms, indicator-match, sequence: the rule type.
- hunting, building-block: content not meant to alert on its own.

Metadata is read only to tell the rule's type (Elastic `type` and `building_block_type`,
Splunk `type`, the SigmaHQ folder of hunting rules), never to score it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..model.tree import And, Leaf, Node, Not, Or

KINDS = ("detection", "alert-promotion", "machine-learning", "threshold", "new-terms", "indicator-match",
         "correlation", "sequence", "hunting", "building-block")


@dataclass(frozen=True, slots=True)
class Intent:
    kind: str  # one of KINDS
    static: bool  # False when the rule's volume cannot be judged from its logic
    note: str  # one sentence: what the rule is, and why its noise cannot be judged statically
    hunting: bool  # hunting content, whatever the kind
    building_block: bool


# -- evidence of alert records -----------------------------------------------------------

# Datasets (event.dataset, data_stream.dataset, Elastic index names) that are alert feeds.
_ALERT_DATASET = re.compile(
    r"(^|[._-])(alerts?|offense|incident|threat)([._-]|$)"  # crowdstrike.alert, ibm_qradar.offense, sentinel_one.threat
    r"|identity_?protection"  # Entra ID Protection risk detections
    r"|guardduty|securityhub|security_hub",
    re.I)
# Index patterns of Elastic's own alerts: a higher-order rule reads the alerts rules raise.
_OWN_ALERT_INDEX = re.compile(r"^\.(internal\.)?(alerts-security|siem-signals)", re.I)
# Microsoft 365 audit record types (event.code) that carry alerts or detections.
_M365_ALERT_RECORDS = frozenset({
    "wdatpalerts", "mcasalerts", "ms365dcustomdetection", "securitycompliancealerts", "aadriskdetection",
    "purviewinsiderriskalerts", "purviewinsiderriskcases", "threatintelligence", "threatintelligenceurl",
    "threatintelligenceatpcontent", "threatfinder", "campaign", "mstic", "hygieneevent",
})
# event.action / Operation values that say a product raised an alert or detection.
_ALERT_ACTIONS = frozenset({
    "alerttriggered", "alertentitygenerated",  # Microsoft 365 alert policies
    "filemalwaredetected", "atpdetection",  # Defender for Office 365
    "dlprulematch",  # Purview data loss prevention
    "security.threat.detected",  # Okta ThreatInsight
    "virus_detected", "wildfire_virus_detected", "spyware_detected", "exploit_detected",  # PAN-OS threat log
})
_ACTION_FIELDS = frozenset({"event.action", "Operation", "eventType", "eventName", "operationName"})
# Names of Microsoft 365 default alert policies (the alert's name: event.action or
# rule.name in Elastic, eventName in Sigma, Name in Splunk). The Security & Compliance
# Center workload alone is no evidence: it also logs admin actions (searches, exports).
_M365_ALERT_POLICIES = frozenset({
    "activity from suspicious ip addresses", "activity from anonymous ip addresses", "activity from infrequent country",
    "activity performed by terminated user", "impossible travel activity", "log on from a risky ip address",
    "potential ransomware activity", "ransomware activity", "unusual volume of file deletion",
    "unusual volume of external file sharing", "unusual external user file activity",
    "user restricted from sending email", "tenant restricted from sending email", "email sending limit exceeded",
    "suspicious email sending patterns detected", "suspicious email forwarding activity", "suspicious inbox forwarding",
    "suspicious connector activity", "data exfiltration to unsanctioned apps",
    "suspicious oauth app file download activities", "ediscovery search started or exported",
    "email reported by user as malware or phish", "creation of forwarding/redirect rule",
    "elevation of exchange admin privilege", "malware campaign detected after delivery",
    "malware campaign detected and blocked", "a potentially malicious url click was detected",
})
_ALERT_NAME_FIELDS = frozenset({"event.action", "rule.name", "eventName", "Name"})
# Windows Defender detection events: malware found / acted on, attack surface reduction,
# network protection and controlled folder access blocks and audits.
_DEFENDER_DETECTIONS = frozenset({
    "1006", "1007", "1008", "1015", "1116", "1117", "1118", "1119", "1121", "1122", "1123", "1124",
    "1125", "1126", "1127", "1128", "1129", "1131", "1132", "1133", "1134", "1160",
})
# Splunk sourcetypes that are another product's alert feed.
_ALERT_SOURCETYPES = {
    "crowdstrike:event:streams:json": "CrowdStrike Falcon detection events",
    "aws:securityhub:finding": "AWS Security Hub findings",
    "kube:container:falco": "Falco alerts",
}
# Splunk CIM data models whose records are alerts.
_ALERT_DATAMODELS = {
    "risk": "the risk events other detections raise (CIM Risk data model)",
    "alerts": "the alerts of security tools (CIM Alerts data model)",
    "intrusion_detection": "intrusion-detection alerts (CIM Intrusion_Detection data model)",
}
# Sigma log sources that are another product's detections.
_SIGMA_ALERT_CATEGORIES = {"antivirus": "antivirus detections"}
_SIGMA_ALERT_SERVICES = {
    ("azure", "riskdetection"): "Entra ID Protection risk detections",
    ("azure", "pim"): "Entra ID Privileged Identity Management alerts",
    ("m365", "threat_management"): "Microsoft 365 security alerts",
    ("m365", "threat_detection"): "Microsoft 365 security alerts",
    ("linux", "clamav"): "ClamAV detections",
}


def _alert_value(rule: Any, field: str, value: str) -> str:
    """What alert records a positive test of `field` for `value` selects ('' for none)."""
    v = value.casefold()
    if field == "event.kind" and v in ("alert", "signal"):
        return f"records with event.kind {v}"
    if field in ("event.dataset", "data_stream.dataset") and _ALERT_DATASET.search(v):
        return f"the {value} alert feed"
    if field == "event.code" and v in _M365_ALERT_RECORDS:
        return f"Microsoft 365 {value} audit records"
    if field in _ACTION_FIELDS and v in _ALERT_ACTIONS:
        return f"records with {field} {value}"
    if field in _ALERT_NAME_FIELDS and v in _M365_ALERT_POLICIES:
        return f"the Microsoft 365 alert '{value}'"
    if field == "Category" and v == "threatmanagement":
        return "Microsoft 365 threat-management alerts"
    if field == "okta.debug_context.debug_data.threat_suspected" and v == "true":
        return "Okta ThreatInsight verdicts"
    if field == "riskEventType":
        return "Entra ID risk detections"
    if field == "event.code" and v in _DEFENDER_DETECTIONS and rule.logsource.service.casefold() == "windefend":
        return f"Windows Defender detection events ({value})"
    if field == "sourcetype" and v in _ALERT_SOURCETYPES:
        return _ALERT_SOURCETYPES[v]
    if field == "index" and v in ("risk", "notable"):
        return f"the {v} index"
    if field.startswith(("kibana.alert.", "signal.")):
        return "Elastic Security alerts"
    return ""


def _required_alert(rule: Any, node: Node | None, memo: dict[int, str]) -> str:
    """The alert evidence every way through `node` requires ('' if some way needs none)."""
    if node is None:
        return ""
    if isinstance(node, Leaf):
        if node.pred not in memo:
            p = rule.predicates[node.pred]
            memo[node.pred] = next((w for v in p.values if (w := _alert_value(rule, p.field, v))), "") \
                if p.op in ("eq", "exists", "wildcard", "starts_with", "contains") else ""
        return memo[node.pred]
    if isinstance(node, Not):
        return ""
    if isinstance(node, And):
        return next((w for c in node.children if (w := _required_alert(rule, c, memo))), "")
    if isinstance(node, Or):
        found = [_required_alert(rule, c, memo) for c in node.children]
        return found[0] if found and all(found) else ""
    return ""


def _alert_sources(rule: Any) -> str:
    """The alert source a rule reads, by its declared data (index, data model, log source)."""
    extra = rule.extra or {}
    if rule.vendor == "elastic":
        for pattern in [*(extra.get("index") or ()), *(extra.get("esql_from") or ())]:
            name = str(pattern).split(":", 1)[-1]
            if _OWN_ALERT_INDEX.match(name):
                return "the alerts other rules raise (index .alerts-security)"
            if _ALERT_DATASET.search(name.removeprefix("logs-").rstrip("-*")):
                return f"the alert feed {name}"
    elif rule.vendor == "splunk":
        dm = str(extra.get("datamodel") or "").split(".")[0].casefold()
        if dm in _ALERT_DATAMODELS:
            return _ALERT_DATAMODELS[dm]
    elif rule.vendor == "sigma":
        ls = rule.logsource
        if ls.category.casefold() in _SIGMA_ALERT_CATEGORIES:
            return _SIGMA_ALERT_CATEGORIES[ls.category.casefold()]
        hit = _SIGMA_ALERT_SERVICES.get((ls.product.casefold(), ls.service.casefold()))
        if hit:
            return hit
    return ""


def alert_evidence(rule: Any) -> str:
    """Why the rule is an alert promotion, in words ('' when it is not one)."""
    if not getattr(rule, "has_logic", True):
        return ""
    return _alert_sources(rule) or _required_alert(rule, rule.tree, {})


# -- intent ------------------------------------------------------------------------------

def _hunting(rule: Any) -> bool:
    extra = rule.extra or {}
    if rule.vendor == "splunk":
        return str(extra.get("type") or "").casefold() == "hunting"
    if rule.vendor == "sigma":
        return "rules-threat-hunting" in rule.path.replace("\\", "/").split("/")
    return False


def _own_alerts(evidence: str) -> bool:
    return "other rules raise" in evidence or "other detections raise" in evidence or evidence == "Elastic Security alerts"


def intent(rule: Any) -> Intent:
    """What the rule is for, and whether its volume can be judged from its logic."""
    extra = rule.extra or {}
    rtype = str(extra.get("type") or "").casefold() if rule.vendor == "elastic" else ""
    hunting = _hunting(rule)
    building_block = rule.vendor == "elastic" and bool(extra.get("building_block"))

    def make(kind: str, note: str, static: bool = True) -> Intent:
        return Intent(kind, static, note, hunting, building_block)

    if rtype == "machine_learning":
        job = extra.get("ml_job") or "(unnamed)"
        return make("machine-learning", f"A machine-learning rule: it raises the anomalies that the job {job} scores, "
                    "so its volume follows the job's model of the data, not a query.", static=False)
    evidence = alert_evidence(rule)
    if evidence:
        if _own_alerts(evidence):
            note = (f"A higher-order rule over {evidence}: its volume follows those rules' alert volume, "
                    "which its own logic cannot show.")
        else:
            note = (f"An alert promotion: it raises {evidence}, so its volume is that product's alert volume, "
                    "which its logic cannot show.")
        return make("alert-promotion", note, static=False)
    if rule.kind == "correlation":
        ctype = str(extra.get("correlation_type") or "").replace("_", " ")
        return make("correlation", f"A {ctype + ' ' if ctype else ''}correlation: it fires when the rules it "
                    "names match together, far less often than they match alone.")
    beyond = rule.beyond_query or ""
    if rtype == "threshold" or beyond.startswith("at least"):
        return make("threshold", f"A threshold rule: it fires on {beyond or 'a count of events'}, "
                    "far less often than its query matches.")
    if rtype == "new_terms" or beyond.startswith("new terms"):
        return make("new-terms", f"A new-terms rule: it fires on the first sighting of {beyond.removeprefix('new terms of ') or 'a value'}, "
                    "far less often than its query matches.")
    if rtype == "threat_match" or beyond.startswith("a match against threat"):
        return make("indicator-match", "An indicator-match rule: it fires on events that match threat-intelligence "
                    "indicators, so its volume follows the indicator feed, not its query.", static=False)
    steps = getattr(rule, "steps", ()) or ()
    if len(steps) > 1:
        span = getattr(rule, "maxspan", None)
        within = f" within {span:g} s" if span else ""
        return make("sequence", f"An EQL sequence of {len(steps)} steps: it fires only when they occur in order"
                    f"{within}, far less often than each step matches.")
    if hunting:
        return make("hunting", "Hunting content: a search for an analyst to review, not meant to alert.")
    if building_block:
        return make("building-block", "A building-block rule: its alerts feed other rules and stay out of the "
                    "alert queue.")
    return make("detection", "")
