"""SPL parser: macro expansion, the filter stage, each search / where construct, errors."""

from __future__ import annotations

import pytest

from rulelint.loaders.query import PredicateSink, QueryError
from rulelint.loaders.spl import MAX_MACRO_DEPTH, Macro, parse_spl
from rulelint.model.tree import And, Leaf, Node, Not, simplify


def parse(text: str, macros: dict | None = None):
    sink = PredicateSink(text, 1)
    node, info = parse_spl(text, sink, macros or {})
    return sink.predicates, simplify(node), info


def show(text: str, macros: dict | None = None):
    """The tree with each leaf as `field op value|value`, for compact assertions."""
    preds, node, _ = parse(text, macros)

    def render(n: Node | None):
        if n is None:
            return None
        if isinstance(n, Leaf):
            p = preds[n.pred]
            return f"{p.field} {p.op} {'|'.join(p.values)}"
        if isinstance(n, Not):
            return ("not", render(n.child))
        return ("and" if isinstance(n, And) else "or", [render(c) for c in n.children])

    return render(node)


def only(text: str, macros: dict | None = None):
    preds, _, _ = parse(text, macros)
    assert len(preds) == 1, preds
    return preds[0]


# -- search language -------------------------------------------------------------

def test_or_binds_tighter_than_and_in_search():
    assert show("a=1 b=2 OR c=3") == ("and", ["a eq 1", ("or", ["b eq 2", "c eq 3"])])
    assert show("a=1 AND b=2 OR c=3") == ("and", ["a eq 1", ("or", ["b eq 2", "c eq 3"])])
    assert show("(a=1 b=2) OR c=3") == ("or", [("and", ["a eq 1", "b eq 2"]), "c eq 3"])


def test_not_binds_tightest_in_search():
    assert show("NOT a=1 b=2") == ("and", [("not", "a eq 1"), "b eq 2"])
    assert show("NOT (a=1 OR b=2)") == ("not", ("or", ["a eq 1", "b eq 2"]))


def test_usual_precedence_in_where():
    assert show('| makeresults | where a="1" AND b="2" OR c="3"') == (
        "or", [("and", ["a eq 1", "b eq 2"]), "c eq 3"])
    assert show('| makeresults | where NOT a="1" AND b="2"') == ("and", [("not", "a eq 1"), "b eq 2"])


def test_search_values_wildcards_and_case():
    p = only('Image="*\\\\Windows\\\\System32\\\\*"')
    assert (p.field, p.op, p.values, p.case_sensitive) == ("Image", "contains", ("\\windows\\system32\\",), False)
    assert only("CommandLine=*-enc").op == "ends_with"
    assert only("proc=Power*").values == ("power",)
    assert only("x=a*b").op == "wildcard"
    assert only("x=*").op == "exists"
    assert only("p=*--type=renderer*").values == ("--type=renderer",)  # `=` inside a value


def test_spaces_around_operator_and_quoted_field_names():
    assert only('Processes.process_name = "cmd.exe"').values == ("cmd.exe",)
    p = only('"result.message"="Device Paired*"')
    assert (p.field, p.op, p.values) == ("result.message", "starts_with", ("device paired",))


def test_not_equal_and_comparisons():
    assert show("a!=b") == ("not", "a eq b")
    assert show("count>5 x<=3") == ("and", ["count gt 5", "x le 3"])


def test_in_list_groups_values_by_operator():
    assert show('name IN ("a.exe", b.exe, "c*")') == ("or", ["name eq a.exe|b.exe", "name starts_with c"])
    assert show('x IN (,"a",,"b",)') == "x eq a|b"  # stray commas as in real rules
    assert show('NOT x IN ("a")') == ("not", "x eq a")


def test_keywords_term_and_case():
    assert show("mimikatz") == "(keyword) eq mimikatz"
    assert show('"sekurlsa::logonpasswords"') == "(keyword) eq sekurlsa::logonpasswords"
    assert show("*") is None  # every event
    p = only("TERM(10.0.0.1)")
    assert (p.field, p.values, p.case_sensitive) == ("(keyword)", ("10.0.0.1",), False)
    p = only("user=CASE(Admin)")
    assert (p.values, p.case_sensitive) == (("Admin",), True)


def test_index_sourcetype_kept_time_bounds_skipped():
    assert show("index=main sourcetype=WinEventLog earliest=-24h latest=now EventCode=1") == (
        "and", ["index eq main", "sourcetype eq wineventlog", "EventCode eq 1"])


