"""Inline suppression comments: what they cover, and what is reported when they cover nothing."""

from __future__ import annotations

import textwrap

import pytest

from rulelint.checks import BY_CODE
from rulelint.findings import Finding
from rulelint.suppression import Directive, apply, directives

UNUSED = BY_CODE["RL003"]

NAMES = {"RL001": "parse-error", "RL002": "no-query-logic", "RL101": "noisy-standalone-indicator",
         "RL102": "missing-common-exclusion", "RL003": "unused-suppression"}


def f(path: str, line: int | None, code: str = "RL101") -> Finding:
    return Finding(code=code, name=NAMES[code], severity="warning", message=f"{code} here", path=path, line=line,
                   rule_id="rid", rule_key="rid")


def run(files: dict[str, str], findings: list[Finding], enabled=None) -> tuple[list[Finding], list[Finding]]:
    texts = {p: textwrap.dedent(t) for p, t in files.items()}
    return apply(findings, list(texts), texts.get, enabled)


def kept_lines(kept: list[Finding]) -> list[tuple[int | None, str]]:
    return [(x.line, x.code) for x in kept]


SIGMA = """\
title: Cmd
id: 0b6c9a1e-0000-4000-8000-000000000001
logsource:
    category: process_creation
detection:
    selection:
        Image|endswith: '\\cmd.exe'   # rulelint: disable=RL101
    # rulelint: disable=missing-common-exclusion
    condition: selection
level: medium
"""


def test_trailing_comment_covers_its_line():
    kept, unused = run({"x.yml": SIGMA}, [f("x.yml", 7), f("x.yml", 9)])
    assert kept_lines(kept) == [(9, "RL101")] and [u.line for u in unused] == [8]  # line 8 covers RL102


def test_own_line_comment_covers_the_next_line():
    kept, unused = run({"x.yml": SIGMA}, [f("x.yml", 9, "RL102"), f("x.yml", 10, "RL102"), f("x.yml", 7)])
    assert kept_lines(kept) == [(10, "RL102")] and unused == []


def test_own_line_comment_skips_blank_and_comment_lines():
    text = "a: 1\n# rulelint: disable=RL101\n\n# another comment\n# rulelint: disable=RL102\nb: 2\n"
    kept, unused = run({"x.yml": text}, [f("x.yml", 6), f("x.yml", 6, "RL102")])
    assert kept == [] and unused == []


def test_whole_file_and_all():
    text = "title: x\n# rulelint: disable-file=RL102\ndetection: {}\n"
    kept, unused = run({"x.yml": text}, [f("x.yml", 3, "RL102"), f("x.yml", None, "RL102"), f("x.yml", 3)])
    assert kept_lines(kept) == [(3, "RL101")] and unused == []
    kept, unused = run({"x.yml": "a: 1  # rulelint: disable-file=all\n"}, [f("x.yml", 9), f("x.yml", 1, "RL001")])
    assert kept == [] and unused == []


@pytest.mark.parametrize("token", ["RL101", "rl101", "noisy-standalone-indicator", "RL1", "all", "ALL"])
def test_tokens_codes_names_prefixes(token):
    kept, unused = run({"x.yml": f"a: 1  # rulelint: disable={token}\n"}, [f("x.yml", 1)])
    assert kept == [] and unused == []


def test_several_tokens_and_a_reason():
    text = "a: 1  # rulelint: disable=RL101, missing-common-exclusion -- reviewed, the corpus is wrong\n"
    kept, unused = run({"x.yml": text}, [f("x.yml", 1), f("x.yml", 1, "RL102")])
    assert kept == [] and unused == []


def test_parse_errors_are_suppressed_like_any_finding():
    kept, _ = run({"x.yml": "# rulelint: disable-file=parse-error\nbad: [\n"}, [f("x.yml", 2, "RL001")])
    assert kept == []


def test_toml_file_and_its_multiline_query():
    text = """\
    [rule]
    name = "Cmd"  # rulelint: disable=RL102
    # rulelint: disable=RL101
    query = '''
    event.category:process and
    process.name:cmd.exe # rulelint: disable=RL002 is query text, not a comment
    '''
    type = "query"
    """
    kept, unused = run({"r.toml": text}, [f("r.toml", 2, "RL102"), f("r.toml", 5), f("r.toml", 6), f("r.toml", 8)])
    assert kept_lines(kept) == [(8, "RL101")] and unused == []
    assert [d.line for d in directives(textwrap.dedent(text), "toml")] == [2, 3]


def test_yaml_block_scalar_and_multiline_quoted_value_are_covered():
    text = """\
    # rulelint: disable=RL101
    search: '| tstats count from datamodel=Endpoint.Processes
      where Processes.process_name=cmd.exe # not a comment: inside the quotes
      by Processes.dest'
    # rulelint: disable=RL102
    query: |
      process where process.name == "cmd.exe"
      # rulelint: disable=all  <- block scalar content, not a comment
    name: x
    """
    ds = directives(textwrap.dedent(text))
    assert [(d.line, d.target_line, d.target_end) for d in ds] == [(1, 2, 4), (5, 6, 8)]
    kept, unused = run({"s.yml": text}, [f("s.yml", 3), f("s.yml", 7, "RL102"), f("s.yml", 9, "RL102")])
    assert kept_lines(kept) == [(9, "RL102")] and unused == []


