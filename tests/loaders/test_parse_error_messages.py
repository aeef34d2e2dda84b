"""Parse errors keep the parser's detail, in words a rule author knows: each says where
(the file's line and column, also in `Finding.column`), what was found and what was
expected, and never a parser's internal vocabulary (`__ANON_3`, `RPAR`, pyparsing's
`Expected {{{'1' | 'any' ...`, `at offset 175`)."""

from __future__ import annotations

import json
import re

import pytest

from rulelint.loaders import load_file
from rulelint.loaders.sigma_errors import condition_problem
from rulelint.loaders.words import show

SIGMA = """title: t
id: 0b6c1d7e-0a57-4a44-9d0e-3c1f1a9b1a01
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\evil.exe'
    filter_main:
        User: SYSTEM
    condition: selection and not filter_main
"""

ELASTIC = """[rule]
name = "t"
rule_id = "5d1e8b2f-62a3-4c7f-8b1d-8f3e5a9c2b01"
type = "{rtype}"
language = "{language}"
query = '''
{query}
'''
"""

SPLUNK = "name: t\nid: 5d1e8b2f-62a3-4c7f-8b1d-8f3e5a9c2b05\ntype: TTP\nsearch: '{search}'\n"

# Words that only a parser's author knows.
INTERNALS = re.compile(r"__ANON|\bRPAR\b|\bLPAR\b|\$END|DQ_STRING|Expected \{|at offset|\bW:\(|"
                       r"while scanning|while parsing|UNQUOTED|pos_in_stream")