def test_subsearch_is_opaque():
    assert show("a=1 [search b=2 | fields host]") == "a eq 1"


def test_comments_are_ignored():
    assert show("a=1 ``` b=2 | stats count ``` c=3") == ("and", ["a eq 1", "c eq 3"])


# -- where (eval) language ---------------------------------------------------------

def test_where_comparisons_are_case_sensitive_unless_lowered():
    p = only('| makeresults | where user=="Admin"')
    assert (p.op, p.values, p.case_sensitive) == ("eq", ("Admin",), True)
    p = only('| makeresults | where lower(user)="admin"')
    assert (p.field, p.values, p.case_sensitive) == ("user", ("admin",), False)
    assert show('| makeresults | where "x"=a') == "a eq x"  # literal on the left
    assert show("| makeresults | where count >= 5") == "count ge 5"
    assert show("| makeresults | where 5 < count") == "count gt 5"


def test_where_functions():
    assert show('| makeresults | where like(process, "%\\\\temp\\\\%")') == "process contains \\temp\\"
    assert show('| makeresults | where process LIKE "a_c%"') == "process wildcard a?c*"
    p = only('| makeresults | where match(cmd, "(?i)-enc\\\\s")')
    assert (p.op, p.values, p.case_sensitive) == ("regex_match", ("(?i)-enc\\s",), True)
    assert show("| makeresults | where isnull(a) OR isnotnull(b)") == ("or", ["a is_null ", "b exists "])
    assert show('| makeresults | where cidrmatch("10.0.0.0/8", src)') == "src cidr 10.0.0.0/8"
    assert show('| makeresults | where in(a, "x", "y")') == "a eq x|y"
    assert show('| makeresults | where a IN ("x", "y")') == "a eq x|y"
    assert show('| makeresults | where searchmatch("a=1 b=*x*")') == ("and", ["a eq 1", "b contains x"])
    assert show("| makeresults | where a=b") == "a fieldref b"  # eval: a bare name is a field
    assert show("| makeresults | where a!=b") == ("not", "a fieldref b")


def test_where_unknown_functions_are_skipped():
    assert show('| makeresults | where len(process) > 200 AND p="x"') == "p eq x"
    assert show("| makeresults | where if(a>1, 1, 0) = 1") is None
    assert show('| makeresults | where NOT like(a, "%x%") AND (b + 1) > 2') == ("not", "a contains x")


# -- pipeline ----------------------------------------------------------------------

def test_tstats_where_is_the_filter_and_options_are_ignored():
    preds, node, info = parse(
        "| tstats `security_content_summariesonly` count min(_time) as firstTime "
        "from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
        "Processes.process=*whoami* by Processes.dest Processes.user",
        {"security_content_summariesonly": "summariesonly=`summariesonly_config` allow_old_summaries=true",
         "summariesonly_config": "false"})
    assert [(p.field, p.op, p.values[0]) for p in preds] == [
        ("Processes.process_name", "eq", "cmd.exe"), ("Processes.process", "contains", "whoami")]
    assert info["datamodel"] == "Endpoint.Processes"
    assert info["aggregation"] == "tstats"
    assert info["filter_predicates"] == 2


def test_later_search_and_where_are_anded_until_the_aggregation():
    preds, node, info = parse('a=1 | eval x=1 | search b=2 | where c="3" | stats count by h | where count > 5')
    assert show('a=1 | eval x=1 | search b=2 | where c="3" | stats count by h | where count > 5') == (
        "and", ["a eq 1", "b eq 2", "c eq 3", "count gt 5"])
    assert [p.notes for p in preds] == [(), (), (), ("computed", "post_aggregation")]
    assert info["filter_predicates"] == 3


def test_computed_columns_after_rename_and_eval():
    preds, _, _ = parse('a=1 | rename src as source_ip | eval n=len(cmd) | rex field=x "(?<ext>\\.\\w+)$" '
                        '| search source_ip=10.0.0.1 n>5 ext=".exe" other=y')
    assert {p.field: p.notes for p in preds} == {
        "a": (), "source_ip": ("computed",), "n": ("computed",), "ext": ("computed",), "other": ()}


def test_group_by_fields_after_aggregation_name_the_event_field():
    preds, _, info = parse(
        "| tstats count from datamodel=Endpoint.Processes by Processes.process_name Processes.dest "
        "| `drop_dm_object_name(Processes)` | search process_name=cmd.exe count>5")
    assert [(p.field, p.notes) for p in preds] == [
        ("Processes.process_name", ("group_by",)), ("count", ("computed", "post_aggregation"))]
    assert info["filter_predicates"] == 1
    preds, _, _ = parse("x=1 | stats count by user | rename user as u | where u=\"a\"")
    assert preds[1].field == "user" and preds[1].notes == ("group_by",)


