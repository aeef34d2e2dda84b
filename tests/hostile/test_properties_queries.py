"""Generated KQL, EQL, ES|QL and SPL: strings from our own grammars (hypothesis'
`from_lark`), structured queries from small generators, and random text, wrapped in
Elastic TOML and Splunk YAML files, with wrong types for the keys that hold them. Each
file loads or is a parse-error; nothing raises."""

from __future__ import annotations

import string

import eql.parser
from hypothesis import given, strategies as st
from hypothesis.extra.lark import from_lark

from rulelint.loaders import esql, kql, spl

from .support import HOSTILE, assert_contained, elastic_doc, scratch, splunk_doc, toml_doc, yaml_text

text = st.text(max_size=60)
ident = st.text(string.ascii_letters + "_", min_size=1, max_size=8)
dotted = st.lists(ident, min_size=1, max_size=3).map(".".join)
word = st.text(string.ascii_letters + string.digits + "*?\\:.-_/", min_size=1, max_size=10)
quoted = text.map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"')
wrong_type = st.one_of(st.integers(), st.booleans(), st.lists(text, max_size=3),
                       st.dictionaries(ident, text, max_size=2), st.floats(allow_nan=False))


def tree_of(atom: st.SearchStrategy[str], ands: list[str], ors: list[str], nots: list[str]) -> st.SearchStrategy[str]:
    return st.recursive(atom, lambda inner: st.one_of(
        st.builds(lambda a, b, op: f"{a} {op} {b}", inner, inner, st.sampled_from(ands + ors)),
        st.builds(lambda n, a: f"{n} {a}", st.sampled_from(nots), inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a: f"({a}", inner),  # unbalanced now and then
    ), max_leaves=10)


kql_structured = tree_of(st.one_of(
    st.builds(lambda f, v: f"{f}:{v}", dotted, st.one_of(word, quoted)),
    st.builds(lambda f, vs: f"{f}:({' or '.join(vs)})", dotted, st.lists(st.one_of(word, quoted), min_size=1, max_size=4)),
    st.builds(lambda f, g, v: f"{f}:{{ {g}:{v} }}", dotted, dotted, word),
    st.builds(lambda f, op, v: f"{f} {op} {v}", dotted, st.sampled_from(["<", "<=", ">", ">="]), word),
    word, quoted,
), ["and", "AND"], ["or", "OR"], ["not", "NOT"])

eql_value = st.one_of(quoted, st.integers(-10**20, 10**20).map(str), st.sampled_from(["true", "false", "null"]))
eql_expr = tree_of(st.one_of(
    st.builds(lambda f, op, v: f"{f} {op} {v}", dotted, st.sampled_from(["==", "!=", ":", "<", ">=", "like~", "regex"]), eql_value),
    st.builds(lambda f, vs, op: f"{f} {op} ({', '.join(vs)})", dotted, st.lists(eql_value, min_size=1, max_size=4),
              st.sampled_from(["in", "in~", "not in", ":"])),
    st.builds(lambda fn, f, v: f"{fn}({f}, {v})", st.sampled_from(["wildcard", "startsWith", "endsWith~", "stringContains",
                                                                   "cidrMatch", "match", "length", "bogus"]), dotted, eql_value),
    st.builds(lambda f: f"{f} == null", dotted), st.sampled_from(["true", "false"]),
), ["and"], ["or"], ["not"])
eql_event = st.builds(lambda e, x: f"{e} where {x}", st.one_of(st.sampled_from(["process", "file", "any", "network"]), ident), eql_expr)
eql_structured = st.one_of(
    eql_event,
    st.builds(lambda by, steps: "sequence" + (f" by {by}" if by else "") + " " + " ".join(f"[{s}]" for s in steps),
              st.one_of(st.none(), dotted), st.lists(eql_event, min_size=1, max_size=3)),
    st.builds(lambda e, p: f"{e} | {p}", eql_event, st.sampled_from(["head 5", "tail 1", "unique x", "count", "bogus"])),
)

esql_expr = tree_of(st.one_of(
    st.builds(lambda f, op, v: f"{f} {op} {v}", dotted, st.sampled_from(["==", "!=", "<", ">", "LIKE", "RLIKE", ":"]), st.one_of(quoted, word)),
    st.builds(lambda f, vs: f"{f} IN ({', '.join(vs)})", dotted, st.lists(quoted, min_size=1, max_size=3)),
    st.builds(lambda f, n: f"{f} IS {n}NULL", dotted, st.sampled_from(["", "NOT "])),
    st.builds(lambda fn, f: f"{fn}({f})", st.sampled_from(["TO_LOWER", "LENGTH", "KQL", "MATCH", "bogus"]), st.one_of(dotted, quoted)),
), ["AND", "and"], ["OR"], ["NOT"])
esql_structured = st.builds(
    lambda src, cmds: f"FROM {src} | " + " | ".join(cmds), st.sampled_from(["logs-*", "logs-endpoint.events.*, x", ""]),
    st.lists(st.one_of(
        esql_expr.map(lambda e: f"WHERE {e}"),
        st.builds(lambda a, e: f"EVAL {a} = {e}", ident, esql_expr),
        st.builds(lambda e, b: f"STATS c = COUNT(*) BY {b} | WHERE {e}", esql_expr, dotted),
        st.builds(lambda a, b: f"RENAME {a} AS {b}", dotted, ident),
        st.builds(lambda f, p: f'DISSECT {f} "{p}"', dotted, text),
        st.builds(lambda f, p: f'GROK {f} "{p}"', dotted, text),
        st.just("KEEP *"), st.just("LIMIT 10"), text,
    ), min_size=1, max_size=4))

spl_term = st.one_of(
    st.builds(lambda f, op, v: f"{f}{op}{v}", dotted, st.sampled_from(["=", "!=", "<", ">=", "::"]), st.one_of(word, quoted)),
    st.builds(lambda f, vs: f"{f} IN ({', '.join(vs)})", dotted, st.lists(st.one_of(word, quoted), min_size=1, max_size=3)),
    word, quoted, st.builds(lambda m: f"`{m}`", st.one_of(ident, text)),
    st.builds(lambda s: f"[search {s}]", word), st.just("```a comment```"),
    st.builds(lambda v: f"CASE({v})", word), st.builds(lambda v: f"TERM({v})", word),
)
spl_expr = tree_of(spl_term, ["AND", ""], ["OR"], ["NOT"])
where_expr = tree_of(st.one_of(
    st.builds(lambda f, op, v: f"{f}{op}{v}", dotted, st.sampled_from(["=", "==", "!=", "<", ">", "<>"]), st.one_of(quoted, st.integers().map(str), dotted)),
    st.builds(lambda fn, f, v: f"{fn}({f}, {v})", st.sampled_from(["like", "match", "cidrmatch", "searchmatch", "if", "bogus"]), dotted, quoted),
    st.builds(lambda fn, f: f"{fn}({f})", st.sampled_from(["isnull", "isnotnull", "lower", "len"]), dotted),
    st.builds(lambda f, vs: f"{f} IN ({', '.join(vs)})", dotted, st.lists(quoted, min_size=1, max_size=3)),
), ["AND"], ["OR"], ["NOT"])
spl_command = st.one_of(
    spl_expr.map(lambda e: f"search {e}"),
    where_expr.map(lambda e: f"where {e}"),
    st.builds(lambda a, b: f"stats count by {a} {b}", dotted, st.one_of(st.just(""), dotted)),
    st.builds(lambda a, b: f"rename {a} as {b}", st.text("ab*.", min_size=1, max_size=12), st.text("ab*", min_size=1, max_size=6)),
    st.builds(lambda a: f"eval {a}=lower({a})", ident),
    st.builds(lambda a, r: f'rex field={a} "(?<{a}>{r})"', ident, text),
    st.builds(lambda d, e: f"tstats count from datamodel={d} where {e} by Processes.dest", st.sampled_from(["Endpoint.Processes", "x"]), spl_expr),
    st.sampled_from(["`drop_dm_object_name(Processes)`", "`security_content_ctime(firstTime)`", "table a b", "head 5"]),
    text,
)
spl_structured = st.builds(lambda head, cmds: " | ".join([head, *cmds]), spl_expr, st.lists(spl_command, max_size=4))


