"""Lucene query strings through luqum (only one corpus rule uses Lucene; KQL has its own grammar)."""

from __future__ import annotations

import re

from ..model.predicate import KEYWORD_FIELD, QMARK, STAR, PatternPart
from ..model.tree import And, Node, Not, Or
from .query import PredicateSink, QueryError, group
from .words import show, token_at

MAX_QUERY_CHARS = 1_000_000


def parse_lucene(text: str, sink: PredicateSink) -> Node | None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", 0, "oversized query")
    from luqum.exceptions import ParseError
    from luqum.parser import parser

    try:
        tree = parser.parse(text)
    except ParseError as e:
        raise _syntax_error(text, str(e)) from None
    except RecursionError:
        raise QueryError("Lucene query nests too deeply", 0, "deep nesting") from None
    try:
        return _Walker(sink).node(tree, KEYWORD_FIELD)
    except RecursionError:
        raise QueryError("Lucene query nests too deeply", 0, "deep nesting") from None


def _syntax_error(text: str, message: str) -> QueryError:
    """luqum's error (`unexpected  'OR' at position 7!`, `Illegal character '"x' at
    position 2`, `unexpected end of expression`) as found, where, expected."""
    m = re.search(r"position (\d+)", message)
    if m:
        pos = int(m.group(1))
        what = token_at(text, pos)
        if message.startswith("Illegal character") and text[pos:pos + 1] == '"':
            return QueryError("a quote that is never closed", pos, "invalid syntax", 'a closing `"`')
        return QueryError(f"unexpected {show(what)}" if what else "unexpected end of the query", pos,
                          "invalid syntax")
    end = len(text.rstrip())
    opened = text.count("(") - text.count(")")
    ranges = text.count("[") + text.count("{") - text.count("]") - text.count("}")
    last = text.split()[-1] if text.split() else ""
    if last.upper() in ("AND", "OR", "NOT", "&&", "||", "!"):
        expected = f"a term after `{last}`"
    elif opened > 0:
        expected = "`)` before the end of the query"
    elif ranges > 0:
        expected = "`]` or `}` to close the range"
    else:
        expected = ""
    return QueryError("unexpected end of the query", end, "invalid syntax", expected)


class _Walker:
    def __init__(self, sink: PredicateSink) -> None:
        self.sink = sink

    def node(self, n, field: str) -> Node | None:
        from luqum import tree as t

        if isinstance(n, t.SearchField):
            return self.node(n.expr, n.name)
        if isinstance(n, (t.Group, t.FieldGroup)):
            return self.node(n.expr, field)
        if isinstance(n, (t.AndOperation,)):
            return group(And, [self.node(c, field) for c in n.children])
        if isinstance(n, (t.OrOperation, t.UnknownOperation)):  # Elastic's default operator is OR
            return group(Or, [self.node(c, field) for c in n.children])
        if isinstance(n, (t.Not, t.Prohibit)):
            inner = self.node(n.a, field)
            return Not(inner) if inner is not None else None
        if isinstance(n, t.Plus):
            return self.node(n.a, field)
        if isinstance(n, t.Phrase):
            return self.sink.add(field, "eq", [n.value[1:-1].replace('\\"', '"')], offset=n.pos)
        if isinstance(n, t.Regex):
            return self.sink.add(field, "regex_match", [n.value[1:-1]], offset=n.pos)
        if isinstance(n, t.Range):
            low, high = str(n.low), str(n.high)
            parts = []
            if low != "*":
                parts.append(self.sink.add(field, "ge" if n.include_low else "gt", [low], offset=n.pos))
            if high != "*":
                parts.append(self.sink.add(field, "le" if n.include_high else "lt", [high], offset=n.pos))
            return group(And, parts)
        if isinstance(n, t.Word):
            return self.sink.add_pattern(field, wildcard_parts(n.value), offset=n.pos)
        return None


def wildcard_parts(word: str) -> list[PatternPart]:
    """A Lucene/query-DSL wildcard term: `*` and `?` are wildcards, a backslash escapes."""
    parts: list[PatternPart] = []
    buf = []
    it = iter(word)
    for ch in it:
        if ch == "\\":
            buf.append(next(it, ""))
        elif ch in "*?":
            parts.extend(["".join(buf), STAR if ch == "*" else QMARK])
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts

