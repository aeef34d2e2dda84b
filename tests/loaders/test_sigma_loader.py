"""Sigma loader: modifiers, wildcards, conditions, source lines, multi-document files, tags.

Every rule here is a small inline string. Expected lines are found with `line_no`, which
looks up a unique marker in the text, so the tests do not depend on hand-counted lines.
"""

from __future__ import annotations

import textwrap

import pytest

from rulelint.loaders.sigma import load_sigma_text
from rulelint.model.predicate import KEYWORD_FIELD
from rulelint.model.tree import And, Leaf, Not, Or, to_dict

PATH = "rules/test.yml"


# -- helpers -------------------------------------------------------------------

def rule_text(detection: str, *, head: str = "") -> str:
    """A minimal rule around an indented detection body (written at column 0)."""
    body = textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ")
    return (
        "title: Test rule\n"
        + textwrap.dedent(head)
        + "logsource:\n"
        "    product: windows\n"
        "    category: process_creation\n"
        "detection:\n"
        + body + "\n"
    )


def load_ok(text: str):
    """Load text that must give rules and no findings."""
    res = load_sigma_text(PATH, text)
    assert res.findings == [], [f.data for f in res.findings]
    assert res.rules
    return res


def one_rule(detection: str, **kw):
    text = rule_text(detection, **kw)
    res = load_ok(text)
    assert len(res.rules) == 1
    return res.rules[0], text


def line_no(text: str, marker: str, nth: int = 1) -> int:
    """1-based line of the nth line containing marker."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) >= nth, f"marker {marker!r} not found {nth} times"
    return hits[nth - 1]


def by_field(rule, field: str):
    preds = [p for p in rule.predicates if p.field == field]
    assert len(preds) == 1, f"{field}: {preds}"
    return preds[0]


def all_by_field(rule, field: str):
    return [p for p in rule.predicates if p.field == field]


def idx(rule, pred) -> int:
    return next(i for i, p in enumerate(rule.predicates) if p is pred)


# -- 1. modifiers ----------------------------------------------------------------

@pytest.mark.parametrize("key,value,op,expected", [
    ("CommandLine|contains", "Foo", "contains", "foo"),
    ("Image|startswith", "C:\\Temp", "starts_with", "c:\\temp"),
    ("Image|endswith", "\\CMD.exe", "ends_with", "\\cmd.exe"),
])
def test_string_position_modifiers(key, value, op, expected):
    rule, text = one_rule(f"""
        sel:
            {key}: '{value}'
        condition: sel
    """)
    assert len(rule.predicates) == 1
    p = rule.predicates[0]
    assert p.field == key.split("|")[0]
    assert p.native_field == key.split("|")[0]
    assert p.op == op
    assert p.values == (expected,)
    assert p.case_sensitive is False
    assert p.line == line_no(text, key)
    assert rule.tree == Leaf(0)


def test_all_modifier_ands_values_one_predicate_each():
    rule, text = one_rule("""
        sel:
            CommandLine|contains|all:
                - ' -enc '   # first
                - 'hidden'   # second
                - 'bypass'   # third
        condition: sel
    """)
    preds = all_by_field(rule, "CommandLine")
    assert [p.op for p in preds] == ["contains"] * 3
    assert [p.values for p in preds] == [(" -enc ",), ("hidden",), ("bypass",)]
    # Each single value sits on its own list item line.
    assert [p.line for p in preds] == [line_no(text, "# first"), line_no(text, "# second"),
                                       line_no(text, "# third")]
    assert isinstance(rule.tree, And)
    assert rule.tree.children == [Leaf(0), Leaf(1), Leaf(2)]
    branches, truncated = rule.branch_view()
    assert not truncated
    assert [b.positive for b in branches] == [frozenset({0, 1, 2})]


def test_value_list_without_all_is_one_or_predicate():
    rule, text = one_rule("""
        sel:
            Image|endswith:
                - '\\a.exe'
                - '\\B.exe'
        condition: sel
    """)
    assert len(rule.predicates) == 1
    p = rule.predicates[0]
    assert p.op == "ends_with"
    assert p.values == ("\\a.exe", "\\b.exe")
    assert p.line == line_no(text, "Image|endswith")
    assert rule.tree == Leaf(0)


@pytest.mark.parametrize("mods,prefix", [
    ("re", ""),
    ("re|i", "(?i)"),
    ("re|m", "(?m)"),
    ("re|s", "(?s)"),
    ("re|i|m|s", "(?ims)"),
    ("re|ignorecase|multiline|dotall", "(?ims)"),
])
def test_regex_modifier_and_flags(mods, prefix):
    rule, text = one_rule(f"""
        sel:
            CommandLine|{mods}: 'Invoke-[A-Z]+\\s'
        condition: sel
    """)
    p = by_field(rule, "CommandLine")
    assert p.op == "regex_match"
    # The pattern is never case-folded; flags are shown as an inline prefix.
    assert p.values == (prefix + "Invoke-[A-Z]+\\s",)
    assert p.case_sensitive is True
    assert p.line == line_no(text, "CommandLine|re")


def test_cidr_modifier():
    rule, text = one_rule("""
        sel:
            DestinationIp|cidr:
                - '10.0.0.0/8'
                - '192.168.0.0/16'
        condition: sel
    """)
    p = by_field(rule, "DestinationIp")
    assert p.op == "cidr"
    assert p.values == ("10.0.0.0/8", "192.168.0.0/16")
    assert p.line == line_no(text, "DestinationIp|cidr")


def test_windash_modifier_keeps_value_and_notes_it():
    rule, text = one_rule("""
        sel:
            CommandLine|windash|contains: '-exec bypass'
            Flag|windash: '-s'
        condition: sel
    """)
    p = by_field(rule, "CommandLine")
    assert p.op == "contains"
    assert p.values == ("-exec bypass",)
    assert "windash" in p.notes
    q = by_field(rule, "Flag")
    assert q.op == "eq"
    assert q.values == ("-s",)
    assert "windash" in q.notes
    assert q.line == line_no(text, "Flag|windash")


@pytest.mark.parametrize("mods,op,expected,transform", [
    ("base64", "eq", "base64(iex)", "base64"),
    ("base64|contains", "contains", "base64(iex)", "base64"),
    ("base64offset|contains", "contains", "base64offset(iex)", "base64offset"),
    ("wide|base64offset|contains", "contains", "wide+base64offset(iex)", "wide+base64offset"),
    ("utf16|base64offset|contains", "contains", "utf16+base64offset(iex)", "utf16+base64offset"),
    ("utf16be|base64offset|contains", "contains", "utf16be+base64offset(iex)", "utf16be+base64offset"),
])
def test_encoding_modifiers_show_value_wrapped(mods, op, expected, transform):
    rule, text = one_rule(f"""
        sel:
            CommandLine|{mods}: 'iex'
        condition: sel
    """)
    p = by_field(rule, "CommandLine")
    assert p.op == op
    assert p.values == (expected,)
    assert p.transform == transform
    assert p.line == line_no(text, "CommandLine|")


def test_utf16le_is_not_a_pysigma_modifier():
    # pySigma 1.5 spells UTF-16LE `wide`; `utf16le` is unknown and reported on its key line.
    text = rule_text("""
        sel:
            Image: x
            CommandLine|utf16le|base64: 'iex'
        condition: sel
    """)
    res = load_sigma_text(PATH, text)
    assert res.rules == []
    assert len(res.findings) == 1
    f = res.findings[0]
    assert (f.code, f.name, f.path) == ("RL001", "parse-error", PATH)
    assert "utf16le" in f.data["reason"]
    assert f.line == line_no(text, "CommandLine|utf16le")


def test_exists_true_and_false():
    rule, text = one_rule("""
        sel:
            ParentImage|exists: true
            OriginalFileName|exists: false
        condition: sel
    """)
    present = by_field(rule, "ParentImage")
    absent = by_field(rule, "OriginalFileName")
    assert present.op == "exists"
    assert absent.op == "is_null"
    assert present.line == line_no(text, "ParentImage|exists")
    assert absent.line == line_no(text, "OriginalFileName|exists")
    assert rule.tree == And([Leaf(0), Leaf(1)])


def test_fieldref_modifier_keeps_field_name_case():
    rule, text = one_rule("""
        sel:
            TargetUserName|fieldref: SubjectUserName
        condition: sel
    """)
    p = by_field(rule, "TargetUserName")
    assert p.op == "fieldref"
    assert p.values == ("SubjectUserName",)
    assert p.line == line_no(text, "TargetUserName|fieldref")


@pytest.mark.parametrize("mod,op", [("gt", "gt"), ("gte", "ge"), ("lt", "lt"), ("lte", "le")])
def test_numeric_comparisons(mod, op):
    rule, text = one_rule(f"""
        sel:
            EventCount|{mod}: 5
            Ratio|{mod}: 1.5
        condition: sel
    """)
    count = by_field(rule, "EventCount")
    ratio = by_field(rule, "Ratio")
    assert (count.op, count.values) == (op, ("5",))
    assert (ratio.op, ratio.values) == (op, ("1.5",))
    assert count.line == line_no(text, "EventCount|")


def test_cased_keeps_case_others_are_folded():
    rule, text = one_rule("""
        sel:
            CaseA|cased: 'AbC'
            CaseB|cased|contains: 'MiXed'
            CaseC|cased: '*WildCard*'
            Plain: 'AbC'
            PlainContains|contains: 'MiXed'
        condition: sel
    """)
    a, b, c = by_field(rule, "CaseA"), by_field(rule, "CaseB"), by_field(rule, "CaseC")
    assert (a.op, a.values, a.case_sensitive) == ("eq", ("AbC",), True)
    assert (b.op, b.values, b.case_sensitive) == ("contains", ("MiXed",), True)
    assert (c.op, c.values, c.case_sensitive) == ("contains", ("WildCard",), True)
    plain, plain_c = by_field(rule, "Plain"), by_field(rule, "PlainContains")
    assert (plain.op, plain.values, plain.case_sensitive) == ("eq", ("abc",), False)
    assert (plain_c.op, plain_c.values, plain_c.case_sensitive) == ("contains", ("mixed",), False)


def test_expand_keeps_placeholder():
    rule, text = one_rule("""
        sel:
            SubjectUserName|expand: '%admins%'
            Computer|expand|startswith: '%hostprefix%'
        condition: sel
    """)
    p = by_field(rule, "SubjectUserName")
    assert (p.op, p.values) == ("eq", ("%admins%",))
    assert "expand" in p.notes
    q = by_field(rule, "Computer")
    assert (q.op, q.values) == ("starts_with", ("%hostprefix%",))
    assert p.line == line_no(text, "SubjectUserName|expand")


def test_expand_keeps_placeholder_name_case():
    # Placeholder names are identifiers looked up as written (`%DomainControllers%`);
    # case-folding them names a different placeholder.
    rule, _ = one_rule("""
        sel:
            SubjectUserName|expand: '%DomainControllers%'
        condition: sel
    """)
    p = by_field(rule, "SubjectUserName")
    assert p.op == "eq"
    assert p.values == ("%DomainControllers%",)


def test_neq_modifier_is_negated():
    rule, text = one_rule("""
        sel:
            Image|endswith: '\\svc.exe'
            User|neq: 'SYSTEM'
        condition: sel
    """)
    img, user = by_field(rule, "Image"), by_field(rule, "User")
    assert (user.op, user.values) == ("eq", ("system",))
    assert user.line == line_no(text, "User|neq")
    assert rule.tree == And([Leaf(idx(rule, img)), Not(Leaf(idx(rule, user)))])
    assert rule.polarity[idx(rule, img)] is True
    assert rule.polarity[idx(rule, user)] is False
    assert (user.field, user.op, "system") in {tuple(k) for k in rule.excluded_keys()}


def test_null_number_and_boolean_values():
    rule, text = one_rule("""
        sel:
            ParentCommandLine: null
            EventID: 4688
            Elevated: true
            Mixed:
                - 1
                - 'Two'
        condition: sel
    """)
    null = by_field(rule, "ParentCommandLine")
    assert null.op == "is_null"
    assert null.line == line_no(text, "ParentCommandLine")
    assert (by_field(rule, "EventID").op, by_field(rule, "EventID").values) == ("eq", ("4688",))
    assert (by_field(rule, "Elevated").op, by_field(rule, "Elevated").values) == ("eq", ("true",))
    mixed = by_field(rule, "Mixed")
    assert (mixed.op, mixed.values) == ("eq", ("1", "two"))


@pytest.mark.parametrize("value,op,expected", [
    ("*mimikatz*", "contains", "mimikatz"),
    ("*\\\\evil.exe", "ends_with", "\\evil.exe"),
    ("C:\\\\Temp\\\\*", "starts_with", "c:\\temp\\"),
    ("cmd*.EXE", "wildcard", "cmd*.exe"),
    ("a?c", "wildcard", "a?c"),
    ("*a*b*", "wildcard", "*a*b*"),
    ("*", "exists", ""),
    ("**", "exists", ""),
    ("plain", "eq", "plain"),
])
def test_plain_value_wildcards(value, op, expected):
    # Written in a double-quoted Python string into YAML single quotes: `\\\\` is one
    # Sigma-escaped backslash, i.e. a literal backslash.
    rule, text = one_rule(f"""
        sel:
            Image: '{value}'
        condition: sel
    """)
    p = by_field(rule, "Image")
    assert p.op == op
    if op != "exists":
        assert p.values == (expected,)
    assert p.line == line_no(text, "Image:")


@pytest.mark.parametrize("value,op,expected", [
    ("a\\*b", "eq", "a*b"),            # escaped star: a literal star, plain equality
    ("*a\\*b*", "contains", "a*b"),
    ("what\\?", "eq", "what?"),
    ("a\\*b*c", "wildcard", "a\\*b*c"),  # literal star stays escaped inside a wildcard pattern
    ("\\**", "starts_with", "*"),
])
def test_escaped_wildcards(value, op, expected):
    rule, _ = one_rule(f"""
        sel:
            CommandLine: '{value}'
        condition: sel
    """)
    p = by_field(rule, "CommandLine")
    assert (p.op, p.values) == (op, (expected,))


# -- 2. keywords ---------------------------------------------------------------------

def test_keyword_list_detection():
    rule, text = one_rule("""
        keywords:
            - 'Mimikatz'       # kw1
            - '*sekurlsa*'     # kw2
        condition: keywords
    """)
    eq = [p for p in rule.predicates if p.op == "eq"]
    contains = [p for p in rule.predicates if p.op == "contains"]
    assert len(eq) == len(contains) == 1
    assert all(p.field == KEYWORD_FIELD == "(keyword)" for p in rule.predicates)
    assert eq[0].values == ("mimikatz",)
    assert contains[0].values == ("sekurlsa",)
    assert eq[0].line == line_no(text, "# kw1")
    assert contains[0].line == line_no(text, "# kw2")
    assert isinstance(rule.tree, Or) and sorted(to_dict(rule.tree)["or"]) == [0, 1]


def test_keyword_single_string_and_all():
    rule, text = one_rule("""
        kw_one: 'Whoami'
        kw_all:
            '|all':
                - 'net'    # n1
                - 'user'   # n2
        condition: kw_one or kw_all
    """)
    assert all(p.field == "(keyword)" for p in rule.predicates)
    one = [p for p in rule.predicates if p.values == ("whoami",)]
    assert len(one) == 1 and one[0].op == "eq"
    assert one[0].line == line_no(text, "kw_one:")
    net = [p for p in rule.predicates if p.values == ("net",)][0]
    user = [p for p in rule.predicates if p.values == ("user",)][0]
    assert net.line == line_no(text, "# n1")
    assert user.line == line_no(text, "# n2")
    branches, _ = rule.branch_view()
    assert sorted(sorted(b.positive) for b in branches) == sorted(
        [[idx(rule, one[0])], sorted([idx(rule, net), idx(rule, user)])])


# -- 3. conditions --------------------------------------------------------------------

SELECTIONS = (
    "selection_img:\n"
    "    Image|endswith: '\\\\a.exe'\n"
    "selection_cmd:\n"
    "    CommandLine|contains: 'evil'\n"
    "filter_main:\n"
    "    User: 'system'\n"
)


def _cond_rule(condition: str):
    text = rule_text(SELECTIONS + f"condition: {condition}\n")
    res = load_ok(text)
    assert len(res.rules) == 1
    rule = res.rules[0]
    found = {}
    for name, field in (("img", "Image"), ("cmd", "CommandLine"), ("flt", "User")):
        preds = all_by_field(rule, field)
        assert len(preds) <= 1
        found[name] = idx(rule, preds[0]) if preds else None  # None: selection not referenced
    return rule, text, found["img"], found["cmd"], found["flt"]


def test_one_of_pattern_and_not():
    rule, text, img, cmd, flt = _cond_rule("1 of selection_* and not filter_main")
    assert rule.tree == And([Or([Leaf(img), Leaf(cmd)]), Not(Leaf(flt))])
    assert rule.polarity == {img: True, cmd: True, flt: False}
    branches, truncated = rule.branch_view()
    assert not truncated
    assert sorted(sorted(b.positive) for b in branches) == sorted([[img], [cmd]])
    assert all(b.exclusions == (Not(Leaf(flt)),) for b in branches)
    assert rule.logic_line == line_no(text, "condition:")


def test_all_of_pattern():
    rule, _, img, cmd, flt = _cond_rule("all of selection_* and not filter_main")
    assert rule.tree == And([Leaf(img), Leaf(cmd), Not(Leaf(flt))])
    branches, _ = rule.branch_view()
    assert [b.positive for b in branches] == [frozenset({img, cmd})]
    assert rule.polarity[flt] is False


def test_all_of_them_and_one_of_them():
    rule, _, img, cmd, flt = _cond_rule("all of them")
    assert isinstance(rule.tree, And)
    assert sorted(to_dict(rule.tree)["and"]) == sorted([img, cmd, flt])
    assert all(rule.polarity.values())
    rule, _, img, cmd, flt = _cond_rule("1 of them")
    assert isinstance(rule.tree, Or)
    assert sorted(to_dict(rule.tree)["or"]) == sorted([img, cmd, flt])
    branches, _ = rule.branch_view()
    assert sorted(sorted(b.positive) for b in branches) == [[0], [1], [2]]


def test_them_skips_underscore_detections():
    rule, _ = one_rule("""
        sel:
            a: 1
        _helper:
            b: 2
        condition: all of them
    """)
    assert [p.field for p in rule.predicates] == ["a"]
    assert rule.tree == Leaf(0)


def test_and_binds_tighter_than_or():
    rule, _, img, cmd, flt = _cond_rule("selection_img or selection_cmd and filter_main")
    assert rule.tree == Or([Leaf(img), And([Leaf(cmd), Leaf(flt)])])
    branches, _ = rule.branch_view()
    assert sorted(sorted(b.positive) for b in branches) == sorted([[img], sorted([cmd, flt])])


def test_parentheses_override_precedence():
    rule, _, img, cmd, flt = _cond_rule("(selection_img or selection_cmd) and filter_main")
    assert rule.tree == And([Or([Leaf(img), Leaf(cmd)]), Leaf(flt)])
    branches, _ = rule.branch_view()
    assert sorted(sorted(b.positive) for b in branches) == sorted([sorted([img, flt]), sorted([cmd, flt])])


def test_not_binds_tighter_than_and():
    rule, _, img, cmd, flt = _cond_rule("not selection_img and selection_cmd")
    assert rule.tree == And([Not(Leaf(img)), Leaf(cmd)])
    assert rule.polarity == {img: False, cmd: True}


def test_not_over_group_excludes_every_predicate_inside():
    rule, _, img, cmd, flt = _cond_rule("selection_img and not (selection_cmd or filter_main)")
    assert rule.tree == And([Leaf(img), Not(Or([Leaf(cmd), Leaf(flt)]))])
    assert rule.polarity == {img: True, cmd: False, flt: False}
    branches, _ = rule.branch_view()
    assert len(branches) == 1
    assert branches[0].positive == frozenset({img})
    assert branches[0].exclusions == (Not(Or([Leaf(cmd), Leaf(flt)])),)


def test_double_not_is_positive():
    rule, _, img, cmd, flt = _cond_rule("selection_img and not (not selection_cmd)")
    assert rule.tree == And([Leaf(img), Leaf(cmd)])
    assert rule.polarity == {img: True, cmd: True}


def test_condition_list_is_ored():
    text = rule_text(SELECTIONS + (
        "condition:\n"
        "    - selection_img and not filter_main\n"
        "    - selection_cmd\n"
    ))
    rule = load_ok(text).rules[0]
    img = idx(rule, by_field(rule, "Image"))
    cmd = idx(rule, by_field(rule, "CommandLine"))
    flt = idx(rule, by_field(rule, "User"))
    assert rule.tree == Or([And([Leaf(img), Not(Leaf(flt))]), Leaf(cmd)])
    assert rule.polarity == {img: True, cmd: True, flt: False}
    branches, _ = rule.branch_view()
    assert sorted(sorted(b.positive) for b in branches) == sorted([[img], [cmd]])
    assert rule.logic_line == line_no(text, "condition:")


def test_same_selection_named_twice_shares_predicates():
    rule, _, img, cmd, flt = _cond_rule("selection_img or (selection_img and selection_cmd)")
    # No duplicate predicates for the second mention of selection_img.
    assert len(rule.predicates) == 2
    assert rule.tree == Or([Leaf(img), And([Leaf(img), Leaf(cmd)])])


def test_selection_both_positive_and_negated_counts_as_positive():
    rule, _, img, cmd, flt = _cond_rule("selection_img and not (selection_cmd and selection_img)")
    assert len(rule.predicates) == 2
    assert rule.polarity == {img: True, cmd: False}


# -- 4. lists of mappings ---------------------------------------------------------------

def test_list_of_mappings_is_or_of_ands():
    rule, text = one_rule("""
        sel:
            - Image|endswith: '\\\\a.exe'      # m1a
              CommandLine|contains: 'x'      # m1b
            - Image|endswith: '\\\\b.exe'      # m2a
            - ParentImage|endswith:          # m3a
                - '\\\\c.exe'
                - '\\\\d.exe'
              User: 'admin'                  # m3b
        condition: sel
    """)
    p = rule.predicates
    assert [(q.field, q.op, q.values) for q in p] == [
        ("Image", "ends_with", ("\\a.exe",)),
        ("CommandLine", "contains", ("x",)),
        ("Image", "ends_with", ("\\b.exe",)),
        ("ParentImage", "ends_with", ("\\c.exe", "\\d.exe")),
        ("User", "eq", ("admin",)),
    ]
    assert [q.line for q in p] == [line_no(text, f"# {m}") for m in ("m1a", "m1b", "m2a", "m3a", "m3b")]
    assert rule.tree == Or([And([Leaf(0), Leaf(1)]), Leaf(2), And([Leaf(3), Leaf(4)])])
    branches, _ = rule.branch_view()
    assert sorted(sorted(b.positive) for b in branches) == [[0, 1], [2], [3, 4]]


def test_list_of_mappings_mixed_with_other_selection():
    rule, text = one_rule("""
        sel:
            - Image: 'a'
            - Image: 'b'
        filter:
            - User: 'x'
            - User: 'y'
        condition: sel and not filter
    """)
    assert rule.tree == And([Or([Leaf(0), Leaf(1)]), Not(Or([Leaf(2), Leaf(3)]))])
    assert rule.polarity == {0: True, 1: True, 2: False, 3: False}
    assert [p.line for p in rule.predicates] == [
        line_no(text, "- Image: 'a'"), line_no(text, "- Image: 'b'"),
        line_no(text, "- User: 'x'"), line_no(text, "- User: 'y'")]


# -- 5. source lines -----------------------------------------------------------------------

def test_lines_of_keys_and_list_items():
    rule, text = one_rule("""
        sel:
            Image|endswith: '\\\\x.exe'
            CommandLine:
                - 'one'      # only-one-not
                - '*two'     # single-in-group
                - 'three'
            Single:
                - 'alone'    # the-alone-item
            Flow: [a, b]
        condition: sel
    """)
    assert by_field(rule, "Image").line == line_no(text, "Image|endswith")
    cmd = all_by_field(rule, "CommandLine")
    assert sorted(p.op for p in cmd) == ["ends_with", "eq"]
    eq = [p for p in cmd if p.op == "eq"][0]
    ends = [p for p in cmd if p.op == "ends_with"][0]
    # Several values in one predicate: the key's line; a single value from a list: its item's line.
    assert eq.values == ("one", "three")
    assert eq.line == line_no(text, "CommandLine:")
    assert ends.values == ("two",)
    assert ends.line == line_no(text, "# single-in-group")
    assert by_field(rule, "Single").line == line_no(text, "# the-alone-item")
    assert by_field(rule, "Flow").line == line_no(text, "Flow:")
    assert rule.logic_line == line_no(text, "condition:")
    assert rule.line == 1


def test_lines_with_comments_and_blank_lines_before_detection():
    text = (
        "# leading comment\n"
        "\n"
        "title: Lines\n"
        "description: |\n"
        "    multi\n"
        "    line\n"
        "logsource:\n"
        "    product: windows\n"
        "detection:\n"
        "\n"
        "    # comment inside\n"
        "    selection:\n"
        "        Image: 'a'\n"
        "\n"
        "        User: 'b'\n"
        "    condition: selection\n"
    )
    rule = load_ok(text).rules[0]
    assert by_field(rule, "Image").line == 13
    assert by_field(rule, "User").line == 15
    assert rule.logic_line == 16
    assert rule.line == 3


# -- 6. multi-document files -------------------------------------------------------------------

def test_global_action_merges_into_each_document():
    text = textwrap.dedent("""\
        action: global
        title: Global rule
        logsource:
            product: windows
        detection:
            sel_global:
                Image|endswith: '\\\\g.exe'
            condition: sel_global and sel_doc
        ---
        logsource:
            category: process_creation
        detection:
            sel_doc:
                CommandLine|contains: 'first'
        ---
        logsource:
            category: file_event
        detection:
            sel_doc:
                TargetFilename|contains: 'second'
        """)
    res = load_ok(text)
    assert len(res.rules) == 2
    r1, r2 = res.rules
    assert r1.kind == r2.kind == "rule"
    assert r1.title == r2.title == "Global rule"
    assert r1.logsource.key() == "windows/process_creation"
    assert r2.logsource.key() == "windows/file_event"
    for r, field, marker in ((r1, "CommandLine", "'first'"), (r2, "TargetFilename", "'second'")):
        g = by_field(r, "Image")
        d = by_field(r, field)
        assert g.line == line_no(text, "Image|endswith")
        assert d.line == line_no(text, marker)
        assert r.tree == And([Leaf(idx(r, g)), Leaf(idx(r, d))])
        assert r.logic_line == line_no(text, "condition:")
    assert r1.line == line_no(text, "category: process_creation") - 1
    assert r2.line == line_no(text, "category: file_event") - 1
    assert r1.key != r2.key


def test_repeat_and_reset_actions():
    text = textwrap.dedent("""\
        title: First
        id: 11111111-1111-4111-8111-111111111111
        logsource:
            product: windows
            category: process_creation
        detection:
            sel:
                Image|endswith: '\\\\a.exe'
            condition: sel
        ---
        action: repeat
        id: 22222222-2222-4222-8222-222222222222
        logsource:
            category: file_event
        ---
        action: reset
        ---
        title: Third
        logsource:
            product: linux
        detection:
            sel:
                Image|endswith: '/bin/sh'
            condition: sel
        """)
    res = load_ok(text)
    assert [r.title for r in res.rules] == ["First", "First", "Third"]
    first, repeated, third = res.rules
    assert first.id == "11111111-1111-4111-8111-111111111111"
    assert repeated.id == "22222222-2222-4222-8222-222222222222"
    assert first.logsource.key() == "windows/process_creation"
    assert repeated.logsource.key() == "windows/file_event"
    assert third.logsource.key() == "linux"
    assert by_field(repeated, "Image").values == ("\\a.exe",)
    assert by_field(repeated, "Image").line == line_no(text, "Image|endswith")
    assert by_field(third, "Image").values == ("/bin/sh",)
    assert by_field(third, "Image").line == line_no(text, "Image|endswith", 2)
    assert third.logic_line == line_no(text, "condition:", 2)
    assert repeated.line == line_no(text, "action: repeat")


def test_repeat_after_global_keeps_global_content():
    # pySigma's collection merges a repeat into the previous rule *as merged with the global
    # document*, so the repeated rule keeps the global title and detection.
    text = textwrap.dedent("""\
        action: global
        title: Global rule
        logsource:
            product: windows
        detection:
            sel_global:
                Image|endswith: '\\\\g.exe'
            condition: sel_global and sel_doc
        ---
        logsource:
            category: process_creation
        detection:
            sel_doc:
                CommandLine|contains: 'first'
        ---
        action: repeat
        logsource:
            category: file_event
        """)
    res = load_sigma_text(PATH, text)
    assert res.findings == [], [f.data for f in res.findings]
    assert len(res.rules) == 2
    rep = res.rules[1]
    assert rep.title == "Global rule"
    assert rep.logsource.key() == "windows/file_event"
    assert by_field(rep, "Image").line == line_no(text, "Image|endswith")
    assert by_field(rep, "CommandLine").values == ("first",)


def test_chained_repeats_build_on_the_previous_repeat():
    # pySigma: each `repeat` is merged into the previous rule, repeats included.
    text = textwrap.dedent("""\
        title: Chain
        logsource:
            product: windows
            category: process_creation
        detection:
            sel:
                Image: 'one'
            condition: sel
        ---
        action: repeat
        detection:
            sel:
                Image: 'two'
        ---
        action: repeat
        logsource:
            category: file_event
        """)
    res = load_ok(text)
    assert len(res.rules) == 3
    assert [by_field(r, "Image").values for r in res.rules] == [("one",), ("two",), ("two",)]
    assert res.rules[2].logsource.key() == "windows/file_event"
    assert by_field(res.rules[2], "Image").line == line_no(text, "Image: 'two'")


def test_lines_of_selection_merged_across_documents():
    # A repeat that overrides one key of a selection: the untouched key keeps its own line.
    text = textwrap.dedent("""\
        title: Merge
        logsource:
            product: windows
            category: process_creation
        detection:
            sel:
                Image: 'keep'
                User: 'old'
            condition: sel
        ---
        action: repeat
        detection:
            sel:
                User: 'new'
        """)
    res = load_ok(text)
    rep = res.rules[1]
    assert by_field(rep, "User").values == ("new",)
    assert by_field(rep, "User").line == line_no(text, "User: 'new'")
    assert by_field(rep, "Image").line == line_no(text, "Image: 'keep'")


def test_rule_and_correlation_in_one_file():
    text = textwrap.dedent("""\
        title: Failed logon
        id: 5b1a0f62-8c2e-4c7e-9a51-3a4d2c1b0e9f
        name: failed_logon
        logsource:
            product: windows
            service: security
        detection:
            sel:
                EventID: 4625
            condition: sel
        ---
        title: Many failed logons
        id: 6c2b1a73-9d3f-4d8f-8b62-4b5e3d2c1f0a
        correlation:
            type: event_count
            rules:
                - failed_logon
            group-by:
                - TargetUserName
            timespan: 5m
            condition:
                gte: 10
        level: high
        """)
    res = load_ok(text)
    assert [r.kind for r in res.rules] == ["rule", "correlation"]
    base, corr = res.rules
    assert base.logsource.key() == "windows/security"
    assert by_field(base, "EventID").values == ("4625",)
    assert corr.references == ["failed_logon"]
    assert corr.title == "Many failed logons"
    assert corr.id == "6c2b1a73-9d3f-4d8f-8b62-4b5e3d2c1f0a"
    assert corr.key == corr.id
    assert corr.line == line_no(text, "title: Many failed logons")
    assert corr.predicates == []
    assert corr.extra.get("correlation_type") == "event_count"


FILTER_RULE = """\
title: Exclude admin
id: 7d3c2b84-0e4f-4e9f-9c73-5c6f4e3d2a1b
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - 11111111-1111-4111-8111-111111111111
    selection:
        User: 'admin'
    condition: not selection
