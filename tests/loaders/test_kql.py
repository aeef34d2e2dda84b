"""KQL parser: each construct, errors with offsets, bounds, and the whole Elastic corpus."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulelint.loaders.kql import MAX_QUERY_CHARS, parse_kql
from rulelint.loaders.query import PredicateSink, QueryError
from rulelint.model.predicate import KEYWORD_FIELD
from rulelint.model.tree import MAX_DEPTH, And, Leaf, Not, Or, to_dict


def parse(text: str):
    """(tree as dict, [(field, op, values)]) for a query that must parse."""
    sink = PredicateSink(text)
    node = parse_kql(text, sink)
    return to_dict(node), [(p.field, p.op, p.values) for p in sink.predicates]


def preds(text: str):
    return parse(text)[1]


def error(text: str) -> QueryError:
    with pytest.raises(QueryError) as exc:
        parse_kql(text, PredicateSink(text))
    return exc.value


# -- field : value -------------------------------------------------------------------

def test_field_value_and_spacing():
    assert parse("process.name:cmd.exe") == (0, [("process.name", "eq", ("cmd.exe",))])
    assert preds("process.name  :  cmd.exe") == [("process.name", "eq", ("cmd.exe",))]


def test_values_fold_case_fields_keep_it():
    assert preds("Process.Name:CMD.EXE") == [("Process.Name", "eq", ("cmd.exe",))]


def test_quoted_value_is_literal():
    assert preds('a:"x y"') == [("a", "eq", ("x y",))]
    # `*` inside quotes is no wildcard in KQL
    assert preds('a:"*evil*"') == [("a", "eq", ("*evil*",))]
    assert preds('a:"*"') == [("a", "eq", ("*",))]


def test_quoted_escapes():
    assert preds(r'a:"say \"hi\""') == [("a", "eq", ('say "hi"',))]
    assert preds(r'a:"C:\\Windows\\x"') == [("a", "eq", ("c:\\windows\\x",))]
    # a backslash before any other character is itself
    assert preds(r'a:"C:\Windows\x"') == [("a", "eq", ("c:\\windows\\x",))]
    assert preds(r'a:"\u0041\t"') == [("a", "eq", ("a\t",))]


def test_unquoted_wildcards_classify():
    assert preds("a:*cmd.exe") == [("a", "ends_with", ("cmd.exe",))]
    assert preds("a:cmd*") == [("a", "starts_with", ("cmd",))]
    assert preds("a:*cmd*") == [("a", "contains", ("cmd",))]
    assert preds("a:c*d") == [("a", "wildcard", ("c*d",))]


def test_unquoted_value_may_hold_spaces():
    # Kibana reads `a b` up to the next keyword as one value
    assert parse("a:Directory Service Changes and b:c") == (
        {"and": [0, 1]}, [("a", "eq", ("directory service changes",)), ("b", "eq", ("c",))])


def test_unquoted_escapes():
    assert preds(r"a:x\*y") == [("a", "eq", ("x*y",))]  # escaped star is literal
    assert preds(r"a:system\:serviceaccount\:*") == [("a", "starts_with", ("system:serviceaccount:",))]
    assert preds(r"a:\(x\)") == [("a", "eq", ("(x)",))]
    assert preds(r"a:\or") == [("a", "eq", ("or",))]
    assert preds(r"a:\u0041") == [("a", "eq", ("a",))]


def test_windows_paths_come_out_with_single_backslashes():
    assert preds(r"a:C\:\\Windows\\*") == [("a", "starts_with", ("c:\\windows\\",))]
    assert preds(r"a:*\\cmd.exe") == [("a", "ends_with", ("\\cmd.exe",))]
    # a backslash right before a wildcard is shown doubled in wildcard patterns only
    assert preds(r"a:C\:\\*\\x.exe") == [("a", "wildcard", ("c:\\\\*\\x.exe",))]


def test_star_alone_is_exists():
    assert preds("process.args : *") == [("process.args", "exists", ("",))]


def test_numbers_and_booleans_are_text():
    assert preds("a:5 and b:true and c:null") == [
        ("a", "eq", ("5",)), ("b", "eq", ("true",)), ("c", "eq", ("null",))]


def test_field_names_as_written():
    assert preds("winlog.event_data.* : foo") == [("winlog.event_data.*", "eq", ("foo",))]
    assert preds("@timestamp:x and k8s.io/decision:allow") == [
        ("@timestamp", "eq", ("x",)), ("k8s.io/decision", "eq", ("allow",))]
    assert preds('"my field":x') == [("my field", "eq", ("x",))]


def test_question_mark_is_literal():
    assert preds("a:x?y*") == [("a", "starts_with", ("x?y",))]


# -- value lists -----------------------------------------------------------------------

def test_value_list_same_op_is_one_predicate():
    assert parse("a:(x or y or z)") == (0, [("a", "eq", ("x", "y", "z"))])


def test_value_list_mixed_ops_is_or_of_one_leaf_per_op():
    assert parse('a:(x or *y or z* or "w" or *v)') == (
        {"or": [0, 1, 2]},
        [("a", "eq", ("x", "w")), ("a", "ends_with", ("y", "v")), ("a", "starts_with", ("z",))])


def test_value_list_brackets_and_nested_or_flatten():
    assert parse("a:((x) or (y or (z)))") == (0, [("a", "eq", ("x", "y", "z"))])


def test_value_list_and_not():
    assert parse("a:(x and y)") == ({"and": [0, 1]}, [("a", "eq", ("x",)), ("a", "eq", ("y",))])
    assert parse("a:(not x)") == ({"not": 0}, [("a", "eq", ("x",))])
    assert parse("a:(* and not (x or y*))") == (
        {"and": [0, {"not": {"or": [1, 2]}}]},
        [("a", "exists", ("",)), ("a", "eq", ("x",)), ("a", "starts_with", ("y",))])
    # and binds tighter than or among values too
    assert parse("a:(x or y and z)")[0] == {"or": [0, {"and": [1, 2]}]}


# -- boolean structure -----------------------------------------------------------------

def test_precedence_not_and_or():
    tree, _ = parse("a:1 or b:2 and not c:3")
    assert tree == {"or": [0, {"and": [1, {"not": 2}]}]}
    tree, _ = parse("(a:1 or b:2) and c:3")
    assert tree == {"and": [{"or": [0, 1]}, 2]}


def test_keywords_any_case():
    assert parse("a:1 OR b:2 And NOT c:3")[0] == {"or": [0, {"and": [1, {"not": 2}]}]}


def test_keyword_inside_a_word_is_not_a_keyword():
    assert preds("android:orange and notes:cannot") == [
        ("android", "eq", ("orange",)), ("notes", "eq", ("cannot",))]


def test_chains_are_flat():
    tree, _ = parse("a:1 and (b:2 and c:3) and d:4")
    assert tree == {"and": [0, 1, 2, 3]}


def test_returns_model_nodes():
    sink = PredicateSink()
    node = parse_kql("a:1 or not b:2", sink)
    assert isinstance(node, Or) and isinstance(node.children[0], Leaf) and isinstance(node.children[1], Not)
    assert isinstance(parse_kql("a:1 and b:2", sink), And)


# -- nested, ranges, field-less ------------------------------------------------------

def test_nested_fields_get_the_outer_prefix():
    assert parse("a:{ b:c and d:{ e:f } } and g:h") == (
        {"and": [0, 1, 2]},
        [("a.b", "eq", ("c",)), ("a.d.e", "eq", ("f",)), ("g", "eq", ("h",))])


def test_ranges():
    assert preds('a >= 5 and b<3 and c > "x" and d<=1.5') == [
        ("a", "ge", ("5",)), ("b", "lt", ("3",)), ("c", "gt", ("x",)), ("d", "le", ("1.5",))]


def test_field_less_terms():
    assert preds("hello") == [(KEYWORD_FIELD, "eq", ("hello",))]
    assert preds('"hello world"') == [(KEYWORD_FIELD, "eq", ("hello world",))]
    assert preds("*evil* and a:b") == [(KEYWORD_FIELD, "contains", ("evil",)), ("a", "eq", ("b",))]


@pytest.mark.parametrize("text", ["", "   \n ", "*", " * ", "*:*", "(*)"])
def test_match_all_is_none(text):
    sink = PredicateSink(text)
    assert parse_kql(text, sink) is None
    assert sink.predicates == []


def test_offsets_point_at_values():
    text = "a:b and\n  c:(d or\n  e*)\n and f >= 3"
    sink = PredicateSink(text, base_line=10)
    parse_kql(text, sink)
    assert [p.line for p in sink.predicates] == [10, 11, 12, 13]


# -- errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, construct, offset", [
    ('a:"unclosed', "unclosed quote", 2),
    ('a:b and c:"x', "unclosed quote", 10),
    ("a:(b or c", "unclosed parenthesis", 2),
    ("(a:b and c:d", "unclosed parenthesis", 0),
    ("a:{b:c", "unclosed brace", 2),
    ("a:b and", "dangling 'and'", 4),
    ("a:b OR", "dangling 'or'", 4),
    ("not", "dangling 'not'", 0),
    ("a:b)", "unexpected token ')'", 3),
    ("a:(b or )", "unexpected token ')'", 8),
    ("a:b and or c:d", "unexpected token 'or'", 8),
    ("a:", "missing value", 1),
    ("a >=", "missing value", 2),
    ("a:b c:d", "unexpected token ':'", 5),   # missing and/or
    (r"a:C:\Windows", "unexpected token ':'", 3),  # unescaped ':' in a value
    (r"a:C\:\Windows", "invalid escape", 5),       # `\W` is no escape in KQL
    ("a:b\\", "dangling backslash", 3),
    ("a:{}", "unexpected token '}'", 3),
    ("a <> c", "unexpected token '>'", 3),
])
def test_errors_name_the_construct_and_point_at_it(text, construct, offset):
    e = error(text)
    assert e.construct == construct, e.reason
    assert e.offset == offset, e.reason
    assert e.reason


def test_too_long_is_refused():
    e = error("a:" + "x" * MAX_QUERY_CHARS)
    assert e.construct == "query too long"


def test_nesting_bound():
    ok = "(" * MAX_DEPTH + "a:b" + ")" * MAX_DEPTH
    assert preds(ok) == [("a", "eq", ("b",))]
    deep = "(" * (MAX_DEPTH + 1) + "a:b" + ")" * (MAX_DEPTH + 1)
    e = error(deep)
    assert e.construct == "nesting too deep" and e.offset == MAX_DEPTH
    assert error("not " * 1000 + "a:b").construct == "nesting too deep"
    assert error("a:" + "(" * 300 + "b" + ")" * 300).construct == "nesting too deep"
    # and/or alternating inside brackets: the model tree itself would be too deep
    alt = "".join(f"(x{i}:1 or y{i}:1 and " for i in range(150)) + "z:1" + ")" * 150
    assert error(alt).construct == "nesting too deep"


def test_long_flat_query_is_fine():
    text = " or ".join(f"a{i}:v{i}" for i in range(5000))
    assert len(preds(text)) == 5000


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab :*()"\\{}<>=!\n', max_size=40) | st.text(max_size=20))
def test_any_input_parses_or_raises_query_error(text):
    try:
        parse_kql(text, PredicateSink(text))
    except QueryError as e:
        assert e.offset is None or 0 <= e.offset <= len(text)


# -- the Elastic corpus ----------------------------------------------------------------

def corpus_queries(root: Path) -> list[tuple[str, str]]:
    """(file:key, text) of every KQL query: `query` of kuery rules, `threat_query` of kuery threat rules."""
    out = []
    for path in sorted((root / "elastic").rglob("*.toml")):
        rule = tomllib.loads(path.read_text(encoding="utf-8")).get("rule", {})
        for key, lang in (("query", "language"), ("threat_query", "threat_language")):
            if rule.get(lang) == "kuery":
                out.append((f"{path.relative_to(root)}:{key}", rule[key]))
    return out


@pytest.fixture(scope="module")
def kql_corpus(shared_corpus: Path) -> dict[str, str]:
    if not (shared_corpus / "elastic").is_dir():
        pytest.skip(f"no elastic rules under {shared_corpus}")
    return dict(corpus_queries(shared_corpus))


def test_every_corpus_query_parses(kql_corpus):
    assert len(kql_corpus) >= 801
    failures, empty = [], []
    for where, text in kql_corpus.items():
        sink = PredicateSink(text)
        try:
            parse_kql(text, sink)
        except QueryError as e:
            failures.append(f"{where} @{e.offset}: {e.construct}: {e.reason}")
            continue
        if not sink.predicates and text.strip() != "*":
            empty.append(where)
    assert not failures, "\n".join(failures)
    assert not empty, empty


def corpus_parse(kql_corpus: dict[str, str], name: str, key: str = "query"):
    [text] = [t for w, t in kql_corpus.items() if w.endswith(f"/{name}:{key}")]
    return parse(text)


def test_corpus_value_list_with_escaped_trailing_backslash(kql_corpus):
    # process.args:(*\\ and ("-i" or "-s")): ends with one backslash, and one of two flags
    tree, ps = corpus_parse(kql_corpus, "privilege_escalation_sudo_buffer_overflow.toml")
    assert tree == {"and": [0, 1, 2, 3, 4]}
    assert ps[2] == ("process.name", "eq", ("sudo", "sudoedit"))
    assert ps[3] == ("process.args", "ends_with", ("\\",))
    assert ps[4] == ("process.args", "eq", ("-i", "-s"))


def test_corpus_nested_query(kql_corpus):
    tree, ps = corpus_parse(kql_corpus, "persistence_gcp_service_account_impersonation_role_grant.toml")
    assert tree == {"and": [0, 1, 2, 3, 4]}
    assert ps[1] == ("event.action", "wildcard", ("google.iam.admin.v*.setiampolicy",))
    prefix = "gcp.audit.service_data.policy_delta.binding_deltas."
    assert ps[3] == (prefix + "action", "eq", ("add",))
    assert ps[4][0] == prefix + "role" and ps[4][1] == "eq" and len(ps[4][2]) == 3


def test_corpus_escaped_colons_and_value_level_not(kql_corpus):
    tree, ps = corpus_parse(kql_corpus, "initial_access_assume_role_with_web_identity_kubernetes_sa_from_external_asn.toml")
    assert tree == {"and": [0, 1, 2, 3, 4, {"not": 5}, 6, {"not": 7}]}
    assert ps[4] == ("user.name", "starts_with", ("system:serviceaccount:",))
    assert ps[5] == ("user.name", "eq", ("system:serviceaccount:kube-system:aws-load-balancer-controller",))
    assert ps[6] == ("source.as.organization.name", "exists", ("",))
    assert ps[7] == ("source.as.organization.name", "starts_with", ("amazon",))


def test_corpus_threat_query_with_range_and_field_wildcards(kql_corpus):
    tree, ps = corpus_parse(kql_corpus, "threat_intel_filebeat8x.toml", "threat_query")
    assert tree == {"and": [0, 1, {"or": [2, 3, 4, 5, 6]}]}
    assert ps[0] == ("@timestamp", "ge", ("now-30d/d",))
    assert ps[2] == ("threat.indicator.file.hash.*", "exists", ("",))


def test_corpus_windows_paths(kql_corpus):
    _, ps = corpus_parse(kql_corpus, "execution_aws_ssm_session_manager_child_process.toml")
    values = {v for p in ps for v in p[2]}
    # quoted "C:\\Program Files\\..." and unquoted C\:\\ProgramData\\...\\*\\updater.exe
    assert "c:\\program files\\amazon\\ssm\\plugins\\sessionmanagershell\\winpty-agent.exe" in values
    assert "c:\\programdata\\amazon\\ssm\\update\\amazon-ssm-agent-updater\\\\*\\updater.exe" in values


def test_corpus_unicode_escape_range_and_contains_list(kql_corpus):
    tree, ps = corpus_parse(kql_corpus, "defense_evasion_exchange_new_inbox_rule_delete_or_move.toml")
    assert tree == {"and": [0, 1, 2, {"or": [3, 4, 5]}, {"or": [6, 7]}]}
    assert ps[3] == ("o365.audit.Parameters.BodyContainsWords", "eq", ("\x00",))
    assert ps[4] == ("o365.audit.Parameters.WithinSizeRangeMinimum", "le", ("1023",))
    assert ps[5][1] == "contains" and len(ps[5][2]) == 15
