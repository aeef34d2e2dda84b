"""Splunk loader: metadata, macros folder discovery, errors, and the security_content gate."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rulelint.loaders.splunk import MacroTable, load_splunk, logsource_for, looks_like_splunk
from rulelint.model.rule import LogSource
from rulelint.model.tree import And, Leaf, Node, Not

DETECTION = """\
name: Suspicious Whoami
id: 11111111-2222-3333-4444-555555555555
version: 1
status: production
type: TTP
data_source:
- Sysmon EventID 1
search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes
  where Processes.process_name=whoami.exe
  NOT Processes.parent_process_name IN ("explorer.exe") by Processes.dest
  | `drop_dm_object_name(Processes)` | `suspicious_whoami_filter`'
tags:
  confidence: 80
  mitre_attack_id:
  - t1033
  - T1033
  - T1059.001
"""

MACROS = {
    "security_content_summariesonly.yml": "name: security_content_summariesonly\ndefinition: summariesonly=true\n",
    "sysmon.yml": "name: sysmon\ndefinition: sourcetype=sysmon\n",
    "pair.yml": "name: pair(2)\narguments:\n- f\n- v\ndefinition: $f$=$v$\n",
}


def load_text(path: Path, text: str, macros: MacroTable | None = None):
    data = yaml.safe_load(text)
    return load_splunk(str(path), data, text, macros if macros is not None else MacroTable.for_rule(str(path)))


@pytest.fixture
def repo(write_rules):
    """A security_content layout: detections/ and macros/ side by side."""
    files = {f"macros/{k}": v for k, v in MACROS.items()}
    files["detections/endpoint/suspicious_whoami.yml"] = DETECTION
    return write_rules(files)


def test_looks_like_splunk():
    assert looks_like_splunk({"name": "x", "id": "y", "search": "a=1", "type": "TTP"})
    assert looks_like_splunk({"name": "x", "search": ["not a string"]})  # reported, not skipped
    assert not looks_like_splunk({"name": "x", "description": "a story"})  # no search
    assert not looks_like_splunk({"name": "Sysmon EventID 1", "source": "x", "sourcetype": "y"})  # data source
    assert not looks_like_splunk({"title": "s", "logsource": {}, "detection": {}, "search": "x"})
    assert not looks_like_splunk({"name": "b", "search": "x", "type": "Baseline"})
    assert not looks_like_splunk(["name", "search"])


def test_metadata(repo):
    path = repo / "detections/endpoint/suspicious_whoami.yml"
    res = load_text(path, DETECTION)
    assert res.findings == []
    (rule,) = res.rules
    assert (rule.key, rule.id, rule.title, rule.vendor) == (
        "11111111-2222-3333-4444-555555555555", "11111111-2222-3333-4444-555555555555", "Suspicious Whoami", "splunk")
    assert (rule.line, rule.logic_line, rule.kind) == (1, 8, "rule")
    assert rule.techniques == ["T1033", "T1059.001"]
    assert rule.tactics == []
    assert rule.logsource == LogSource("", "process_creation", "")
    assert (rule.level, rule.status) == ("ttp", "production")
    assert rule.extra["type"] == "TTP"
    assert rule.extra["datamodel"] == "Endpoint.Processes"
    assert rule.extra["filter_macro"] == "suspicious_whoami_filter"
    assert rule.extra["unknown_macros"] == []


def test_predicates_tree_and_lines(repo):
    res = load_text(repo / "detections/endpoint/suspicious_whoami.yml", DETECTION)
    rule = res.rules[0]
    assert [(p.field, p.op, p.values, p.line) for p in rule.predicates] == [
        ("Processes.process_name", "eq", ("whoami.exe",), 9),
        ("Processes.parent_process_name", "eq", ("explorer.exe",), 10),
    ]
    assert rule.tree == And([Leaf(0), Not(Leaf(1))])


def test_key_falls_back_to_path_and_types_all_load(write_rules):
    root = write_rules({})
    for rtype in ("TTP", "Anomaly", "Hunting", "Correlation"):
        path = root / f"{rtype}.yml"
        res = load_text(path, f"name: n\ntype: {rtype}\nsearch: index=main a=1\n")
        assert res.rules[0].key == f"{path}#0" and res.rules[0].predicates


def test_parse_error_is_a_finding_with_line(repo):
    path = repo / "detections/endpoint/broken.yml"
    text = "name: Broken\nid: b\ntype: TTP\nsearch: '`sysmon` (EventCode=1\n  | stats count by host'\n"
    res = load_text(path, text)
    assert res.rules == []
    (f,) = res.findings
    assert (f.code, f.line, f.path) == ("RL001", 4, str(path))
    assert "SPL:" in f.message and "at offset" not in f.message
    # The column is the `(` left open, as the file has it (the search starts after `search: '`).
    assert f.column == 19 and "`(` here is never closed" in f.message and "at line 4 column 19; expected `)`" in f.message


def test_search_not_a_string_is_a_finding(tmp_path):
    res = load_text(tmp_path / "x.yml", "name: x\nsearch:\n- a\n")
    assert res.findings[0].code == "RL001" and res.findings[0].line == 2


def test_no_filter_is_reported_as_no_logic(tmp_path):
    res = load_text(tmp_path / "x.yml", "name: x\nid: i\nsearch: '| inputlookup t | stats count by a'\n")
    assert res.rules and res.findings[0].code == "RL002"


def test_macro_table_finds_folder_and_caches(repo, tmp_path_factory):
    a = MacroTable.for_rule(str(repo / "detections/endpoint/suspicious_whoami.yml"))
    b = MacroTable.for_rule(str(repo / "detections/other/x.yml"))
    assert a is b
    assert a["pair(2)"].args == ("f", "v") and a["sysmon"].definition == "sourcetype=sysmon"
    assert MacroTable.for_rule(str(tmp_path_factory.mktemp("bare") / "x.yml")) == {}  # no folder: empty
    explicit = MacroTable(repo / "macros")
    assert set(explicit) == {"security_content_summariesonly", "sysmon", "pair(2)"}
    res = load_text(repo / "detections/endpoint/m.yml", "name: m\nsearch: '`sysmon` `pair(Image, x.exe)`'\n", explicit)
    assert [(p.field, p.values) for p in res.rules[0].predicates] == [("sourcetype", ("sysmon",)), ("Image", ("x.exe",))]


def test_unknown_macros_recorded(write_rules):
    root = write_rules({"macros/x.yml": "name: x\ndefinition: a=1\n"})
    res = load_text(root / "detections/d.yml", "name: d\nsearch: '`x` `y` b=2 | `d_filter`'\n")
    assert res.rules[0].extra["unknown_macros"] == ["y"]
    assert res.rules[0].extra["filter_macro"] == "d_filter"


def test_logsource_mapping():
    assert logsource_for("Endpoint.Filesystem", []) == LogSource("", "file_event")
    assert logsource_for("Network_Resolution", []) == LogSource("", "dns_query")
    assert logsource_for("Risk.All_Risk", []) == LogSource("", "risk")
    assert logsource_for(None, ["Sysmon EventID 1"]) == LogSource("windows", "process_creation")
    assert logsource_for(None, ["Windows Event Log Security 4688"]) == LogSource("windows", "process_creation")
    assert logsource_for(None, ["Windows Event Log Security 4624"]) == LogSource("windows", "", "security")
    assert logsource_for(None, [], ["wineventlog_security"]) == LogSource("windows", "", "security")
    assert logsource_for(None, ["Something Else"]) == LogSource()


# -- security_content ----------------------------------------------------------------

def _splunk(shared_corpus: Path) -> Path:
    root = shared_corpus / "splunk"
    if not (root / "detections").is_dir():
        pytest.skip(f"Splunk security_content not found at {root}")
    return root


def _load(root: Path, rel: str):
    path = root / "detections" / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in this corpus snapshot")
    return load_text(path, path.read_text(encoding="utf-8"))


def _render(rule, node: Node | None = None):
    node = rule.tree if node is None else node
    if isinstance(node, Leaf):
        p = rule.predicates[node.pred]
        return f"{p.field} {p.op} {'|'.join(p.values)}"
    if isinstance(node, Not):
        return ("not", _render(rule, node.child))
    return ("and" if isinstance(node, And) else "or", [_render(rule, c) for c in node.children])


def test_security_content_gate(shared_corpus):
    """At least 98% of the detections yield a filter-stage predicate; none fails to parse."""
    root = _splunk(shared_corpus)
    files = sorted((root / "detections").rglob("*.yml"))
    empty, errors = [], []
    for f in files:
        text = f.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        assert looks_like_splunk(data), f
        res = load_splunk(str(f), data, text, MacroTable.for_rule(str(f)))
        if any(x.code == "RL001" for x in res.findings):
            errors.append(f"{f.name}: {res.findings[0].message}")
        elif not res.rules[0].extra["filter_predicates"]:
            empty.append(f.name)
    ok = len(files) - len(empty) - len(errors)
    assert ok >= 0.98 * len(files), f"{ok}/{len(files)}; errors: {errors}; no predicates: {empty}"
    assert len(errors) <= 0.005 * len(files), errors


def test_tstats_where(shared_corpus):
    rule = _load(_splunk(shared_corpus), "endpoint/cmdline_tool_not_executed_in_cmd_shell.yml").rules[0]
    assert rule.logsource.category == "process_creation"
    tree = _render(rule)
    assert tree[0] == "and"
    assert "Processes.process_name eq whoami.exe" in tree[1][0][1]
    assert tree[1][1][0] == "not" and "Processes.parent_process_name starts_with powershell" in tree[1][1][1][1]
    assert rule.extra["filter_macro"] == "cmdline_tool_not_executed_in_cmd_shell_filter"


def test_plain_search_with_source_macro(shared_corpus):
    rule = _load(_splunk(shared_corpus), "application/windows_ad_object_owner_updated.yml").rules[0]
    tree = _render(rule)
    # `wineventlog_security` is an OR of sources, ANDed with the EventCode as Splunk expands it.
    assert tree[0] == "and" and tree[1][0][0] == "or"
    assert "EventCode eq 5136" in tree[1]
    assert rule.logsource.key() == "windows/security"


def test_where_after_search(shared_corpus):
    rule = _load(_splunk(shared_corpus), "application/windows_ad_add_self_to_group.yml").rules[0]
    assert "user fieldref src_user" in _render(rule)[1]
    p = next(p for p in rule.predicates if p.op == "fieldref")
    assert p.notes == () and p.case_sensitive


def test_computed_column_after_eval(shared_corpus):
    rule = _load(_splunk(shared_corpus), "cloud/aws_createaccesskey.yml").rules[0]
    match = next(p for p in rule.predicates if p.field == "match")
    assert match.notes == ("computed",)
    assert ("not", "userAgent eq console.amazonaws.com") in _render(rule)[1]


def test_group_by_filter_after_tstats(shared_corpus):
    rule = _load(_splunk(shared_corpus), "deprecated/windows_hosts_file_modification.yml").rules[0]
    assert [(p.field, p.op, p.notes) for p in rule.predicates] == [
        ("Filesystem.file_name", "eq", ("group_by",)), ("Filesystem.file_path", "contains", ("group_by",))]


def test_multiline_search_lines(shared_corpus):
    rule = _load(_splunk(shared_corpus), "endpoint/sunburst_correlation_dll_and_network_event.yml").rules[0]
    lines = {p.field: p.line for p in rule.predicates}
    assert lines["ImageLoaded"] == rule.logic_line and lines["QueryName"] == rule.logic_line + 1