def _error(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    res = load_file(str(path))
    errors = [f for f in res.findings if f.name == "parse-error"]
    assert len(errors) == 1 and not res.rules, res
    f = errors[0]
    assert not INTERNALS.search(f.message), f.message
    assert f.message.count(str(path)) == 1
    return f


CASES = [
    # (id, file name, text, line, column, substrings of the message)
    ("yaml tab indentation", "r.yml", SIGMA.replace("        User: SYSTEM", "\tUser: SYSTEM"), 10, 1,
     ["a tab character is not allowed for indentation at line 10 column 1"]),
    ("yaml unknown escape", "r.yml", SIGMA.replace("'\\evil.exe'", '"C:\\my\\evil.exe"'), 8, 28,
     ["unknown escape `\\m` in a double-quoted string at line 8 column 28", "single quotes"]),
    ("yaml colon in a plain value", "r.yml", SIGMA.replace("title: t", "title: a: b"), 1, 9,
     ["unexpected `:` at line 1 column 9", "quote a value"]),
    ("yaml unclosed flow list", "r.yml", SIGMA.replace("User: SYSTEM", "User: [SYSTEM"), 11, 14,
     ["in the `[...]` list started on line 10, expected `,` or `]` at line 11 column 14, found `:`"]),
    ("yaml control character", "r.yml", SIGMA.replace("title: t", "title: t\x07"), 1, 9,
     ["U+0007 is not allowed in YAML", "at line 1 column 9"]),
    ("toml line break in a string", "r.toml", '[rule]\nname = "unterminated\nrule_id = "x"\n', 2, 21,
     ["invalid TOML: a line break inside a one-line string at line 2 column 21"]),
    ("toml key set twice", "r.toml", '[rule]\nname = "a"\nname = "b"\n', 3, 1,
     ["invalid TOML: `name` is set twice, the second time at line 3 column 1"]),
    ("toml unknown escape", "r.toml", '[rule]\nname = "C:\\q"\n', 2, 11,
     ["unknown escape `\\q` in a double-quoted string at line 2 column 11", "single quotes"]),
    ("eql missing comma", "r.toml", ELASTIC.format(rtype="eql", language="eql",
                                                    query='process where\n  process.name : ("a.exe" "b.exe")'), 8, 27,
     ['EQL: unexpected `"b.exe"` at line 8 column 27; expected `,` or `)`']),
    ("eql doubled operator", "r.toml", ELASTIC.format(rtype="eql", language="eql",
                                                       query='process where event.action = = "start"'), 7, 30,
     ["EQL: unexpected `=` at line 7 column 30; expected `(`, a field or a value"]),
    ("eql semantic error keeps eql's message", "r.toml", ELASTIC.format(
        rtype="eql", language="eql", query='process where length(a, b) == 1'), 7, 25,
     ["EQL: expected only 1 argument to function length, found `b` at line 7 column 25"]),
    ("kql empty alternative", "r.toml", ELASTIC.format(rtype="query", language="kuery",
                                                        query='process.name : (a or )'), 7, 22,
     ["KQL: unexpected `)` at line 7 column 22; expected `(`, `not`, a quoted value or a value"]),
    ("kql one-line query", "r.toml", ELASTIC.format(rtype="query", language="kuery", query="x").replace(
        "query = '''\nx\n'''", 'query = "a:b c:d"'), 6, 15,
     ["KQL: unexpected `:` at line 6 column 15; expected `and`, `or` or the end of the query"]),
    ("esql command typo", "r.toml", ELASTIC.format(rtype="esql", language="esql",
                                                    query='from logs-*\n| wher process.name == "a"'), 8, 3,
     ["ES|QL: unknown command `WHER` at line 8 column 3; expected a command name (did you mean `WHERE`?)"]),
    ("esql ends early", "r.toml", ELASTIC.format(rtype="esql", language="esql",
                                                  query='from logs-* | where process.name =='), 7, 36,
     ["ES|QL: the command ends too early at line 7 column 36; expected `(`, `[`, a column name, a value"]),
    ("lucene unclosed group", "r.toml", ELASTIC.format(rtype="query", language="lucene",
                                                        query="a:((b OR c)"), 7, 12,
     ["Lucene: unexpected end of the query at line 7 column 12; expected `)` before the end of the query"]),
    ("spl where ends early", "detections/endpoint/r.yml",
     SPLUNK.format(search="index=x a=1 | where b==\"c\" AND"), 4, 40,
     ["SPL: the where expression ends too early at line 4 column 40; expected `NOT`, `(`"]),
    ("spl unclosed parenthesis", "detections/endpoint/r.yml",
     SPLUNK.format(search="index=x (a=1 OR b=2"), 4, 18,
     ["SPL: the `(` here is never closed in the search expression at line 4 column 18; expected `)`"]),
    ("sigma doubled operator", "r.yml", SIGMA.replace("selection and not filter_main", "selection and and filter_main"),
     11, 30, ["the condition `selection and and filter_main` has an unexpected `and` at line 11 column 30; "
              "expected a detection name, `1 of`, `all of`, `not` or `(`"]),
    ("sigma trailing operator", "r.yml", SIGMA.replace("selection and not filter_main", "selection or"), 11, 28,
     ["the condition `selection or` ends after `or` at line 11 column 28; expected a detection name"]),
    ("sigma upper-case operator", "r.yml", SIGMA.replace("selection and not filter_main", "selection AND filter_main"),
     11, 26, ["has an unexpected `AND` at line 11 column 26", "lower case"]),
    ("sigma quantifier typo", "r.yml", SIGMA.replace("selection and not filter_main", "1 off selection"), 11, 18,
     ["has an unexpected `off`", "did you mean `1 of`?"]),
    ("sigma unclosed parenthesis", "r.yml", SIGMA.replace("selection and not filter_main", "'(selection or x'"), 11, 17,
     ["the condition `(selection or x` never closes the `(` at line 11 column 17; expected `)`"]),
    ("sigma unknown modifier", "r.yml", SIGMA.replace("Image|endswith", "Image|endwith"), 8, 15,
     ["unknown modifier `endwith` in `Image|endwith` at line 8 column 15; did you mean `endswith`?"]),
    ("sigma unknown modifier in a chain", "r.yml", SIGMA.replace("Image|endswith", "Image|contain|all"), 8, 15,
     ["unknown modifier `contain` in `Image|contain|all` at line 8 column 15; did you mean `contains`?"]),
]


@pytest.mark.parametrize("name, text, line, column, parts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_error_says_where_what_and_expected(tmp_path, name, text, line, column, parts):
    f = _error(tmp_path, name, text)
    assert (f.line, f.column) == (line, column), f.message
    for part in parts:
        assert part in f.message, f.message
    assert f.message.endswith((".", "?")) and not f.message.endswith("?.")


def test_undefined_detection_suggests_the_close_name(tmp_path):
    f = _error(tmp_path, "r.yml", SIGMA.replace("not filter_main", "not filter_mian"))
    assert f.line == 11
    assert "'filter_mian', which is not defined under detection; did you mean `filter_main`?" in f.message


def test_pipe_conditions_keep_pysigmas_reason(tmp_path):
    f = _error(tmp_path, "r.yml", SIGMA.replace("selection and not filter_main", "selection | count() > 5"))
    assert "pipe syntax" in f.message and f.line == 11


def test_condition_grammar_accepts_what_pysigma_accepts():
    for ok in ("sel", "not sel", "1 of sel*", "all of them", "any of sel_* and not 1 of filter_*",
               "(a or b) and not (c or (d and e))", "a-b and c_d"):
        assert condition_problem(ok) is None, ok


def test_column_reaches_json_and_sarif(tmp_path):
    from rulelint.findings import Finding
    from rulelint.renderers.github import annotation
    from rulelint.renderers.sarif import result

    f = _error(tmp_path, "r.yml", SIGMA.replace("Image|endswith", "Image|endwith"))
    assert json.loads(json.dumps(f.to_dict()))["column"] == 15
    region = result(f, "fp", 0, str(tmp_path))["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 8, "startColumn": 15}
    assert "line=8,col=15" in annotation(f)
    # Other findings keep no column.
    plain = Finding(code="RL101", name="x", severity="warning", message="m", path=str(tmp_path / "r.yml"), line=3)
    assert "startColumn" not in result(plain, "fp", 0, str(tmp_path))["locations"][0]["physicalLocation"]["region"]


def test_show_spells_out_control_characters():
    assert show("a\tb\x1b[31m\u202e") == "`a\\tbU+001B[31mU+202E`"
    assert show("x" * 50).endswith("…`")
