"""Predicate implication and disjointness with operator semantics, checked against the
values that pass each test."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rulelint.analysis.implication import Atom, atom_implies, atoms_disjoint, single_valued
from rulelint.analysis.logic_view import LogicView, branch_implies, rule_implies
from rulelint.loaders.sigma import load_sigma_text
from rulelint.model.canonical import canonicalize
from rulelint.model.predicate import value_passes


def atom(op: str, *values: str, field: str = "process.command_line", cs: bool = False, **kw) -> Atom:
    return Atom(field, op, frozenset(values), cs, **kw)


# -- operator semantics ---------------------------------------------------------

def test_contains_covers_a_longer_substring():
    assert atom_implies(atom("contains", "apt-get"), atom("contains", "apt"))
    assert not atom_implies(atom("contains", "apt"), atom("contains", "apt-get"))


def test_equality_implies_every_string_test_it_passes():
    full = atom("eq", "c:\\windows\\system32\\certutil.exe", field="process.executable")
    for op, value in (("ends_with", "\\certutil.exe"), ("starts_with", "c:\\windows\\"),
                      ("contains", "system32"), ("wildcard", "?:\\windows\\\\*\\certutil.exe")):
        assert atom_implies(full, atom(op, value, field="process.executable")), op
    assert not atom_implies(full, atom("ends_with", "\\cmd.exe", field="process.executable"))


def test_a_full_path_implies_its_name():
    full = atom("eq", "c:\\windows\\system32\\certutil.exe", field="process.executable")
    assert atom_implies(full, atom("eq", "certutil.exe", field="process.name"))
    assert not atom_implies(full, atom("eq", "cmd.exe", field="process.name"))
    # Patterns write a backslash before a wildcard doubled (`\\*` would be a literal star).
    assert atom_implies(atom("wildcard", "?:\\windows\\\\*\\certutil.exe", field="process.executable"),
                        atom("eq", "certutil.exe", field="process.name"))
    # A pattern whose last component holds a wildcard names no file.
    assert not atom_implies(atom("wildcard", "?:\\windows\\*.exe", field="process.executable"),
                            atom("eq", "certutil.exe", field="process.name"))


def test_prefixes_suffixes_and_wildcards():
    assert atom_implies(atom("starts_with", "c:\\windows\\temp\\"), atom("starts_with", "c:\\windows\\"))
    assert atom_implies(atom("ends_with", "\\temp\\x.ps1"), atom("ends_with", ".ps1"))
    assert atom_implies(atom("starts_with", "powershell -enc"), atom("contains", "-enc"))
    assert atom_implies(atom("wildcard", "*invoke-*expression*"), atom("contains", "expression"))
    assert not atom_implies(atom("wildcard", "*invoke-*expression*"), atom("contains", "invoke-expression"))


def test_a_shorter_value_list_is_narrower():
    assert atom_implies(atom("eq", "a.exe", field="process.name"), atom("eq", "a.exe", "b.exe", field="process.name"))
    assert not atom_implies(atom("eq", "a.exe", "c.exe", field="process.name"),
                            atom("eq", "a.exe", "b.exe", field="process.name"))


def test_case_insensitive_covers_case_sensitive_not_the_reverse():
    cased, folded = atom("eq", "CMD.EXE", field="process.name", cs=True), atom("eq", "cmd.exe", field="process.name")
    assert atom_implies(cased, folded)
    assert not atom_implies(folded, atom("eq", "cmd.exe", field="process.name", cs=True))
    # Without letters, case does not matter.
    assert atom_implies(atom("eq", "4624", field="event.code"), atom("eq", "4624", field="event.code", cs=True))


def test_exists_covers_any_positive_test_but_not_a_null_test():
    present = atom("exists", "")
    assert atom_implies(atom("contains", "x"), present)
    assert not atom_implies(atom("is_null", ""), present)
    assert not atom_implies(present, atom("contains", "x"))


def test_numbers_cidr_and_opaque_atoms():
    port = "destination.port"
    assert atom_implies(atom("gt", "1024", field=port), atom("ge", "1000", field=port))
    assert atom_implies(atom("eq", "8080", field=port), atom("gt", "1024", field=port))
    assert not atom_implies(atom("lt", "10", field=port), atom("gt", "1", field=port))
    ip = "destination.ip"
    assert atom_implies(atom("cidr", "10.1.0.0/16", field=ip), atom("cidr", "10.0.0.0/8", field=ip))
    assert atom_implies(atom("eq", "10.1.2.3", field=ip), atom("cidr", "10.0.0.0/8", field=ip))
    computed = atom("ge", "5", field="count", opaque=True)
    assert atom_implies(computed, computed) and not atom_implies(computed, atom("ge", "1", field="count", opaque=True))


def test_scopes_never_meet():
    step1, step2 = atom("eq", "a.exe", scope="step1"), atom("eq", "a.exe", scope="step2")
    assert not atom_implies(step1, step2) and not atoms_disjoint(step1, atom("eq", "b.exe", scope="step2"))


# -- disjointness ---------------------------------------------------------------

def test_disjoint_values_of_one_field():
    name = "process.name"
    assert atoms_disjoint(atom("eq", "a.exe", field=name), atom("eq", "b.exe", field=name))
    assert atoms_disjoint(atom("starts_with", "c:\\windows\\"), atom("eq", "d:\\x.exe"))
    assert atoms_disjoint(atom("ends_with", ".exe"), atom("ends_with", ".dll"))
    assert atoms_disjoint(atom("gt", "10", field="n"), atom("lt", "5", field="n"))
    assert atoms_disjoint(atom("is_null", ""), atom("contains", "x"))
    assert not atoms_disjoint(atom("contains", "a"), atom("contains", "b"))
    assert not atoms_disjoint(atom("eq", "a.exe", field=name), atom("eq", "a.exe", "b.exe", field=name))
    assert not atoms_disjoint(atom("ge", "5", field="n"), atom("le", "5", field="n"))


def test_case_folding_in_disjointness():
    name = "process.name"
    assert not atoms_disjoint(atom("eq", "CMD.EXE", field=name, cs=True), atom("eq", "cmd.exe", field=name))
    assert atoms_disjoint(atom("eq", "CMD.EXE", field=name, cs=True), atom("eq", "cmd.exe", field=name, cs=True))


def test_array_fields_are_not_single_valued():
    assert single_valued(atom("eq", "x", field="process.name"))
    for field in ("process.args", "event.type", "event.category", "tags", "(keyword)"):
        assert not single_valued(atom("eq", "x", field=field)), field


# -- soundness against concrete values ----------------------------------------------

TEXT = st.text(alphabet="ab\\.", max_size=5)
OPS = st.sampled_from(("eq", "contains", "starts_with", "ends_with"))


@settings(max_examples=400, deadline=None)
@given(OPS, TEXT, OPS, TEXT, TEXT)
def test_implication_and_disjointness_are_sound(op_a, va, op_b, vb, event):
    a, b = atom(op_a, va), atom(op_b, vb)
    passes_a, passes_b = value_passes(event, op_a, va), value_passes(event, op_b, vb)
    if atom_implies(a, b) and passes_a:
        assert passes_b
    if atoms_disjoint(a, b):
        assert not (passes_a and passes_b)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=3), st.lists(TEXT, min_size=1, max_size=3), TEXT)
def test_value_lists_are_or_of_values(vals_a, vals_b, event):
    a, b = atom("contains", *vals_a), atom("contains", *vals_b)
    if atom_implies(a, b) and any(v in event for v in vals_a):
        assert any(v in event for v in vals_b)


# -- branches with exclusions ----------------------------------------------------------

def view(detection: str) -> LogicView:
    text = ("title: t\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n"
            + "".join(f"  {line}\n" for line in detection.strip("\n").splitlines()))
    rule = load_sigma_text("t.yml", text).rules[0]
    canonicalize(rule)
    return LogicView(rule)


def test_a_broader_rule_with_an_exclusion_the_narrower_cannot_meet():
    broad = view("""
sel:
  CommandLine|contains: 'http'
filter:
  ParentImage|endswith: '\\wuauclt.exe'
condition: sel and not filter
""")
    narrow = view("""
sel:
  CommandLine|contains: 'http://'
  ParentImage|endswith: '\\winword.exe'
condition: sel
""")
    unfiltered = view("""
sel:
  CommandLine|contains: 'http://'
condition: sel
""")
    assert rule_implies(narrow, broad)
    assert not rule_implies(unfiltered, broad)  # the broader rule drops what this one keeps
    assert rule_implies(broad, unfiltered) is None  # ... and 'http' is not inside 'http://'


def test_value_list_and_separate_selections_compare_alike():
    listed = view("""
sel:
  Image|endswith: ['\\a.exe', '\\b.exe']
condition: sel
""")
    split = view("""
sel_a:
  Image|endswith: '\\a.exe'
sel_b:
  Image|endswith: '\\b.exe'
condition: 1 of sel_*
""")
    assert rule_implies(listed, split) and rule_implies(split, listed)
    assert len(split.branches) == 2 and len(split.merged()) == 1


def test_branch_implication_needs_every_test_of_the_broader_branch():
    v = view("""
sel_img:
  Image|endswith: '\\rundll32.exe'
sel_cli:
  Image|endswith: '\\rundll32.exe'
  CommandLine|contains: 'javascript:'
condition: 1 of sel_*
""")
    wide, narrow = sorted(v.branches, key=lambda b: len(b.atoms))
    assert branch_implies(narrow, wide) and not branch_implies(wide, narrow)


def test_hostile_sizes_stay_bounded():
    """Two 5,000-value lists on one field, and an OR of 400 selections: judged without enumerating every pair."""
    from rulelint.analysis.dead_logic import dead_logic

    big_a = atom("ends_with", *(f"\\{i}.exe" for i in range(5000)))
    big_b = atom("starts_with", *(f"c:\\{i}\\" for i in range(5000)))
    assert not atoms_disjoint(big_a, big_b)  # too many pairs to judge: never a contradiction
    assert not atom_implies(big_a, big_b)
    selections = "".join(f"s{i}:\n  CommandLine|contains: 'flag{i % 200}'\n" for i in range(400))
    v = view(selections + "condition: 1 of s*\n")
    found = dead_logic(v.rule, v)
    assert len(found.redundant) == 200  # each value is listed twice: the repeats add nothing