"""


def test_filter_rule_kind_and_logsource():
    res = load_ok(FILTER_RULE)
    assert len(res.rules) == 1
    flt = res.rules[0]
    assert flt.kind == "filter"
    assert flt.logsource.key() == "windows/process_creation"
    user = by_field(flt, "User")
    assert (user.op, user.values) == ("eq", ("admin",))
    assert user.line == line_no(FILTER_RULE, "User: 'admin'")


def test_filter_references_are_rule_ids():
    flt = load_ok(FILTER_RULE).rules[0]
    assert flt.references == ["11111111-1111-4111-8111-111111111111"]


def test_filter_condition_not_selection_excludes():
    # pySigma applies a filter as `(rule condition) and (filter condition)`: with
    # `condition: not selection` the filter's predicates are exclusions.
    flt = load_ok(FILTER_RULE).rules[0]
    user = idx(flt, by_field(flt, "User"))
    assert flt.polarity[user] is False
    assert flt.tree == Not(Leaf(user))


def test_filter_rules_any():
    text = FILTER_RULE.replace(
        "    rules:\n        - 11111111-1111-4111-8111-111111111111\n", "    rules: any\n")
    flt = load_ok(text).rules[0]
    assert flt.kind == "filter"
    assert flt.references in ([], ["any"])


# -- 7. metadata ---------------------------------------------------------------------------------

def test_techniques_tactics_and_logsource():
    rule, _ = one_rule("""
        sel:
            Image: 'x'
        condition: sel
    """, head="""\
        id: 8e4d3c95-1f50-4fa0-8d84-6d7f5e4d3b2c
        tags:
            - attack.t1219.002
            - attack.T1059
            - attack.t1059
            - attack.execution
            - attack.defense-evasion
            - attack.g0007
            - attack.s0002
            - car.2016-04-005
            - cve.2021-44228
        """)
    assert rule.techniques == ["T1059", "T1219.002"]
    assert rule.tactics == ["defense-evasion", "execution"]
    assert rule.logsource.key() == "windows/process_creation"
    assert rule.id == rule.key == "8e4d3c95-1f50-4fa0-8d84-6d7f5e4d3b2c"
    assert rule.vendor == "sigma"
    assert rule.path == PATH
    assert rule.title == "Test rule"


def test_logsource_service_only_and_key_without_id():
    text = textwrap.dedent("""\
        title: No id
        status: experimental
        level: high
        logsource:
            product: windows
            service: sysmon
        detection:
            sel:
                EventID: 1
            condition: sel
        """)
    rule = load_ok(text).rules[0]
    assert rule.logsource.key() == "windows/sysmon"
    assert rule.id == ""
    assert rule.key == f"{PATH}#0"
    assert rule.level == "high"
    assert rule.status == "experimental"


def test_lines_of_selection_merged_with_global_document():
    # The global document and a rule document both add keys to `sel`: each key keeps its line.
    text = textwrap.dedent("""\
        action: global
        title: Merge global
        logsource:
            product: windows
        detection:
            sel:
                Image: 'from-global'
            condition: sel
        ---
        detection:
            sel:
                User: 'from-doc'
        """)
    rule = load_ok(text).rules[0]
    assert by_field(rule, "Image").values == ("from-global",)
    assert by_field(rule, "User").values == ("from-doc",)
    assert by_field(rule, "Image").line == line_no(text, "Image: 'from-global'")
    assert by_field(rule, "User").line == line_no(text, "User: 'from-doc'")