def grammar_strings(lark_parser, start: str | None = None) -> st.SearchStrategy[str]:
    return from_lark(lark_parser, start=start) if start else from_lark(lark_parser)


kql_any = st.one_of(kql_structured, grammar_strings(kql._get_parser()), text)
eql_any = st.one_of(eql_structured, grammar_strings(eql.parser.lark_parser, "piped_query"),
                    grammar_strings(eql.parser.lark_parser, "event_query"), text)
esql_any = st.one_of(esql_structured, grammar_strings(esql._get_parser(), "start_where").map(lambda w: f"FROM x | WHERE {w}"), text)
spl_any = st.one_of(spl_structured, grammar_strings(spl._get_parser(), "start_search"),
                    grammar_strings(spl._get_parser(), "start_where").map(lambda w: f"index=x | where {w}"), text)
lucene_any = st.one_of(kql_structured, text)


@HOSTILE
@given(st.one_of(
    st.tuples(st.just("kuery"), kql_any), st.tuples(st.just("eql"), eql_any),
    st.tuples(st.just("esql"), esql_any), st.tuples(st.just("lucene"), lucene_any),
), st.integers(0, 9))
def test_generated_elastic_queries(lang_query, shape):
    language, query = lang_query
    rtype = {"eql": "eql", "esql": "esql"}.get(language, "query")
    extra = {}
    if shape == 1:
        extra["threat_query"], extra["threat_language"] = query, "kuery"
    elif shape == 2:
        extra["filters"] = [{"query": {"wildcard": {"process.name": {"value": query}}}, "meta": {"negate": True}}]
    with scratch() as folder:
        assert_contained(folder, "rule.toml", toml_doc(elastic_doc(query, language, rtype, **extra)))


@HOSTILE
@given(st.sampled_from(["query", "language", "type", "tags", "threat", "index", "filters", "name", "rule_id",
                        "new_terms", "threshold", "building_block_type", "risk_score"]), wrong_type,
       st.sampled_from(["kuery", "eql", "esql", "lucene"]))
def test_elastic_keys_of_the_wrong_type(key, bad, language):
    doc = elastic_doc("process.name : cmd.exe" if language != "eql" else 'process where process.name == "a"', language)
    doc["rule"][key] = bad
    with scratch() as folder:
        assert_contained(folder, "rule.toml", toml_doc(doc))


@st.composite
def macro_files(draw) -> dict[str, str]:
    """A macros/ folder: plain, with arguments, recursive, self-referencing, broken."""
    files = {}
    for i in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(["m", "n", "sysmon", "x_filter", f"m{i}"]))
        args = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True))
        body = draw(st.one_of(spl_expr, st.just("`m`"), st.just("`m` `m` `m` `m`"),
                              st.builds(lambda a: f"f=${a}$", st.sampled_from(["a", "b", "x"])), text))
        macro = {"name": f"{name}({len(args)})" if args else name, "definition": body}
        if args:
            macro["arguments"] = args
        files[f"macros/{name}_{i}.yml"] = draw(st.one_of(st.just(yaml_text(macro)), text))
    return files


@HOSTILE
@given(spl_any, macro_files(), st.integers(0, 4))
def test_generated_splunk_searches(search, macros, shape):
    if shape == 1:
        search = f"| tstats count from datamodel=Endpoint.Processes where {search} by Processes.dest"
    elif shape == 2:
        search = f"`m` {search} | `x_filter`"
    with scratch() as folder:
        for rel, body in macros.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(body, encoding="utf-8", errors="surrogatepass")
        assert_contained(folder, "detections/rule.yml", yaml_text(splunk_doc(search)))


@HOSTILE
@given(st.sampled_from(["search", "name", "id", "tags", "data_source", "type", "status"]), wrong_type)
def test_splunk_keys_of_the_wrong_type(key, bad):
    doc = splunk_doc("index=x process_name=cmd.exe")
    doc[key] = bad
    with scratch() as folder:
        assert_contained(folder, "rule.yml", yaml_text(doc))