def test_inner_join_subsearch_filter_is_part_of_the_detection():
    preds, node, info = parse(
        "| tstats count from datamodel=Endpoint.Processes by Processes.process_guid "
        "| join process_guid [| tstats count from datamodel=Endpoint.Registry "
        "where Registry.registry_path=\"*\\\\mscfile\\\\*\" by Registry.process_guid]")
    assert [(p.field, p.notes) for p in preds] == [("Registry.registry_path", ("subsearch",))]
    assert info["filter_predicates"] == 1
    preds, _, _ = parse("a=1 | join type=left k [search b=2]")
    assert [p.field for p in preds] == ["a"]


def test_regex_command():
    assert show('a=1 | regex CommandLine="\\w{40,}"') == ("and", ["a eq 1", "CommandLine regex_match \\w{40,}"])
    assert show('a=1 | regex _raw!="x+"') == ("and", ["a eq 1", ("not", "_raw regex_match x+")])


def test_pipes_inside_strings_and_brackets_do_not_split():
    assert show('a="x|y" | where match(b, "c|d")') == ("and", ["a eq x|y", "b regex_match c|d"])


# -- macros ------------------------------------------------------------------------

def test_macro_expansion_with_arguments():
    macros = {"proc(2)": Macro("proc", ("f", "v"), "$f$=$v$"), "win": "index=win"}
    assert show("`win` `proc(Image, \"*\\\\cmd.exe\")`", macros) == (
        "and", ["index eq win", "Image ends_with \\cmd.exe"])


def test_macro_expands_recursively_and_search_prefix_is_dropped():
    macros = {"a": "`b` x=1", "b": "index=main", "s": "search y=2"}
    assert show("`a` z=3", macros) == ("and", ["index eq main", "x eq 1", "z eq 3"])
    assert show("`s` | where w=\"1\"", macros) == ("and", ["y eq 2", "w eq 1"])


def test_macro_or_binds_with_what_follows_as_splunk_expands_text():
    # `sysmon` is an OR of sources: textual expansion makes it one OR group ANDed with the rest.
    macros = {"sysmon": "sourcetype=a OR source=b"}
    assert show("`sysmon` EventCode=1", macros) == ("and", [("or", ["sourcetype eq a", "source eq b"]),
                                                              "EventCode eq 1"])


def test_filter_macro_and_unknown_macros_are_empty_and_recorded():
    preds, _, info = parse("a=1 `mystery` `mystery2(x)` | stats count by h | `my_detection_filter`")
    assert [p.field for p in preds] == ["a"]
    assert info["filter_macro"] == "my_detection_filter"
    assert info["unknown_macros"] == ["mystery", "mystery2(1)"]


def test_macro_recursion_is_bounded():
    with pytest.raises(QueryError) as e:
        parse("x=1 `loop`", {"loop": "`loop`"})
    assert "deeper than" in e.value.reason and e.value.offset == 4
    assert MAX_MACRO_DEPTH == 10


def test_macro_size_is_bounded():
    macros = {f"m{i}": " ".join([f"`m{i + 1}`"] * 8) for i in range(9)}
    macros["m9"] = "a=1"
    with pytest.raises(QueryError) as e:
        parse("`m0`", macros)
    assert "too large" in e.value.construct


def test_backticks_inside_strings_are_not_macros():
    assert show('a="x`y`z"') == "a eq x`y`z"


def test_offsets_map_to_original_text():
    macros = {"m": "b=2 c=3"}
    text = "a=1\n`m`\nd=4"
    sink = PredicateSink(text, 10)
    parse_spl(text, sink, macros)
    assert [p.line for p in sink.predicates] == [10, 11, 11, 12]


# -- errors ------------------------------------------------------------------------

@pytest.mark.parametrize("text, construct", [
    ("a=1 (b=2", "end of search"),
    ("a=1 b=2)", "')'"),
    ("| where a = = b", "'='"),
    ("a=1 [search b=2", "unclosed"),
])
def test_errors_name_the_construct_and_offset(text, construct):
    with pytest.raises(QueryError) as e:
        parse(text)
    assert construct in e.value.construct
    assert e.value.offset is not None and 0 <= e.value.offset <= len(text)
