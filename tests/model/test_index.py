"""CorpusIndex over a handful of small Sigma rules (plus two hand-made ones for vendors/aliases)."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import pytest

from rulelint.loaders.sigma import load_sigma_text
from rulelint.model.index import VENDORS, CorpusIndex
from rulelint.model.predicate import IndicatorKey, Predicate
from rulelint.model.rule import LogSource, NormalizedRule
from rulelint.model.tree import And, Leaf

ID_A = "0a000000-0000-4000-8000-00000000000a"
ID_B = "0b000000-0000-4000-8000-00000000000b"
ID_C = "0c000000-0000-4000-8000-00000000000c"
ID_E = "0e000000-0000-4000-8000-00000000000e"

RULE_A = f"""
title: Encoded PowerShell
id: {ID_A}
name: encoded_powershell
status: test
level: high
logsource:
  product: windows
  category: process_creation
tags:
  - attack.execution
  - attack.t1059.001
detection:
  selection:
    Image|endswith: '\\powershell.exe'
    CommandLine|contains: '-enc'
  filter_explorer:
    ParentImage: 'C:\\Windows\\explorer.exe'
  condition: selection and not filter_explorer
"""

RULE_B = f"""
title: PowerShell Download Cradle
id: {ID_B}
logsource:
  product: windows
  category: process_creation
tags:
  - attack.t1059.001
  - attack.t1105
detection:
  selection:
    Image|endswith: '\\PowerShell.exe'
    CommandLine|contains:
      - '-enc'
      - 'downloadstring'
  condition: selection
"""

RULE_C = f"""
title: Rundll32 Without PowerShell Parent
id: {ID_C}
logsource:
  product: windows
  category: process_creation
tags:
  - attack.t1218.011
detection:
  selection:
    Image|endswith: '\\rundll32.exe'
  filter:
    Image|endswith: '\\powershell.exe'
  condition: selection and not filter
"""

# No id: keyed by path#index. Uses `-enc` both positively and under a NOT.
RULE_D = """
title: Linux Encoded Command
logsource:
  product: linux
  category: process_creation
detection:
  selection:
    CommandLine|contains: '-enc'
  filter:
    CommandLine|contains: '-enc'
    User: root
  condition: selection and not filter
"""

CORRELATION_E = f"""
title: Many Encoded PowerShell Runs
id: {ID_E}
correlation:
  type: event_count
  rules:
    - encoded_powershell
    - {ID_B}
  group-by:
    - User
  timespan: 10m
  condition:
    gte: 5
"""

PS = IndicatorKey("Image", "ends_with", "\\powershell.exe")
ENC = IndicatorKey("CommandLine", "contains", "-enc")
DL = IndicatorKey("CommandLine", "contains", "downloadstring")
EXPLORER = IndicatorKey("ParentImage", "eq", "c:\\windows\\explorer.exe")
RUNDLL = IndicatorKey("Image", "ends_with", "\\rundll32.exe")
ROOT = IndicatorKey("User", "eq", "root")
D_KEY = "rules/linux/d.yml#0"


def load(path: str, text: str) -> NormalizedRule:
    res = load_sigma_text(path, text)
    assert res.findings == []
    assert len(res.rules) == 1
    return res.rules[0]


def elastic_rule() -> NormalizedRule:
    """A hand-made rule as another vendor's loader would produce it."""
    return NormalizedRule(
        key="elastic-ps", id="elastic-ps", title="Elastic PowerShell", vendor="elastic",
        path="elastic/ps.toml", techniques=["T1059.001"],
        logsource=LogSource("windows", "process_creation"),
        predicates=[
            Predicate("Image", "ends_with", ("\\powershell.exe",), native_field="process.executable",
                      native=(IndicatorKey("process.executable", "ends_with", "\\powershell.exe"),)),
            Predicate("CommandLine", "contains", ("-enc",), native_field="process.command_line",
                      native=(IndicatorKey("process.command_line", "contains", "-enc"),)),
        ],
        tree=And([Leaf(0), Leaf(1)]),
    )


def splunk_rule() -> NormalizedRule:
    return NormalizedRule(
        key="splunk-ps", id="", title="Splunk PowerShell", vendor="splunk", path="splunk/ps.yml",
        logsource=LogSource("windows", "process_creation"),
        predicates=[Predicate("Image", "ends_with", ("\\powershell.exe",), native_field="Processes.process_path",
                              native=(IndicatorKey("Processes.process_path", "ends_with", "\\powershell.exe"),))],
        tree=Leaf(0),
        extra={"name": "Splunk PowerShell Search"},
    )


