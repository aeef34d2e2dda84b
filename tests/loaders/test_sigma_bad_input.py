"""Bad input through `load_file`: every failure is one parse-error finding (RL001), never an
exception, with the file's path and, where the loader can know it, the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulelint.loaders import load_file
from rulelint.model.tree import Leaf, depth

HEAD = (
    "title: Bad input\n"
    "logsource:\n"
    "    product: windows\n"
    "    category: process_creation\n"
    "detection:\n"
)


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(p)


def line_no(text: str, marker: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert hits, marker
    return hits[0]


def one_parse_error(res, path: str):
    assert res.rules == []
    assert len(res.findings) == 1, [f.data for f in res.findings]
    f = res.findings[0]
    assert f.name == "parse-error"
    assert f.code == "RL001"
    assert f.severity == "error"
    assert f.path == path
    assert f.data["reason"]
    assert path in f.message
    return f


# -- encoding and bytes --------------------------------------------------------------

def test_broken_yaml_reports_line(tmp_path):
    text = "title: t\n  indented: wrong\nlogsource:\n    product: windows\n"
    path = write(tmp_path, "broken.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == 2
    assert "invalid YAML" in f.data["reason"]
    assert f"{path}:2" in f.message


def test_broken_yaml_unclosed_flow_sequence(tmp_path):
    text = HEAD + "    sel:\n        Image: ['a', 'b'\n    condition: sel\n"
    path = write(tmp_path, "unclosed.yml", text)
    f = one_parse_error(load_file(path), path)
    # PyYAML notices the missing `]` where the next key starts.
    assert f.line in (line_no(text, "Image:"), line_no(text, "condition:"))


def test_tab_indentation(tmp_path):
    path = write(tmp_path, "tab.yml", "title: t\n\tlogsource: x\n")
    f = one_parse_error(load_file(path), path)
    assert f.line == 2


def test_binary_file(tmp_path):
    path = write(tmp_path, "binary.yml", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    f = one_parse_error(load_file(path), path)
    assert f.line == 1
    assert "binary" in f.data["reason"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le-bom", "utf-16-be-bom"])
def test_utf16_file(tmp_path, encoding):
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: sel\n"
    if encoding == "utf-16":
        data = text.encode("utf-16")
    elif encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    else:
        data = b"\xfe\xff" + text.encode("utf-16-be")
    path = write(tmp_path, "utf16.yml", data)
    f = one_parse_error(load_file(path), path)
    assert "UTF-16" in f.data["reason"]
    assert f.line == 1


def test_invalid_utf8_reports_line_of_bad_byte(tmp_path):
    text = HEAD + "    sel:\n        Image: 'caf\udce9'\n    condition: sel\n"
    data = text.encode("utf-8", "surrogateescape")  # a lone 0xE9 byte
    path = write(tmp_path, "latin1.yml", data)
    f = one_parse_error(load_file(path), path)
    assert "UTF-8" in f.data["reason"]
    assert f.line == line_no(text, "Image:")


def test_utf8_bom_is_accepted(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: sel\n"
    path = write(tmp_path, "bom.yml", b"\xef\xbb\xbf" + text.encode())
    res = load_file(path)
    assert res.findings == []
    assert len(res.rules) == 1
    assert res.rules[0].predicates[0].line == line_no(text, "Image:")


@pytest.mark.parametrize("data", [b"", b"\n\n", b"# only a comment\n", b"---\n", b"---\n---\n"])
def test_empty_file_gives_nothing(tmp_path, data):
    path = write(tmp_path, "empty.yml", data)
    res = load_file(path)
    assert res.rules == []
    assert res.findings == []


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.yml")
    f = one_parse_error(load_file(path), path)
    assert f.line is None


# -- wrong shapes ----------------------------------------------------------------------

def test_yaml_list_instead_of_mapping(tmp_path):
    # A rule written as a list item: it is meant as a rule, so it must be reported.
    text = (
        "- title: Listed rule\n"
        "  logsource:\n"
        "      product: windows\n"
        "  detection:\n"
        "      sel:\n"
        "          Image: 'a'\n"
        "      condition: sel\n"
    )
    path = write(tmp_path, "list.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == 1


def test_list_document_next_to_a_rule(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: sel\n---\n- not\n- a rule\n"
    path = write(tmp_path, "mixed.yml", text)
    res = load_file(path)
    assert len(res.rules) == 1
    assert len(res.findings) == 1
    f = res.findings[0]
    assert (f.name, f.path) == ("parse-error", path)
    assert f.line == line_no(text, "- not")


def test_non_rule_yaml_is_ignored(tmp_path):
    for name, text in (
        ("config.yml", "name: my-pipeline\npriority: 10\nitems:\n  - a\n  - b\n"),
        ("strings.yml", "- a\n- b\n"),
        ("scalar.yml", "just a string\n"),
    ):
        path = write(tmp_path, name, text)
        res = load_file(path)
        assert res.rules == [] and res.findings == [], name


def test_unknown_modifier_line_of_key(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n        CommandLine|containz: 'x'\n    condition: sel\n"
    path = write(tmp_path, "modifier.yml", text)
    f = one_parse_error(load_file(path), path)
    assert "containz" in f.data["reason"]
    assert f.line == line_no(text, "CommandLine|containz")


def test_undefined_selection_in_condition(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: sel and not filter_missing\n"
    path = write(tmp_path, "undefined.yml", text)
    f = one_parse_error(load_file(path), path)
    assert "filter_missing" in f.data["reason"]
    assert f.line == line_no(text, "condition:")


def test_one_of_pattern_matching_nothing(tmp_path):
    # Dropped as pySigma's backends drop it: the rest of the condition decides, and the
    # rule notes the pattern for unused-detection-item.
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: sel or 1 of foo_*\n"
    path = write(tmp_path, "nomatch.yml", text)
    (rule,) = load_file(path).rules
    assert rule.extra["empty_selectors"] == [(line_no(text, "condition:"), "1 of foo_*")]
    # Nothing else in the condition: the rule selects nothing and does not load.
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: 1 of foo_*\n"
    path = write(tmp_path, "nomatch_alone.yml", text)
    f = one_parse_error(load_file(path), path)
    assert "'1 of foo_*' matches no detection" in f.data["reason"]
    assert f.line == line_no(text, "condition:")


def test_detection_is_a_string(tmp_path):
    text = "title: t\nlogsource:\n    product: windows\ndetection: 'sel'\n"
    path = write(tmp_path, "detstr.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == line_no(text, "detection:")


def test_title_is_a_list(tmp_path):
    text = (
        "logsource:\n    product: windows\n"
        "title:\n    - one\n    - two\n"
        "detection:\n    sel:\n        Image: 'a'\n    condition: sel\n"
    )
    path = write(tmp_path, "titlelist.yml", text)
    f = one_parse_error(load_file(path), path)
    assert "title" in f.data["reason"]
    assert f.line == line_no(text, "title:")


def test_missing_condition(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n"
    path = write(tmp_path, "nocond.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == line_no(text, "detection:")


def test_invalid_level_line(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: sel\nlevel: extreme\n"
    path = write(tmp_path, "level.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == line_no(text, "level:")


def test_duplicate_key_in_selection(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n        Image: 'b'\n    condition: sel\n"
    path = write(tmp_path, "dupkey.yml", text)
    f = one_parse_error(load_file(path), path)
    assert "Duplicate" in f.data["reason"] or "duplicate" in f.data["reason"]
    # The composed nodes know where the second key is.
    assert f.line == line_no(text, "Image: 'b'")


def test_duplicate_top_level_key(tmp_path):
    text = "title: one\ntitle: two\n" + HEAD[len("title: Bad input\n"):] + "    sel:\n        a: 1\n    condition: sel\n"
    path = write(tmp_path, "duptitle.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == 2


def test_unknown_collection_action(tmp_path):
    text = "action: frobnicate\n" + HEAD + "    sel:\n        a: 1\n    condition: sel\n"
    path = write(tmp_path, "action.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == 1


# -- resource limits --------------------------------------------------------------------------

def _billion_laughs() -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return (
        "title: Bomb\nlogsource:\n    product: windows\n"
        + "\n".join(lines) + "\n"
        + "detection:\n    sel:\n        Image: *l9\n    condition: sel\n"
    )


def test_alias_bomb_is_refused(tmp_path):
    text = _billion_laughs()
    path = write(tmp_path, "bomb.yml", text)
    res = load_file(path)
    f = one_parse_error(res, path)
    assert "alias" in f.data["reason"]
    assert line_no(text, "l0:") <= f.line <= line_no(text, "Image: *l9")


def test_recursive_alias(tmp_path):
    path = write(tmp_path, "recursive.yml", "a: &a [*a]\n")
    f = one_parse_error(load_file(path), path)
    assert f.line == 1


def test_deep_parentheses_around_one_selection(tmp_path):
    text = HEAD + "    sel:\n        Image: 'a'\n    condition: " + "(" * 500 + "sel" + ")" * 500 + "\n"
    path = write(tmp_path, "parens.yml", text)
    res = load_file(path)
    if res.rules:  # equivalent to `sel`
        assert res.findings == []
        assert res.rules[0].tree == Leaf(0)
    else:
        f = one_parse_error(res, path)
        assert f.line == line_no(text, "condition:")


@pytest.mark.parametrize("condition", [
    "sel and (" * 500 + "sel2" + ")" * 500,
    "(sel or (sel2 and " * 150 + "sel" + "))" * 150,
    "not " * 300 + "sel",
], ids=["and-chain-500", "alternating-300", "not-300"])
def test_deeply_nested_condition(tmp_path, condition):
    text = (HEAD + "    sel:\n        Image: 'a'\n    sel2:\n        User: 'b'\n"
            "    condition: " + condition + "\n")
    path = write(tmp_path, "deep.yml", text)
    res = load_file(path)
    if res.rules:
        assert res.findings == []
        assert depth(res.rules[0].tree) <= 200
        assert res.rules[0].branch_view()[0]
    else:
        f = one_parse_error(res, path)
        # The problem is in the condition, and the loader knows where that is.
        assert f.line == line_no(text, "condition:")


def test_huge_value_list_loads(tmp_path):
    n = 100_000
    text = (HEAD + "    sel:\n        CommandLine|contains:\n"
            + "".join(f"            - 'v{i}'\n" for i in range(n))
            + "    condition: sel\n")
    path = write(tmp_path, "huge.yml", text)
    res = load_file(path)
    assert res.findings == []
    assert len(res.rules) == 1
    rule = res.rules[0]
    assert len(rule.predicates) == 1
    p = rule.predicates[0]
    assert p.op == "contains"
    assert len(p.values) == n
    assert p.values[0] == "v0" and p.values[-1] == f"v{n - 1}"
    assert p.line == line_no(text, "CommandLine|contains")
    assert rule.tree == Leaf(0)


@pytest.mark.parametrize("condition", [
    "selection | count() > 5",
    "selection | count(User) by ComputerName > 10",
    "selection | near other",
])
def test_deprecated_pipe_aggregation(tmp_path, condition):
    text = HEAD + "    selection:\n        Image: 'a'\n    other:\n        User: 'b'\n    condition: " + condition + "\n"
    path = write(tmp_path, "pipe.yml", text)
    f = one_parse_error(load_file(path), path)
    assert f.line == line_no(text, "condition:")


def test_one_bad_document_does_not_hide_the_good_ones(tmp_path):
    good = HEAD + "    sel:\n        Image: 'a'\n    condition: sel\n"
    text = good + "---\n" + HEAD + "    sel:\n        Image|bogus: 'a'\n    condition: sel\n---\n" + good
    path = write(tmp_path, "multi.yml", text)
    res = load_file(path)
    assert len(res.rules) == 2
    assert len(res.findings) == 1
    f = res.findings[0]
    assert (f.name, f.path) == ("parse-error", path)
    assert f.line == line_no(text, "Image|bogus")
