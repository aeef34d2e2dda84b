"""ES|QL parser: each construct, computed columns, errors with offsets, bounds, and the
Elastic corpus."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulelint.loaders.esql import MAX_QUERY_CHARS, parse_esql, split_pipeline
from rulelint.loaders.query import PredicateSink, QueryError
from rulelint.model.tree import MAX_DEPTH, to_dict


def fake_kql(text: str, sink: PredicateSink, offset: int):
    """Stands in for the KQL parser: one predicate holding the text it was given."""
    return sink.add("kql", "eq", [text], case_sensitive=True, offset=offset)


def run(text: str, kql=fake_kql):
    sink = PredicateSink(text)
    return to_dict(parse_esql(text, sink, kql)), sink.predicates


def parse(text: str):
    """(tree as dict, [(field, op, values)]) for a query that must parse."""
    tree, preds = run(text)
    return tree, [(p.field, p.op, p.values) for p in preds]


def preds(text: str):
    return parse(text)[1]


def where(expr: str):
    return preds(f"FROM logs-* | WHERE {expr}")


def full(expr: str):
    """Predicates with case sensitivity and notes."""
    _, ps = run(f"FROM logs-* | WHERE {expr}")
    return [(p.field, p.op, p.values, p.case_sensitive, p.notes) for p in ps]


def error(text: str, kql=fake_kql) -> QueryError:
    with pytest.raises(QueryError) as exc:
        parse_esql(text, PredicateSink(text), kql)
    return exc.value


# -- comparisons ---------------------------------------------------------------------

def test_equality_is_case_sensitive():
    assert full('process.name == "CMD.exe"') == [("process.name", "eq", ("CMD.exe",), True, ())]


def test_not_equal_is_not_of_eq():
    assert parse('FROM x | WHERE a != "b"') == ({"not": 0}, [("a", "eq", ("b",))])


def test_ordering_operators():
    assert where("a < 1 and b <= 2 and c > 3 and d >= 4") == [
        ("a", "lt", ("1",)), ("b", "le", ("2",)), ("c", "gt", ("3",)), ("d", "ge", ("4",))]


def test_literal_on_the_left_flips():
    assert where('"x" == a and 5 > b and 5 <= c and "y" != d') == [
        ("a", "eq", ("x",)), ("b", "lt", ("5",)), ("c", "ge", ("5",)), ("d", "eq", ("y",))]
    assert parse('FROM x | WHERE "y" != d')[0] == {"not": 0}


def test_two_fields_compare_as_fieldref():
    assert parse("FROM x | WHERE a == b and c != d and e < f") == (
        {"and": [0, {"not": 1}]}, [("a", "fieldref", ("b",)), ("c", "fieldref", ("d",))])


def test_case_insensitive_equals_operator():
    assert full('a =~ "X"') == [("a", "eq", ("x",), False, ())]


def test_literals_numbers_booleans_timespans():
    assert where("a == 4719 and b == 1.5e3 and c == true and d == FALSE and e > 1 hour and f < 5m") == [
        ("a", "eq", ("4719",)), ("b", "eq", ("1.5e3",)), ("c", "eq", ("true",)), ("d", "eq", ("false",)),
        ("e", "gt", ("1 hour",)), ("f", "lt", ("5 m",))]
    assert where("a > -5 and b::long > 3 and \"10\"::long < c") == [
        ("a", "gt", ("-5",)), ("b", "gt", ("3",)), ("c", "gt", ("10",))]


def test_no_predicate_from_null_params_or_two_expressions():
    # Nothing to index: `x == null` is never true, ?params have no value yet.
    assert where("a == null and b == ?p and c == ?1 and d + 1 > e * 2 and @timestamp > NOW() - 1 hour") == []


def test_function_or_arithmetic_side_keeps_its_text():
    assert full("LENGTH(process.command_line) > 200 and a  +  b > 3") == [
        ("LENGTH(process.command_line)", "gt", ("200",), True, ("expression",)),
        ("a + b", "gt", ("3",), True, ("expression",))]


# -- IN, LIKE, RLIKE, IS NULL ---------------------------------------------------------

def test_in_is_one_eq_predicate_with_several_values():
    assert full('event.action IN ("start", "exec", null)') == [
        ("event.action", "eq", ("start", "exec"), True, ())]


def test_not_in():
    assert parse('FROM x | WHERE a NOT IN (1, 2)') == ({"not": 0}, [("a", "eq", ("1", "2"))])
    assert parse('FROM x | WHERE NOT a IN (1, 2)') == ({"not": 0}, [("a", "eq", ("1", "2"))])


def test_in_with_a_field_among_the_values():
    assert parse('FROM x | WHERE a IN ("x", b)') == (
        {"or": [0, 1]}, [("a", "eq", ("x",)), ("a", "fieldref", ("b",))])


def test_like_wildcards_classify():
    assert full('a LIKE "*evil*" and b LIKE "pre*" and c LIKE "*.exe" and d LIKE "x?y*z" and e LIKE "*"') == [
        ("a", "contains", ("evil",), True, ()), ("b", "starts_with", ("pre",), True, ()),
        ("c", "ends_with", (".exe",), True, ()), ("d", "wildcard", ("x?y*z",), True, ()),
        ("e", "exists", ("",), True, ())]


def test_like_backslash_escapes_the_next_character():
    # "C:\\\\Windows\\\\*" is the string C:\\Windows\\* and the pattern C:\Windows\ then a wildcard.
    assert where(r'a LIKE "C:\\\\Windows\\\\*"') == [("a", "starts_with", ("C:\\Windows\\",))]
    # One backslash in the string escapes the star: a literal `*`, no wildcard.
    assert where(r'a LIKE "C:\\*"') == [("a", "eq", ("C:*",))]
    # Triple quotes: no string escapes, so `\\` is the pattern's escaped backslash.
    assert where(r'a LIKE """C:\\Temp\\*"""') == [("a", "starts_with", ("C:\\Temp\\",))]


def test_like_list_groups_values_by_operator():
    assert parse('FROM x | WHERE a LIKE ("x*", "y*", "*z")') == (
        {"or": [0, 1]}, [("a", "starts_with", ("x", "y")), ("a", "ends_with", ("z",))])
    assert parse('FROM x | WHERE a NOT LIKE ("x*", "y*")') == ({"not": 0}, [("a", "starts_with", ("x", "y"))])


def test_rlike_is_regex_match():
    assert full(r'a RLIKE "[a-z]{4}\\.(pw|top)"') == [("a", "regex_match", (r"[a-z]{4}\.(pw|top)",), True, ())]
    assert parse('FROM x | WHERE a NOT RLIKE """.*x.*"""') == ({"not": 0}, [("a", "regex_match", (".*x.*",))])


def test_is_null_and_is_not_null():
    assert where("a IS NULL and b is not null") == [("a", "is_null", ("",)), ("b", "exists", ("",))]


# -- predicate functions --------------------------------------------------------------

def test_to_lower_and_to_upper_make_the_test_case_insensitive():
    assert full('TO_LOWER(process.name) == "CMD.EXE" and to_upper(a) LIKE "X*" and to_lower(b) IN ("P", "q")') == [
        ("process.name", "eq", ("cmd.exe",), False, ()), ("a", "starts_with", ("x",), False, ()),
        ("b", "eq", ("p", "q"), False, ())]


def test_starts_with_ends_with():
    assert full('starts_with(a, "Pre") and ENDS_WITH(to_lower(b), ".EXE")') == [
        ("a", "starts_with", ("Pre",), True, ()), ("b", "ends_with", (".exe",), False, ())]


def test_cidr_match_takes_several_networks():
    assert where('CIDR_MATCH(source.ip, "10.0.0.0/8", "192.168.0.0/16")') == [
        ("source.ip", "cidr", ("10.0.0.0/8", "192.168.0.0/16"))]


def test_match_function_and_operator_are_case_insensitive_eq():
    assert full('MATCH(a, "Foo") and b : "Bar" and c:5') == [
        ("a", "eq", ("foo",), False, ()), ("b", "eq", ("bar",), False, ()), ("c", "eq", ("5",), False, ())]
    assert full('match(a, "x", {"fuzziness": 1})') == [("a", "eq", ("x",), False, ("fuzzy",))]


def test_mv_contains_is_eq():
    assert where('MV_CONTAINS(a, "x")') == [("a", "eq", ("x",))]


def test_other_boolean_functions_are_skipped():
    assert where('is_private(a) and a == 1') == [("a", "eq", ("1",))]


def test_bare_boolean_column():
    assert parse("FROM x | WHERE flag and not other") == (
        {"and": [0, {"not": 1}]}, [("flag", "eq", ("true",)), ("other", "eq", ("true",))])


# -- KQL() --------------------------------------------------------------------------------

def test_kql_gets_the_unescaped_string_and_its_offset():
    text = 'FROM x | WHERE KQL("a:\\"b c\\"") and KQL("""d:*""")'
    tree, ps = run(text)
    assert tree == {"and": [0, 1]}
    assert [p.values for p in ps] == [('a:"b c"',), ("d:*",)]
    seen = []
    parse_esql(text, PredicateSink(text), lambda t, s, off: seen.append((t, off)))
    assert seen == [('a:"b c"', text.index("a:")), ("d:*", text.index("d:*"))]


def test_kql_without_a_kql_parser_is_an_error():
    text = 'FROM x | WHERE a == 1 and KQL("b:c")'
    e = error(text, kql=None)
    assert e.construct == "KQL() without a KQL parser"
    assert e.offset == text.index("KQL")


def test_kql_needs_a_string():
    assert error("FROM x | WHERE KQL(a)").construct == "KQL() argument"


def test_with_the_real_kql_parser():
    kql = pytest.importorskip("rulelint.loaders.kql")
    text = 'FROM logs-* | WHERE KQL("""event.category:process and process.name:(curl or wget)""") and a IS NOT NULL'
    sink = PredicateSink(text)
    node = parse_esql(text, sink, lambda t, s, off: kql.parse_kql(t, s))
    assert to_dict(node) == {"and": [0, 1, 2]}
    assert [(p.field, p.op, p.values) for p in sink.predicates] == [
        ("event.category", "eq", ("process",)), ("process.name", "eq", ("curl", "wget")), ("a", "exists", ("",))]


# -- boolean structure ------------------------------------------------------------------

def test_precedence_not_over_and_over_or():
    assert parse("FROM x | WHERE a == 1 or b == 2 and not c == 3")[0] == {"or": [0, {"and": [1, {"not": 2}]}]}
    assert parse("FROM x | WHERE (a == 1 or b == 2) and c == 3")[0] == {"and": [{"or": [0, 1]}, 2]}
    assert parse("FROM x | WHERE NOT (a == 1 AND b == 2)")[0] == {"not": {"and": [0, 1]}}


def test_double_negation_cancels():
    assert parse("FROM x | WHERE not not a == 1")[0] == 0
    assert parse("FROM x | WHERE not a != 1")[0] == 0


def test_every_where_is_anded():
    assert parse("FROM x | WHERE a == 1 or b == 2 | KEEP a | WHERE c == 3 | LIMIT 5 | WHERE d == 4")[0] == {
        "and": [{"or": [0, 1]}, 2, 3]}


def test_no_where_no_predicate():
    assert parse("FROM logs-* | KEEP a | LIMIT 10") == (None, [])
    assert parse("") == (None, [])
    assert parse("// nothing but a comment") == (None, [])


def test_keywords_are_case_insensitive():
    assert parse('from x | where a == 1 AND b like "x*" Or NOT c iN (2) And d Is Not Null')[0] == {
        "or": [{"and": [0, 1]}, {"and": [{"not": 2}, 3]}]}


# -- computed columns -----------------------------------------------------------------------

def computed(text: str):
    _, ps = run(text)
    return {p.field: "computed" in p.notes for p in ps}


def test_columns_from_eval_are_computed_and_only_after_it():
    assert computed("FROM x | WHERE Esql.n > 1 | EVAL Esql.n = LENGTH(a), b = 2 | WHERE Esql.n > 2 and c == 1") == {
        "Esql.n": True, "c": False}
    # The first WHERE is on a source field of that name; the second on the computed column.
    _, ps = run("FROM x | WHERE Esql.n > 1 | EVAL Esql.n = 1 | WHERE Esql.n > 2")
    assert [p.notes for p in ps] == [(), ("computed",)]


def test_stats_aggregates_and_computed_groups_are_computed_plain_groups_are_not():
    text = ("FROM x | STATS Esql.c = COUNT(*), MAX(b), v = VALUES(d) WHERE d != \"x\" "
            "BY host.id, Esql.t = DATE_TRUNC(1 hour, @timestamp) "
            "| WHERE Esql.c > 5 and `MAX(b)` > 1 and host.id == \"h\" and Esql.t > 0")
    assert computed(text) == {"Esql.c": True, "MAX(b)": True, "host.id": False, "Esql.t": True}
    assert len(run(text)[1]) == 4  # the aggregation filter (WHERE d != "x") is no event filter


def test_inline_stats_and_inlinestats():
    assert computed("FROM x | INLINE STATS n = COUNT(*) BY h | WHERE n > 1 and h == 2") == {"n": True, "h": False}
    assert computed("FROM x | inlinestats n = COUNT(*) | WHERE n > 1") == {"n": True}


def test_rename_targets_are_computed_both_syntaxes():
    assert computed("FROM x | RENAME a AS b, new = old | WHERE b == 1 and new == 2 and a == 3") == {
        "b": True, "new": True, "a": False}


def test_dissect_and_grok_fields_are_computed():
    text = ('FROM x | DISSECT msg "%{a} %{?skip} %{+a} %{b->} %{} %{*k}: %{&k}" APPEND_SEPARATOR=","'
            ' | GROK url "%{IP:src.ip} %{WORD:w:int} (?<named>x)"'
            " | WHERE a == 1 and b == 1 and src.ip == 1 and w == 1 and named == 1 and skip == 1 and k == 1")
    assert computed(text) == {"a": True, "b": True, "src.ip": True, "w": True, "named": True,
                              "skip": False, "k": False}


def test_completion_enrich_change_point_define_columns():
    text = ('FROM x | COMPLETION r = prompt WITH {"inference_id": "m"} | COMPLETION p2 WITH {"inference_id": "m"}'
            " | ENRICH policy ON a WITH n = b, c | CHANGE_POINT v ON k"
            ' | WHERE r == 1 and completion == 1 and n == 1 and c == 1 and type == "dip" and b == 1')
    assert computed(text) == {"r": True, "completion": True, "n": True, "c": True, "type": True, "b": False}


def test_computed_through_an_expression_or_to_lower():
    _, ps = run('FROM x | EVAL n = 1 | WHERE to_lower(n) == "a" and n + 1 > 2')
    assert [(p.field, p.notes) for p in ps] == [("n", ("computed",)), ("n + 1", ("computed", "expression"))]


def test_fork_branches_are_ored():
    assert parse("FROM x | FORK (WHERE a == 1 | EVAL q = 1) (WHERE b == 2 | LIMIT 3) | WHERE c == 3")[0] == {
        "and": [{"or": [0, 1]}, 2]}
    # A branch without a filter lets every row through.
    assert parse("FROM x | FORK (WHERE a == 1) (LIMIT 3)")[0] is None


# -- lexical details --------------------------------------------------------------------------

def test_backquoted_names():
    assert where("`azure.x.0.value` == 1 and source.`as`.name == 2 and `we``ird` == 3") == [
        ("azure.x.0.value", "eq", ("1",)), ("source.as.name", "eq", ("2",)), ("we`ird", "eq", ("3",))]


def test_string_escapes_and_triple_quotes():
    assert where(r'a == "tab\there \"q\" back\\slash" and b == """raw \n "quoted" \\""" and c == """x"""""') == [
        ("a", "eq", ('tab\there "q" back\\slash',)), ("b", "eq", (r'raw \n "quoted" \\',)), ("c", "eq", ('x""',))]


def test_invalid_escape_is_an_error_as_in_elasticsearch():
    text = 'FROM x | WHERE a == "C:\\Windows"'
    e = error(text)
    assert e.construct == "invalid escape"
    assert e.offset == text.index("\\W")


def test_comments_and_pipes_inside_strings_parens_and_comments():
    text = '''FROM x // a | comment
    | WHERE a == "x | y" /* | not a pipe */ and b IN ("|", "||") // trailing | comment
    | EVAL c = CONCAT("a|", "b")
    // | WHERE hidden == 1
    | WHERE d == """|"""'''
    assert preds(text) == [("a", "eq", ("x | y",)), ("b", "eq", ("|", "||")), ("d", "eq", ("|",))]


def test_split_pipeline():
    text = 'FROM x | WHERE f(a, "|") | KEEP `b|c`'
    assert [text[s:e].strip() for s, e in split_pipeline(text)] == ["FROM x", 'WHERE f(a, "|")', "KEEP `b|c`"]


def test_keywords_usable_as_names_where_unambiguous():
    assert where('event.type == "start" and first.in == 1') == [("event.type", "eq", ("start",)), ("first.in", "eq", ("1",))]


def test_offsets_point_at_each_predicate():
    text = 'FROM x\n| WHERE a == 1\n    and "v" == b\n    and c LIKE "x*"'
    sink = PredicateSink(text, base_line=10)
    parse_esql(text, sink)
    assert [p.line for p in sink.predicates] == [11, 12, 13]


def test_functions_with_star_maps_arrays_and_first_by():
    text = ('FROM x | STATS c = COUNT(*), f = FIRST(a BY @timestamp), l = LAST(b, @timestamp) '
            '| EVAL arr = [1, 2], m = MV_CONTAINS(arr, 1) | WHERE c > 1')
    assert computed(text) == {"c": True}


# -- the real corpus ---------------------------------------------------------------------

def corpus_queries(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted((root / "elastic").rglob("*.toml")):
        try:
            rule = tomllib.loads(path.read_text(encoding="utf-8")).get("rule", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if rule.get("language") == "esql" and isinstance(rule.get("query"), str):
            out[str(path.relative_to(root))] = rule["query"]
    return out


@pytest.fixture(scope="module")
def esql_corpus(shared_corpus: Path) -> dict[str, str]:
    if not (shared_corpus / "elastic").is_dir():
        pytest.skip(f"no elastic rules under {shared_corpus}")
    return corpus_queries(shared_corpus)


def test_at_least_95_percent_of_the_corpus_parses(esql_corpus):
    assert len(esql_corpus) >= 200
    failures, empty = [], []
    for where_, text in esql_corpus.items():
        sink = PredicateSink(text)
        try:
            parse_esql(text, sink, fake_kql)
        except QueryError as e:
            failures.append(f"{where_} @{e.offset}: {e.construct}: {e.reason}")
            continue
        if not sink.predicates:
            empty.append(where_)
    ok = len(esql_corpus) - len(failures)
    assert ok >= 0.95 * len(esql_corpus), f"{ok}/{len(esql_corpus)} parse; failures:\n" + "\n".join(failures)
    assert len(empty) <= 0.05 * len(esql_corpus), empty


def corpus_run(esql_corpus, name: str):
    [text] = [t for w, t in esql_corpus.items() if w.endswith(f"/{name}.toml")]
    sink = PredicateSink(text)
    node = parse_esql(text, sink, fake_kql)
    return to_dict(node), sink.predicates


def test_corpus_audit_policy_disabled(esql_corpus):
    tree, ps = corpus_run(esql_corpus, "defense_evasion_audit_policy_disabled_winlog")
    got = [(p.field, p.op, p.values[:2], p.notes) for p in ps]
    assert got == [
        ("host.os.type", "eq", ("windows",), ()),
        ("event.code", "eq", ("4719",), ()),
        ("winlog.event_data.AuditPolicyChangesDescription", "eq", ("Success removed", "Success Added"), ()),
        ("winlog.event_data.SubCategory", "eq", ("Logon", "Audit Policy Change"), ()),
        ("winlog.event_data.AuditPolicyChangesDescription", "eq", ("Success removed",), ()),
        ("Esql.winlog_AuditPolicyChangesDescription_values", "eq", ("Success Added",), ("computed",)),
    ]
    assert len(ps[3].values) == 6 and all(p.case_sensitive for p in ps)
    # `@timestamp < NOW() - 5m` compares two expressions: no predicate.
    assert tree == {"and": [0, 1, 2, 3, 4, {"not": 5}]}


def test_corpus_impossible_travel_thresholds_are_computed(esql_corpus):
    tree, ps = corpus_run(esql_corpus, "initial_access_entra_id_signin_impossible_travel")
    source = [(p.field, p.op) for p in ps if not p.notes]
    assert source[:3] == [("data_stream.dataset", "eq"), ("event.outcome", "eq"), ("azure.signinlogs.category", "eq")]
    assert [(p.field, p.op, p.values) for p in ps if p.notes == ("computed",)] == [
        ("Esql.region_count", "ge", ("2",)), ("Esql.region_count", "le", ("5",)),
        ("Esql.distance_km", "ge", ("500",)), ("Esql.travel_kmh", "ge", ("800",))]
    assert tree == {"and": list(range(10))}


def test_corpus_svchost_masquerading(esql_corpus):
    tree, ps = corpus_run(esql_corpus, "defense_evasion_masquerading_as_svchost")
    assert [(p.field, p.op, p.values, p.case_sensitive, p.notes) for p in ps] == [
        ("event.category", "eq", ("process",), True, ()),
        ("event.type", "eq", ("start",), True, ()),
        ("process.name", "eq", ("svchost.exe",), False, ("fuzzy",)),
        ("process.executable", "eq", ("c:\\windows\\syswow64\\svchost.exe", "c:\\windows\\system32\\svchost.exe"),
         False, ()),
        ("process.executable", "wildcard", ("\\device\\harddiskvolume*\\windows\\system32\\svchost.exe",), False, ()),
        ("process.executable", "wildcard", ("\\device\\harddiskvolume*\\windows\\syswow64\\svchost.exe",), False, ()),
    ]
    assert tree == {"and": [0, 1, 2, {"not": 3}, {"not": 4}, {"not": 5}]}


def test_corpus_port_scan(esql_corpus):
    tree, ps = corpus_run(esql_corpus, "discovery_potential_port_scan_detected")
    assert [(p.field, p.op, p.values) for p in ps][3:5] == [
        ("destination.ip", "exists", ("",)), ("source.ip", "cidr", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))]
    assert tree == {"and": [0, 1, 2, 3, 4, {"or": [5, 6]}]}
    assert ps[5].notes == ("computed",)


# -- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, construct, at", [
    ('FROM x | WHERE a == "abc', "unclosed string", '"abc'),
    ('FROM x | WHERE a == "ab\nc"', "unclosed string", '"ab'),
    ('FROM x | WHERE a == """abc', "unclosed string", '"""abc'),
    ("FROM x | WHERE (a == 1 and (b == 2)", "unbalanced parenthesis", "(a =="),
    ("FROM x | WHERE a IN (1, 2", "unbalanced parenthesis", "(1, 2"),
    ("FROM x | WHERE a == 1)", "unbalanced parenthesis", ")"),
    ("FROM x | WHERE f(a]", "unbalanced parenthesis", "]"),
    ("FROM x | WHERE a == 1 /* open", "unclosed comment", "/* open"),
    ("FROM x | WHERE `a == 1", "unclosed backquote", "`a"),
    ("FROM x | FROBNICATE a", "unknown command", "FROBNICATE"),
    ("FROM x | WHERE a == 1 |", "empty command", ""),
    ("FROM x | | WHERE a == 1", "empty command", "| WHERE"),
    ("FROM x | WHERE a == 1 2", "unexpected token '2'", "2"),
    ("FROM x | WHERE a == $", "unexpected character '$'", "$"),
    ("FROM x | EVAL = 1", "unexpected token '='", "= 1"),
    ("FROM x | WHERE a > 1 fortnight", "unknown time unit", "fortnight"),
])
def test_errors_name_the_construct_and_point_at_it(text, construct, at):
    e = error(text)
    assert e.construct == construct, e.reason
    assert text[e.offset:].startswith(at), (e.offset, text[e.offset:])


def test_error_at_the_end():
    text = "FROM x | WHERE a =="
    e = error(text)
    assert (e.construct, e.offset) == ("unexpected end", len(text))


def test_bounds():
    assert error("FROM x | WHERE a == 1" + " " * MAX_QUERY_CHARS).construct == "query too long"
    deep = "FROM x | WHERE " + "(" * (MAX_DEPTH + 1) + "a == 1" + ")" * (MAX_DEPTH + 1)
    assert error(deep).construct == "nesting too deep"
    nots = "FROM x | WHERE " + "not " * (MAX_DEPTH + 1) + "a == 1"
    assert error(nots).construct == "nesting too deep"
    ok = "FROM x | WHERE " + "(" * 50 + "a == 1" + ")" * 50
    assert parse(ok) == (0, [("a", "eq", ("1",))])


def test_long_flat_chains_do_not_recurse():
    text = "FROM x | WHERE " + " or ".join(f"a == {i}" for i in range(3000)) + " | EVAL n = " + "+".join("1" * 3000)
    tree, ps = parse(text)
    assert len(ps) == 3000 and len(tree["or"]) == 3000


_ALPHABET = st.sampled_from(list('abcFROMWHEREevalstats|()[]{}"`\'/*\\ \n,.=!<>:?+-0129') +
                            ["==", "LIKE", "IN", "NOT", "IS NULL", '"""', "KQL(", "AND", "OR", " | WHERE "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_any_text_gives_a_tree_or_a_query_error(body):
    text = "FROM x | WHERE " + body
    try:
        parse_esql(text, PredicateSink(text), fake_kql)
    except QueryError as e:
        assert e.offset is None or 0 <= e.offset <= len(text)