@pytest.fixture(scope="module")
def rules() -> dict[str, NormalizedRule]:
    return {
        "A": load("rules/windows/a.yml", RULE_A),
        "B": load("rules/windows/b.yml", RULE_B),
        "C": load("rules/windows/c.yml", RULE_C),
        "D": load("rules/linux/d.yml", RULE_D),
        "E": load("rules/windows/e.yml", CORRELATION_E),
    }


@pytest.fixture(scope="module")
def index(rules) -> CorpusIndex:
    return CorpusIndex(rules.values())


@pytest.fixture(scope="module")
def mixed(rules) -> CorpusIndex:
    return CorpusIndex([*rules.values(), elastic_rule(), splunk_rule()])


# -- the loaded rules are what the tests assume ------------------------------------

def test_fixture_rules(rules):
    assert rules["A"].key == ID_A
    assert rules["D"].key == D_KEY
    assert rules["E"].kind == "correlation"
    assert rules["A"].positive_keys() == {PS, ENC}
    assert rules["A"].excluded_keys() == {EXPLORER}
    assert rules["B"].positive_keys() == {PS, ENC, DL}  # case folded
    assert rules["C"].excluded_keys() == {PS}
    assert rules["D"].positive_keys() == {ENC}
    assert rules["D"].excluded_keys() == {ENC, ROOT}


# -- usage and reach --------------------------------------------------------------

def test_len(index, mixed):
    assert len(index) == 5
    assert len(mixed) == 7


def test_usage_by_polarity(index):
    assert index.usage[PS].positive == {ID_A, ID_B}
    assert index.usage[PS].excluded == {ID_C}
    assert index.usage[PS].rules == {ID_A, ID_B, ID_C}
    assert index.usage[ENC].positive == {ID_A, ID_B, D_KEY}
    assert index.usage[ENC].excluded == {D_KEY}


def test_reach_counts_distinct_rules_positive_or_excluded(index):
    assert index.reach(PS) == 3  # two positive, one excluding
    assert index.reach(ENC) == 3  # D uses it both ways and counts once
    assert index.reach(DL) == 1
    assert index.reach(EXPLORER) == 1
    assert index.reach(ROOT) == 1
    assert index.reach(IndicatorKey("Image", "ends_with", "\\cmd.exe")) == 0
    # Operator and field are part of the key.
    assert index.reach(IndicatorKey("Image", "contains", "\\powershell.exe")) == 0
    assert index.reach(IndicatorKey("ParentImage", "ends_with", "\\powershell.exe")) == 0


def test_reach_exclude_removes_one_rule(index):
    assert index.reach(PS, exclude=ID_A) == 2
    assert index.reach(PS, exclude=ID_C) == 2  # an excluding rule is removed too
    assert index.reach(ENC, exclude=D_KEY) == 2  # counted once, removed once
    assert index.reach(PS, exclude=D_KEY) == 3  # D does not use it
    assert index.reach(PS, exclude="no-such-rule") == 3
    assert index.reach(DL, exclude=ID_B) == 0
    assert index.reach(IndicatorKey("x", "eq", "y"), exclude=ID_A) == 0


def test_reach_ignores_correlations_without_predicates(index):
    assert all(ID_E not in u.rules for u in index.usage.values())


def test_vendor_counts(index, mixed):
    assert index.vendor_counts(PS) == {"sigma": 3, "elastic": 0, "splunk": 0}
    assert mixed.vendor_counts(PS) == {"sigma": 3, "elastic": 1, "splunk": 1}
    assert mixed.vendor_counts(ENC) == {"sigma": 3, "elastic": 1, "splunk": 0}
    assert mixed.vendor_counts(IndicatorKey("nope", "eq", "x")) == {v: 0 for v in VENDORS}
    assert tuple(mixed.vendor_counts(PS)) == VENDORS
    assert mixed.reach(PS) == 5


def test_aliases_are_native_field_names_most_used_first(index, mixed):
    assert index.aliases(PS) == ["Image"]
    assert index.aliases(EXPLORER) == ["ParentImage"]
    assert mixed.aliases(PS) == ["Image", "Processes.process_path", "process.executable"]
    assert mixed.aliases(ENC) == ["CommandLine", "process.command_line"]
    assert mixed.aliases(IndicatorKey("nope", "eq", "x")) == []


def test_written_forms_and_display(mixed):
    forms = mixed.native_forms(PS)
    assert forms[0] == PS and len(forms) == 3  # Sigma's form is written by 3 rules
    assert IndicatorKey("Processes.process_path", "ends_with", "\\powershell.exe") in forms
    assert mixed.display(PS) == PS
    assert mixed.display(IndicatorKey("nope", "eq", "x")) == IndicatorKey("nope", "eq", "x")


