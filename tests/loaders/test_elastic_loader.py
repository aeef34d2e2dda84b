"""Elastic detection-rules TOML: metadata, ATT&CK, every query language, filters, errors,
and the whole Elastic corpus."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from rulelint.loaders import discover, load_file, load_paths
from rulelint.loaders.event_query import parse_eql
from rulelint.loaders.query import PredicateSink, QueryError
from rulelint.model.tree import And, Leaf, Not, Or


def toml_rule(query: str, *, language: str = "eql", rtype: str = "eql", extra: str = "", threat: str = "") -> str:
    return textwrap.dedent("""\
        [metadata]
        maturity = "production"

        [rule]
        name = "Example"
        rule_id = "6c1e0f2a-0000-4000-8000-000000000001"
        severity = "medium"
        tags = ["OS: Windows", "Domain: Endpoint"]
        type = "{rtype}"
        language = "{language}"
        {extra}
        query = '''
        {query}
        '''
        {threat}
        """).format(rtype=rtype, language=language, extra=extra, query=query, threat=threat)


THREAT = '''
[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1219"
name = "Remote Access Tools"
[[rule.threat.technique.subtechnique]]
id = "T1219.002"
name = "Remote Desktop Software"
[rule.threat.tactic]
id = "TA0011"
name = "Command and Control"
'''


def load(tmp_path: Path, text: str, name: str = "r.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return load_file(str(p))


def preds(rule):
    return [(p.field, p.op, p.values) for p in rule.predicates]


def test_metadata_and_attack(tmp_path):
    res = load(tmp_path, toml_rule('process where process.name : "anydesk.exe"', threat=THREAT))
    [r] = res.rules
    assert res.findings == []
    assert (r.vendor, r.id, r.key, r.title, r.level, r.status) == (
        "elastic", "6c1e0f2a-0000-4000-8000-000000000001", "6c1e0f2a-0000-4000-8000-000000000001",
        "Example", "medium", "production")
    assert r.techniques == ["T1219", "T1219.002"]
    assert r.tactics == ["command-and-control"]
    assert r.extra["technique_names"]["T1219.002"] == "Remote Desktop Software"
    assert r.logsource.key() == "windows/process_creation"
    assert r.line == 5 and r.logic_line == 12
    assert r.predicates[0].line == 13  # the query starts on the line after `query = '''`


def test_eql_operators_and_case(tmp_path):
    q = ('process where event.type == "start" and process.name : ("CMD.exe", "*x*") and '
         'process.args like~ "A*" and process.executable like "C:\\\\Temp\\\\*" and '
         'process.pe.original_file_name in~ ("Cmd.Exe") and process.parent.name in ("Explorer.EXE") and '
         'process.command_line regex~ ".*-enc.*" and process.args_count >= 3 and ?user.id != "S-1-5-18"')
    [r] = load(tmp_path, toml_rule(q)).rules
    got = {(p.field, p.op): (p.values, p.case_sensitive) for p in r.predicates}
    assert got[("event.type", "eq")] == (("start",), True)  # == keeps case
    assert got[("process.name", "eq")] == (("cmd.exe",), False)  # `:` folds case
    assert got[("process.name", "contains")] == (("x",), False)
    assert got[("process.args", "starts_with")] == (("a",), False)  # like~ folds
    assert got[("process.executable", "starts_with")] == (("C:\\Temp\\",), True)  # like keeps
    assert got[("process.pe.original_file_name", "eq")] == (("cmd.exe",), False)  # in~ folds
    assert got[("process.parent.name", "eq")] == (("Explorer.EXE",), True)  # in keeps
    assert got[("process.command_line", "regex_match")] == ((".*-enc.*",), False)
    assert got[("process.args_count", "ge")] == (("3",), False)
    assert isinstance(r.tree, And) and isinstance(r.tree.children[-1], Not)  # != is NOT ==


def test_eql_sequence_and_missing_event(tmp_path):
    q = ('sequence by host.id with maxspan=1m\n'
         '  [process where process.name : "winword.exe"]\n'
         '  [file where file.extension : "exe"]\n'
         '  ![network where destination.port == 443]')
    [r] = load(tmp_path, toml_rule(q)).rules
    assert preds(r) == [("process.name", "eq", ("winword.exe",)), ("file.extension", "eq", ("exe",)),
                        ("destination.port", "eq", ("443",))]
    assert r.tree == And([Leaf(0), Leaf(1), Not(Leaf(2))])
    assert [p.line for p in r.predicates] == [14, 15, 16]


def test_eql_sample_loads(tmp_path):
    q = 'sample by host.id\n  [process where process.name : "a.exe"]\n  [process where process.name : "b.exe"]'
    [r] = load(tmp_path, toml_rule(q)).rules
    assert r.tree == And([Leaf(0), Leaf(1)])


def test_eql_plugins_are_never_imported(tmp_path, monkeypatch):
    """eql imports every `eql_*` module on sys.path; a rules folder must not get code run."""
    (tmp_path / "eql_evil.py").write_text("raise SystemExit('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    node, event = parse_eql('process where process.name : "x"', PredicateSink())
    assert event == "process" and node == Leaf(0)


def test_eql_errors_are_query_errors():
    with pytest.raises(QueryError) as e:
        parse_eql('process where process.name : "x" and', PredicateSink())
    assert e.value.offset is not None and e.value.reason == "unexpected end of the query"
    assert "a field" in e.value.expected and "DQ_STRING" not in e.value.expected
    with pytest.raises(QueryError):
        parse_eql("sequence [process where true] ![file where true]", PredicateSink())  # no maxspan


def test_kql_query_rule_and_dns_category(tmp_path):
    q = "event.category:network and dns.question.name:*.anydesk.com and not process.name:chrome.exe"
    [r] = load(tmp_path, toml_rule(q, language="kuery", rtype="query")).rules
    assert r.logsource.key() == "windows/dns_query"
    assert ("dns.question.name", "ends_with", (".anydesk.com",)) in preds(r)
    assert r.excluded_keys() == {("process.name", "eq", "chrome.exe")}


def test_esql_with_embedded_kql_counts_lines_from_the_query(tmp_path):
    q = 'from logs-*\n| where KQL("""process.name:cmd.exe""") and user.name != "root"'
    [r] = load(tmp_path, toml_rule(q, language="esql", rtype="esql")).rules
    cmd = next(p for p in r.predicates if p.field == "process.name")
    assert cmd.values == ("cmd.exe",) and cmd.line == 14


def test_lucene(tmp_path):
    q = "process.name:chmod AND process.args:(g+s OR /2[0-9]{3}/) AND NOT user.name:root"
    [r] = load(tmp_path, toml_rule(q, language="lucene", rtype="query")).rules
    assert ("process.args", "regex_match", ("2[0-9]{3}",)) in preds(r)
    assert r.excluded_keys() == {("user.name", "eq", "root")}


def test_machine_learning_rule_loads_without_predicates(tmp_path):
    text = textwrap.dedent("""\
        [rule]
        name = "Rare Process"
        rule_id = "6c1e0f2a-0000-4000-8000-000000000002"
        type = "machine_learning"
        machine_learning_job_id = ["rare_a", "rare_b"]
        """)
    res = load(tmp_path, text)
    [r] = res.rules
    assert r.predicates == [] and r.tree is None
    [f] = res.findings
    assert (f.name, f.severity, f.line, f.rule_id) == ("no-query-logic", "info", 2, r.id)
    assert "rare_a, rare_b" in f.message


def test_new_terms_threshold_and_threat_match_say_what_they_add(tmp_path):
    nt = toml_rule("event.category:process and process.name:cmd.exe", language="kuery", rtype="new_terms",
                   extra='[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ["host.id", "user.name"]\n')
    # `[rule.new_terms]` opens a table: the query must come before it.
    nt = nt.replace("[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"host.id\", \"user.name\"]\n", "")
    nt += '[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ["host.id", "user.name"]\n'
    [r] = load(tmp_path, nt, "nt.toml").rules
    assert r.beyond_query == "new terms of host.id, user.name"
    th = toml_rule("event.category:authentication", language="kuery", rtype="threshold")
    th += '[rule.threshold]\nfield = ["source.ip"]\nvalue = 25\n'
    [r] = load(tmp_path, th, "th.toml").rules
    assert r.beyond_query == "at least 25 events by source.ip"


def test_kibana_filters_join_the_query(tmp_path):
    text = toml_rule("url.path:*", language="kuery", rtype="query") + textwrap.dedent("""\
        [[rule.filters]]
        [rule.filters.meta]
        negate = true
        [rule.filters.exists]
        field = "user_agent.original"

        [[rule.filters]]
        [rule.filters.meta]
        negate = false
        [rule.filters.query.wildcard."file.path"]
        case_insensitive = true
        value = "?:\\\\\\\\Temp\\\\\\\\*"

        [[rule.filters]]
        [rule.filters.meta]
        disabled = true
        [rule.filters.exists]
        field = "ignored.field"
        """)
    [r] = load(tmp_path, text).rules
    assert preds(r) == [("url.path", "exists", ("",)), ("user_agent.original", "exists", ("",)),
                        ("file.path", "wildcard", ("?:\\temp\\\\*",))]
    assert r.tree == And([Leaf(0), Not(Leaf(1)), Leaf(2)])


@pytest.mark.parametrize("query,language,construct", [
    ('process where process.name : "x" and', "eql", "EQL"),
    ("process.name:(a or", "kuery", "KQL"),
    ("from x | where a ==", "esql", "ES|QL"),
    ("a:(b", "lucene", "Lucene"),
])
def test_bad_queries_are_parse_errors_with_lines(tmp_path, query, language, construct):
    res = load(tmp_path, toml_rule(query, language=language, rtype="query"))
    [f] = res.findings
    assert res.rules == [] and f.name == "parse-error" and construct in f.message
    assert f.line == 13 and f.column is not None and f"at line 13 column {f.column}" in f.message


def test_not_a_rule_and_bad_toml(tmp_path):
    assert load(tmp_path, '[project]\nname = "x"\n', "pyproject.toml").rules == []
    res = load(tmp_path, "[rule]\nname = 'x\n")
    [f] = res.findings
    assert f.name == "parse-error" and f.line == 2 and "invalid TOML" in f.message
    res = load(tmp_path, toml_rule("x", language="sql", rtype="query"))
    assert "unknown query language 'sql'" in res.findings[0].message


# -- the whole Elastic corpus ------------------------------------------------------

def test_elastic_corpus_gate(shared_corpus):
    """Every Elastic rule loads: EQL 1,081, KQL 792 (+9 threat queries), ES|QL 212, Lucene 1;
    machine-learning rules load without predicates and say why."""
    files = discover([str(shared_corpus / "elastic")])
    result = load_paths(files)
    assert [f.message for f in result.findings if f.name == "parse-error"] == []
    assert len(result.rules) == len(files) == 2192
    by_language = Counter(r.extra.get("language", "") for r in result.rules if r.predicates)
    assert by_language == {"eql": 1081, "kuery": 792, "esql": 212, "lucene": 1}
    no_logic = [f for f in result.findings if f.name == "no-query-logic"]
    assert len(no_logic) == sum(1 for r in result.rules if not r.predicates) == 106
    assert all(p.line for r in result.rules for p in r.predicates)
    with_techniques = sum(1 for r in result.rules if r.techniques)
    assert with_techniques > 1800
