"""Predicates: pattern classification, overlap of string tests, display helpers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulelint.model.predicate import (
    KEYWORD_FIELD,
    OPERATORS,
    QMARK,
    STAR,
    IndicatorKey,
    Predicate,
    Wild,
    classify_pattern,
    could_overlap,
    normalize_value,
    plural,
    quote,
    render_pattern,
)

STRING_OPS = ("eq", "contains", "starts_with", "ends_with")
PATTERN_OPS = {"eq", "contains", "starts_with", "ends_with", "wildcard", "exists"}


# -- helpers ------------------------------------------------------------------

def _tokens(parts) -> list[tuple[str, str]]:
    """Parts as ("W", "*"/"?") and merged ("L", text) tokens, empty chunks dropped."""
    out: list[tuple[str, str]] = []
    for p in parts:
        if isinstance(p, Wild):
            out.append(("W", str(p)))
        elif p:
            if out and out[-1][0] == "L":
                out[-1] = ("L", out[-1][1] + p)
            else:
                out.append(("L", p))
    return out


def _parse_rendered(text: str) -> list[tuple[str, str]]:
    """Inverse of the documented rendering: `*`/`?` are wildcards, `\\*`/`\\?` literal."""
    out: list[tuple[str, str]] = []

    def lit(c: str) -> None:
        if out and out[-1][0] == "L":
            out[-1] = ("L", out[-1][1] + c)
        else:
            out.append(("L", c))

    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "*?":
            lit(text[i + 1])
            i += 2
            continue
        if c in "*?":
            out.append(("W", c))
        else:
            lit(c)
        i += 1
    return out


def _satisfies(op: str, value: str, s: str) -> bool:
    return {
        "eq": s == value,
        "contains": value in s,
        "starts_with": s.startswith(value),
        "ends_with": s.endswith(value),
    }[op]


# -- classify_pattern: examples -------------------------------------------------

@pytest.mark.parametrize(
    "parts, expected",
    [
        (["cmd.exe"], ("eq", "cmd.exe")),
        (["cmd", ".exe"], ("eq", "cmd.exe")),
        ([], ("eq", "")),
        ([STAR, "-enc", STAR], ("contains", "-enc")),
        ([STAR, "\\cmd.exe"], ("ends_with", "\\cmd.exe")),
        (["C:\\Windows\\", STAR], ("starts_with", "C:\\Windows\\")),
        ([STAR], ("exists", "")),
        ([STAR, STAR], ("exists", "")),
        (["", STAR, ""], ("exists", "")),
        (["a", STAR, "b"], ("wildcard", "a*b")),
        (["a", QMARK, "b"], ("wildcard", "a?b")),
        ([QMARK], ("wildcard", "?")),
        ([QMARK, "x"], ("wildcard", "?x")),
        ([STAR, QMARK], ("wildcard", "*?")),
        ([STAR, "a", STAR, "b", STAR], ("wildcard", "*a*b*")),
        ([STAR, "a", QMARK, "b", STAR], ("wildcard", "*a?b*")),
    ],
)
def test_classify_pattern_examples(parts, expected):
    assert classify_pattern(parts) == expected


def test_classify_pattern_accepts_tuples():
    assert classify_pattern((STAR, "x", STAR)) == ("contains", "x")


def test_empty_chunks_do_not_hide_leading_or_trailing_wildcards():
    assert classify_pattern(["", STAR, "", "x", "", STAR, ""]) == ("contains", "x")
    assert classify_pattern(["", STAR, "x"]) == ("ends_with", "x")
    assert classify_pattern(["x", STAR, ""]) == ("starts_with", "x")


def test_literal_star_and_qmark_are_kept_as_text():
    # Plain strings "*" / "?" are literal characters, not wildcards.
    assert classify_pattern(["a*b"]) == ("eq", "a*b")
    assert classify_pattern(["*"]) == ("eq", "*")
    assert classify_pattern(["what?"]) == ("eq", "what?")
    assert classify_pattern([STAR, "a*b", STAR]) == ("contains", "a*b")
    assert classify_pattern([STAR, "?"]) == ("ends_with", "?")
    assert classify_pattern(["*", STAR]) == ("starts_with", "*")


def test_literal_wildcard_chars_are_escaped_in_wildcard_values():
    assert classify_pattern(["a*", QMARK, "b?"]) == ("wildcard", "a\\*?b\\?")
    assert classify_pattern([STAR, "1*2", STAR, "x"]) == ("wildcard", "*1\\*2*x")


def test_sentinels_are_wild_strings():
    assert isinstance(STAR, Wild) and isinstance(STAR, str) and STAR == "*"
    assert isinstance(QMARK, Wild) and QMARK == "?"
    assert not isinstance("*", Wild)


def test_render_pattern():
    assert render_pattern([STAR, "x*y", QMARK]) == "*x\\*y?"
    assert render_pattern(["plain"]) == "plain"


def test_wildcard_rendering_tells_literal_backslash_from_escaped_star():
    # `a\` followed by a wildcard is a different pattern from a literal `a*`;
    # both must not render (and so key) the same.
    # Seen through Sigma: `C:\Users\\*\x?.exe` vs `C:\Users\*\x?.exe`.
    wild_after_backslash = classify_pattern(["a\\", STAR, "b", QMARK])
    literal_star = classify_pattern(["a*b", QMARK])
    assert wild_after_backslash[0] == literal_star[0] == "wildcard"
    assert wild_after_backslash[1] != literal_star[1]


# -- classify_pattern: properties ----------------------------------------------

part = st.one_of(
    st.sampled_from([STAR, QMARK]),
    st.text(alphabet="ab*?\\", max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(part, max_size=7))
def test_classify_pattern_never_raises_and_keeps_wildcards_out_of_plain_values(parts):
    op, value = classify_pattern(parts)
    assert op in PATTERN_OPS
    assert isinstance(value, str)
    stripped = [p for p in parts if p != ""]
    wild_at = [i for i, p in enumerate(stripped) if isinstance(p, Wild)]
    literal_text = "".join(p for p in stripped if not isinstance(p, Wild))
    n = len(stripped)
    if op == "eq":
        assert wild_at == []
        assert value == literal_text
    elif op == "contains":
        # Only the two enclosing stars were wildcards: nothing wild inside the value.
        assert n >= 3 and wild_at == [0, n - 1]
        assert stripped[0] is STAR and stripped[-1] is STAR
        assert value == literal_text
    elif op == "ends_with":
        assert wild_at == [0] and stripped[0] is STAR
        assert value == literal_text
    elif op == "starts_with":
        assert wild_at == [n - 1] and stripped[-1] is STAR
        assert value == literal_text
    elif op == "exists":
        assert stripped and all(p is STAR for p in stripped)
        assert value == ""
    else:
        assert wild_at


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([STAR, QMARK]), st.text(alphabet="ab*?", max_size=3)), max_size=7))
def test_wildcard_value_round_trips(parts):
    # Without backslashes in the literal text, the rendered pattern parses back exactly.
    op, value = classify_pattern(parts)
    if op == "wildcard":
        assert _parse_rendered(value) == _tokens(parts)


@settings(max_examples=200, deadline=None)
@given(st.lists(part, max_size=6))
def test_classify_pattern_is_exact_for_plain_ops(parts):
    """A string matches the (op, value) iff it matches the original pattern."""
    op, value = classify_pattern(parts)
    if op not in STRING_OPS:
        return
    # Build the pattern as a regex from the parts and compare on sample strings.
    import re

    rx = "".join(".*" if p is STAR else "." if p is QMARK else re.escape(p) for p in parts)
    pat = re.compile(rx, re.S)
    samples = {value, "", "zz", value + "z", "z" + value, "z" + value + "z"}
    for s in samples:
        assert bool(pat.fullmatch(s)) == _satisfies(op, value, s)


# -- could_overlap ----------------------------------------------------------------

@pytest.mark.parametrize(
    "a, b, expected",
    [
        (("eq", "cmd.exe"), ("eq", "cmd.exe"), True),
        (("eq", "cmd.exe"), ("eq", "powershell.exe"), False),
        (("eq", "c:\\x\\cmd.exe"), ("contains", "\\cmd"), True),
        (("eq", "c:\\x\\cmd.exe"), ("contains", "powershell"), False),
        (("eq", "c:\\x\\cmd.exe"), ("starts_with", "c:\\x"), True),
        (("eq", "c:\\x\\cmd.exe"), ("starts_with", "d:\\"), False),
        (("eq", "c:\\x\\cmd.exe"), ("ends_with", "\\cmd.exe"), True),
        (("eq", "c:\\x\\cmd.exe"), ("ends_with", "\\pwsh.exe"), False),
        (("ends_with", "\\cmd.exe"), ("ends_with", "md.exe"), True),
        (("ends_with", "md.exe"), ("ends_with", "\\cmd.exe"), True),
        (("ends_with", "\\cmd.exe"), ("ends_with", "\\pwsh.exe"), False),
        (("starts_with", "c:\\windows"), ("starts_with", "c:\\"), True),
        (("starts_with", "c:\\"), ("starts_with", "c:\\windows"), True),
        (("starts_with", "c:\\"), ("starts_with", "d:\\"), False),
        (("starts_with", "c:\\"), ("ends_with", ".exe"), True),
        (("starts_with", "abc"), ("ends_with", "xyz"), True),
        (("contains", "foo"), ("contains", "bar"), True),
        (("contains", "foo"), ("starts_with", "bar"), True),
        (("contains", "foo"), ("ends_with", "bar"), True),
        # Other operators are assumed to overlap, whatever the values.
        (("wildcard", "a*b"), ("eq", "zzz"), True),
        (("regex_match", "^a$"), ("eq", "b"), True),
        (("cidr", "10.0.0.0/8"), ("eq", "192.168.0.1"), False),
        (("cidr", "10.0.0.0/8"), ("eq", "10.1.2.3"), True),
        (("cidr", "127.0.0.0/8"), ("cidr", "10.0.0.0/8"), False),
        (("cidr", "10.0.0.0/8"), ("cidr", "10.1.0.0/16"), True),
        (("cidr", "::1/128"), ("cidr", "127.0.0.0/8"), False),
        (("cidr", "10.0.0.0/8"), ("contains", "10."), True),
        (("gt", "5"), ("lt", "3"), True),
        (("exists", ""), ("is_null", ""), True),
        (("in", "x"), ("contains", "y"), True),
    ],
)
def test_could_overlap_pairs(a, b, expected):
    assert could_overlap(*a, *b) is expected
    assert could_overlap(*b, *a) is expected


def test_could_overlap_is_exact_for_string_ops():
    """Against brute force: every pair of string tests over a two-letter alphabet."""
    values = [""] + ["".join(t) for n in (1, 2) for t in itertools.product("ab", repeat=n)]
    witnesses = [""] + ["".join(t) for n in range(1, 5) for t in itertools.product("ab", repeat=n)]
    for op_a, op_b in itertools.product(STRING_OPS, repeat=2):
        for va, vb in itertools.product(values, repeat=2):
            truth = any(_satisfies(op_a, va, w) and _satisfies(op_b, vb, w) for w in witnesses)
            assert could_overlap(op_a, va, op_b, vb) == truth, (op_a, va, op_b, vb)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(OPERATORS), st.text(alphabet="ab\\.", max_size=4),
    st.sampled_from(OPERATORS), st.text(alphabet="ab\\.", max_size=4),
)
def test_could_overlap_is_symmetric(op_a, va, op_b, vb):
    assert could_overlap(op_a, va, op_b, vb) == could_overlap(op_b, vb, op_a, va)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(STRING_OPS), st.text(max_size=5), st.sampled_from(STRING_OPS), st.text(max_size=5))
def test_could_overlap_false_means_no_witness(op_a, va, op_b, vb):
    # Candidate witnesses that would satisfy both if any short one does.
    cands = {va, vb, va + vb, vb + va}
    if not could_overlap(op_a, va, op_b, vb):
        assert not any(_satisfies(op_a, va, w) and _satisfies(op_b, vb, w) for w in cands)


# -- display helpers ------------------------------------------------------------

def test_quote():
    assert quote("cmd.exe") == "'cmd.exe'"
    assert quote("") == "''"
    assert quote("it's") == "'it\\'s'"
    # Backslashes stay as written in the rule.
    assert quote("\\cmd.exe") == "'\\cmd.exe'"
    assert quote("c:\\windows\\") == "'c:\\windows\\'"


@pytest.mark.parametrize(
    "n, word, expected",
    [(0, "rule", "0 rules"), (1, "rule", "1 rule"), (2, "rule", "2 rules"), (131, "rule", "131 rules")],
)
def test_plural(n, word, expected):
    assert plural(n, word) == expected


def test_indicator_key_display():
    assert IndicatorKey("Image", "ends_with", "\\cmd.exe").display() == "Image ends_with '\\cmd.exe'"
    assert IndicatorKey("CommandLine", "contains", "it's").display() == "CommandLine contains 'it\\'s'"
    assert IndicatorKey(KEYWORD_FIELD, "contains", "x").display() == "(keyword) contains 'x'"


def test_indicator_key_is_a_value():
    a = IndicatorKey("Image", "eq", "x")
    assert a == IndicatorKey("Image", "eq", "x")
    assert a != IndicatorKey("Image", "contains", "x")
    assert len({a, IndicatorKey("Image", "eq", "x")}) == 1
    assert (a.field, a.op, a.value) == ("Image", "eq", "x")


def test_predicate_keys_one_per_value():
    p = Predicate("CommandLine", "contains", ("-enc", "-e "))
    assert p.keys() == (
        IndicatorKey("CommandLine", "contains", "-enc"),
        IndicatorKey("CommandLine", "contains", "-e "),
    )
    assert Predicate("f", "eq", ()).keys() == ()


def test_normalize_value():
    assert normalize_value("CMD.EXE", False) == "cmd.exe"
    assert normalize_value("CMD.EXE", True) == "CMD.EXE"
    assert normalize_value("Straße", False) == normalize_value("STRASSE", False)