def test_parent_key_covers_only_its_own_line():
    text = "# rulelint: disable=RL101\ndetection:\n    selection:\n        Image: x\n"
    assert directives(text) == [Directive(1, "line", ("RL101",), 2, 2)]
    kept, unused = run({"x.yml": text}, [f("x.yml", 2), f("x.yml", 4)])
    assert kept_lines(kept) == [(4, "RL101")] and unused == []


def test_sequence_item_does_not_cover_its_sibling_keys():
    text = "sel:\n    # rulelint: disable=RL101\n    - Image: x\n      CommandLine: y\n"
    assert directives(text)[0].target_end == 3


def test_hash_inside_a_quoted_string_is_not_a_directive():
    text = """\
    a: 'x # rulelint: disable=RL101'
    b: "y # rulelint: disable=RL101"
    c: don't # rulelint: disable=RL102
    d: x#rulelint: disable=RL101
    """
    ds = directives(textwrap.dedent(text))
    assert [(d.line, d.tokens) for d in ds] == [(3, ("RL102",))]
    toml = 'a = "x # rulelint: disable=RL101"\nb = \'y # rulelint: disable=RL101\'\n'
    assert directives(toml, "toml") == []


def test_unused_suppression_is_reported_with_its_line():
    kept, unused = run({"corpus/x.yml": SIGMA}, [f("corpus/x.yml", 9)])
    assert kept_lines(kept) == [(9, "RL101")]
    assert [(u.code, u.name, u.severity, u.path, u.line) for u in unused] == [
        ("RL003", "unused-suppression", "warning", "corpus/x.yml", 7),
        ("RL003", "unused-suppression", "warning", "corpus/x.yml", 8),
    ]
    assert unused[0].message == "corpus/x.yml:7 suppresses RL101, which reports nothing here; remove the comment."
    assert unused[1].message == ("corpus/x.yml:8 suppresses missing-common-exclusion on line 9, "
                                 "which reports nothing there; remove the comment.")
    assert unused[0].rule_id == "rid"


def test_partly_used_directive_names_only_the_idle_tokens():
    _, unused = run({"x.yml": "a: 1  # rulelint: disable=RL101,RL102\n"}, [f("x.yml", 1)])
    assert [u.message for u in unused] == ["x.yml:1 suppresses RL102, which reports nothing here; "
                                           "remove it from the comment."]


def test_unused_file_directive_in_a_file_without_findings():
    kept, unused = run({"a.yml": "x: 1\n", "b.yml": "# rulelint: disable-file=RL101,RL102\n"}, [f("a.yml", 1)])
    assert len(kept) == 1
    assert [u.message for u in unused] == ["b.yml:1 suppresses RL101 and RL102 in the whole file, "
                                           "which report nothing in it; remove the comment."]


def test_unknown_check_is_reported():
    kept, unused = run({"x.yml": "a: 1  # rulelint: disable=RL999,RL101\n"}, [f("x.yml", 1)])
    assert kept == []
    assert [u.message for u in unused] == ["x.yml:1 names an unknown check RL999, which suppresses nothing; "
                                           "fix the name or remove it (`rulelint rules` lists the checks)."]


def test_malformed_directive_is_reported():
    _, unused = run({"x.yml": "a: 1  # rulelint: disabel=RL101\n"}, [f("x.yml", 1)])
    assert len(unused) == 1 and unused[0].line == 1 and "is not a rulelint directive" in unused[0].message


def test_a_directive_can_silence_reports_about_itself():
    _, unused = run({"x.yml": "a: 1  # rulelint: disable=RL101,unused-suppression\n"}, [])
    assert unused == []
    _, unused = run({"x.yml": "a: 1  # rulelint: disable=RL101\n# rulelint: disable-file=RL003\n"}, [])
    assert unused == []
    _, unused = run({"x.yml": "a: 1  # rulelint: disable=RL003\n"}, [])  # silences nothing: reported
    assert [u.line for u in unused] == [1]


def test_checks_that_did_not_run_are_not_judged_unused():
    text = "a: 1  # rulelint: disable=RL101,RL102\n"
    _, unused = run({"x.yml": text}, [], enabled=[BY_CODE["RL101"], UNUSED])
    assert [u.data["tokens"] for u in unused] == [["RL101"]]


def test_no_reports_when_unused_suppression_itself_is_not_enabled():
    kept, unused = run({"x.yml": "a: 1  # rulelint: disable=RL102,RL9\nb: 2  # rulelint: disable=RL101\n"},
                       [f("x.yml", 2)], enabled=[BY_CODE["RL101"], BY_CODE["RL102"]])
    assert kept == [] and unused == []


def test_findings_of_other_files_are_untouched():
    a = f("a.yml", 1)
    b = f("b.yml", 1)
    none = f("gone.yml", 1)  # unreadable: kept as it is
    kept, unused = run({"a.yml": "a: 1  # rulelint: disable-file=all\n", "b.yml": "a: 1\n"}, [a, b, none])
    assert kept == [b, none] and unused == []


def test_a_file_is_scanned_once_however_its_path_is_spelled():
    texts = {"rules/x.yml": "a: 1  # rulelint: disable=RL101,RL102\n"}
    kept, unused = apply([f("rules/x.yml", 1)], ["./rules/x.yml", "rules//x.yml"], texts.get)
    assert kept == [] and len(unused) == 1