def test_by_technique_and_logsource(index):
    assert index.by_technique["T1059.001"] == {ID_A, ID_B}
    assert index.by_technique["T1105"] == {ID_B}
    assert index.by_technique["T1218.011"] == {ID_C}
    assert "T1218" not in index.by_technique
    assert index.by_logsource["windows/process_creation"] == {ID_A, ID_B, ID_C}
    assert index.by_logsource["linux/process_creation"] == {D_KEY}
    assert index.by_logsource["(any)"] == {ID_E}


def test_resolve_reference(index, rules, mixed):
    assert index.resolve_reference(ID_A) is rules["A"]
    assert index.resolve_reference("encoded_powershell") is rules["A"]
    assert index.resolve_reference(ID_B) is rules["B"]
    assert index.resolve_reference("no_such_rule") is None
    assert index.resolve_reference("") is None
    assert mixed.resolve_reference("Splunk PowerShell Search").key == "splunk-ps"
    # Rules without an id are not found by their key.
    assert index.resolve_reference(D_KEY) is None


def test_later_rule_with_same_id_replaces_earlier():
    first = load("one/a.yml", RULE_A)
    second = load("two/a.yml", RULE_A.replace("Encoded PowerShell", "Other Title"))
    # Same key: the later rule replaces the earlier one in `rules`.
    idx = CorpusIndex([first, second])
    assert len(idx) == 1
    assert idx.resolve_reference(ID_A).title == "Other Title"
    assert idx.reach(PS) == 1


# -- graph ----------------------------------------------------------------------------

def test_graph_nodes(index):
    g = index.graph
    assert isinstance(g, nx.Graph)
    kinds = Counter(n[0] for n in g.nodes)
    assert set(kinds) == {"rule", "indicator", "field", "technique", "logsource"}
    assert kinds["rule"] == 5
    assert {n[1] for n in g.nodes if n[0] == "indicator"} == {PS, ENC, DL, EXPLORER, RUNDLL, ROOT}
    assert {n[1] for n in g.nodes if n[0] == "field"} == {"Image", "CommandLine", "ParentImage", "User"}
    assert {n[1] for n in g.nodes if n[0] == "technique"} == {"T1059.001", "T1105", "T1218.011"}
    assert {n[1] for n in g.nodes if n[0] == "logsource"} == {
        "windows/process_creation", "linux/process_creation", "(any)"}
    assert g.nodes[("rule", ID_A)]["vendor"] == "sigma"
    assert index.graph is g  # built once


def test_graph_edges(index):
    g = index.graph
    assert g.has_edge(("rule", ID_A), ("technique", "T1059.001"))
    assert g.has_edge(("rule", ID_B), ("technique", "T1105"))
    assert g.has_edge(("rule", D_KEY), ("logsource", "linux/process_creation"))
    assert g.has_edge(("indicator", PS), ("field", "Image"))
    assert g.has_edge(("indicator", ENC), ("field", "CommandLine"))
    assert not g.has_edge(("rule", ID_C), ("technique", "T1059.001"))


def test_graph_polarity_on_edges(index):
    g = index.graph
    assert g.edges[("rule", ID_A), ("indicator", PS)]["polarity"] == "positive"
    assert g.edges[("rule", ID_B), ("indicator", PS)]["polarity"] == "positive"
    assert g.edges[("rule", ID_C), ("indicator", PS)]["polarity"] == "excluded"
    assert g.edges[("rule", ID_A), ("indicator", EXPLORER)]["polarity"] == "excluded"
    assert g.edges[("rule", D_KEY), ("indicator", ROOT)]["polarity"] == "excluded"
    # Used both ways: positive wins.
    assert g.edges[("rule", D_KEY), ("indicator", ENC)]["polarity"] == "positive"
    # Every rule-indicator edge has a polarity.
    for u, v, data in g.edges(data=True):
        if {u[0], v[0]} == {"rule", "indicator"}:
            assert data["polarity"] in ("positive", "excluded")


def test_graph_correlation_edges(index):
    g = index.graph
    assert g.edges[("rule", ID_E), ("rule", ID_A)]["relation"] == "correlates"
    assert g.edges[("rule", ID_E), ("rule", ID_B)]["relation"] == "correlates"
    assert not g.has_edge(("rule", ID_E), ("rule", ID_C))


def test_rules_sharing_indicators(index, rules):
    a = rules["A"]
    shared = index.rules_sharing_indicators(a, a.positive_keys())
    assert shared == Counter({ID_B: 2, ID_C: 1, D_KEY: 1})
    assert ID_A not in shared
    assert index.rules_sharing_indicators(a, [EXPLORER]) == Counter()
    assert index.rules_sharing_indicators(a, [IndicatorKey("x", "eq", "y")]) == Counter()
    assert index.rules_sharing_indicators(rules["D"], [ENC, ROOT]) == Counter({ID_A: 1, ID_B: 1})
    assert index.rules_sharing_indicators(rules["C"], [RUNDLL, PS]) == Counter({ID_A: 1, ID_B: 1})
