"""One indicator whoever wrote it: canonical fields and equivalent values across vendors."""

from __future__ import annotations

import textwrap

import pytest

from rulelint.loaders import load_file
from rulelint.model.canonical import canonicalize, equivalent
from rulelint.model.index import CorpusIndex
from rulelint.model.predicate import IndicatorKey, Predicate
from rulelint.model.rule import LogSource, NormalizedRule
from rulelint.model.tree import And, Leaf, Not, Or

from ..conftest import sigma_rule

CMD = IndicatorKey("process.name", "eq", "cmd.exe")

SIGMA = sigma_rule("cmd", """
    selection:
      Image|endswith: '\\cmd.exe'
    condition: selection
""")

EQL = textwrap.dedent('''\
    [rule]
    name = "cmd eql"
    rule_id = "eql-cmd"
    type = "eql"
    language = "eql"
    query = \'\'\'
    process where process.name : "cmd.exe"
    \'\'\'
    ''')

KQL = EQL.replace("eql-cmd", "kql-cmd").replace('"eql"', '"kuery"').replace(
    'process where process.name : "cmd.exe"', "process.name: cmd.exe").replace('type = "kuery"', 'type = "query"')

SPL = textwrap.dedent("""\
    name: cmd spl
    id: spl-cmd
    type: TTP
    search: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe
      by Processes.dest'
    """)


@pytest.fixture
def four(tmp_path):
    files = {"s.yml": SIGMA, "e.toml": EQL, "k.toml": KQL, "p.yml": SPL}
    rules = []
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        res = load_file(str(tmp_path / name))
        assert res.findings == [], res.findings
        rules.extend(res.rules)
    return rules


def test_four_vendors_write_one_indicator(four):
    assert [r.vendor for r in four] == ["sigma", "elastic", "elastic", "splunk"]
    for r in four:
        assert r.positive_keys() == {CMD}, r.vendor
    index = CorpusIndex(four)
    assert index.reach(CMD) == 4
    assert index.vendor_counts(CMD) == {"sigma": 1, "elastic": 2, "splunk": 1}
    assert index.aliases(CMD) == ["process.name", "Image", "Processes.process_name"]  # most used first
    # Messages quote the rule's own form.
    sigma = four[0]
    assert sigma.written(CMD) == IndicatorKey("Image", "ends_with", "\\cmd.exe")
    assert sigma.predicates[0].describe() == "Image ends_with '\\cmd.exe'"


def test_eql_double_equals_keeps_case(tmp_path):
    text = EQL.replace('process.name : "cmd.exe"', 'process.name == "CMD.exe"')
    (tmp_path / "e.toml").write_text(text)
    [r] = load_file(str(tmp_path / "e.toml")).rules
    assert r.positive_keys() == {IndicatorKey("process.name", "eq", "CMD.exe")}


@pytest.mark.parametrize("field,op,value,expected", [
    ("process.executable", "ends_with", "\\cmd.exe", ("process.name", "eq", "cmd.exe")),
    ("process.executable", "ends_with", "/curl", ("process.name", "eq", "curl")),
    ("process.executable", "ends_with", "cmd.exe", ("process.name", "ends_with", "cmd.exe")),
    ("process.parent.executable", "ends_with", "\\explorer.exe", ("process.parent.name", "eq", "explorer.exe")),
    ("file.path", "ends_with", "\\lsass.dmp", ("file.name", "eq", "lsass.dmp")),
    # A directory and a name, a bare separator, or another operator: the path stays.
    ("process.executable", "ends_with", "\\system32\\cmd.exe", ("process.executable", "ends_with", "\\system32\\cmd.exe")),
    ("process.executable", "ends_with", "\\", ("process.executable", "ends_with", "\\")),
    ("process.executable", "contains", "\\cmd.exe", ("process.executable", "contains", "\\cmd.exe")),
    ("process.executable", "eq", "c:\\windows\\system32\\cmd.exe", ("process.executable", "eq", "c:\\windows\\system32\\cmd.exe")),
    # Fields without a name counterpart are left alone.
    ("process.command_line", "ends_with", "\\x.exe", ("process.command_line", "ends_with", "\\x.exe")),
])
def test_equivalent(field, op, value, expected):
    assert equivalent(field, op, value) == expected


def test_values_that_split_across_fields_become_an_or():
    rule = NormalizedRule(
        key="r", id="r", title="t", vendor="sigma", path="r.yml", logsource=LogSource("windows", "process_creation"),
        predicates=[
            Predicate("Image", "ends_with", ("\\cmd.exe", "\\temp\\x.exe", "\\pwsh.exe"), line=7, native_field="Image"),
            Predicate("CommandLine", "contains", ("-enc",), line=8, native_field="CommandLine"),
        ],
        tree=And([Leaf(0), Not(Leaf(1))]),
    )
    canonicalize(rule)
    first, cmdline, second = rule.predicates
    assert (first.field, first.op, first.values) == ("process.name", "eq", ("cmd.exe", "pwsh.exe"))
    assert first.native == (IndicatorKey("Image", "ends_with", "\\cmd.exe"), IndicatorKey("Image", "ends_with", "\\pwsh.exe"))
    assert (second.field, second.op, second.values, second.line) == (
        "process.executable", "ends_with", ("\\temp\\x.exe",), 7)
    assert second.native_keys() == (IndicatorKey("Image", "ends_with", "\\temp\\x.exe"),)
    assert (cmdline.field, cmdline.native_field) == ("process.command_line", "CommandLine")
    # Written in canonical terms already: nothing extra is kept.
    plain = NormalizedRule(key="p", id="p", title="t", vendor="elastic", path="p.toml",
                           predicates=[Predicate("process.name", "eq", ("x.exe",), native_field="process.name")],
                           tree=Leaf(0))
    canonicalize(plain)
    assert plain.predicates[0].native == ()
    assert rule.tree == And([Or([Leaf(0), Leaf(2)]), Not(Leaf(1))])
    assert rule.excluded_keys() == {IndicatorKey("process.command_line", "contains", "-enc")}
    assert len(rule.positive_keys()) == 3


def test_keyword_predicates_stay_keywords():
    rule = NormalizedRule(key="k", id="k", title="t", vendor="sigma", path="k.yml",
                          predicates=[Predicate("(keyword)", "contains", ("mimikatz",), native_field="(keyword)")],
                          tree=Leaf(0))
    canonicalize(rule)
    assert rule.predicates[0].field == "(keyword)"
