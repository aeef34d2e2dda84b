r"""KQL (Kibana Query Language, "kuery") to a predicate tree.

The grammar (grammars/kql.lark) follows Kibana's own `grammar.peggy`: `not` > `and` > `or`,
`field : value`, value lists `field : (a or b)`, nested `field : { ... }`, ranges
`field >= 5`, field-less terms. Quoted values are literal (no wildcards). In unquoted ones
`*` is the only wildcard and a backslash escapes the next special character:
`C\:\\Windows\\*` is the path `C:\Windows\` followed by a wildcard.
"""

from __future__ import annotations

import re
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..model.predicate import KEYWORD_FIELD, STAR, PatternPart, classify_pattern
from ..model.tree import MAX_DEPTH, And, Node, Not, Or, depth, simplify
from .query import PredicateSink, QueryError
from .words import join_or, lark_accepts, show, terminal_words

GRAMMAR = Path(__file__).parent / "grammars" / "kql.lark"
MAX_QUERY_CHARS = 1 << 20  # 1 MB of text is far past any real rule; refuse rather than grind

RANGE_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
# Characters a backslash escapes in an unquoted literal (Kibana's SpecialCharacter).
SPECIAL = '\\():<>"*{}'
WHITESPACE_ESCAPES = {"t": "\t", "r": "\r", "n": "\n"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_KEYWORDS = ("or", "and", "not")

# Terminal names as people read them, for error messages.
_TOKEN_NAMES = {
    "LPAR": "`(`", "RPAR": "`)`", "LBRACE": "`{`", "RBRACE": "`}`", "COLON": "`:`",
    "_OR": "`or`", "_AND": "`and`", "NOT": "`not`", "RANGE_OP": "a comparison (`<`, `<=`, `>`, `>=`)",
    "QUOTED": "a quoted value", "UNQUOTED": "a value", "$END": "the end of the query",
}


_parser: Lark | None = None


def _get_parser() -> Lark:
    # Built once, on first use: LALR with the basic lexer parses the corpus in milliseconds.
    global _parser
    if _parser is None:
        _parser = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="basic")
    return _parser


def parse_kql(text: str, sink: PredicateSink) -> Node | None:
    """Parse one KQL query into a tree whose leaves are predicates added to `sink`.

    Returns None for a query matching everything (empty, `*`). Raises `QueryError`
    (with a character offset into `text`) for anything it cannot parse, never another error.
    """
    try:
        return _parse(text, sink)
    except QueryError:
        raise
    except RecursionError:
        raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", 0, "nesting too deep") from None
    except Exception as e:  # last resort: callers are promised QueryError only
        raise QueryError(f"internal error in the KQL parser: {type(e).__name__}: {e}", None,
                         "internal error") from e


def _parse(text: str, sink: PredicateSink) -> Node | None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", 0, "query too long")
    try:
        tree = _get_parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    _check_depth(tree)
    if not tree.children or _matches_all(tree.children[0]):
        return None
    node = simplify(_Builder(sink).node(tree.children[0], ""))
    if depth(node) > MAX_DEPTH:  # the model's walks refuse deeper trees; say so here, as a parse error
        raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", 0, "nesting too deep")
    return node


# Parse-tree nodes that are one level of nesting: brackets, braces and `not`.
_NESTING = {"group", "v_group", "nested", "not_", "v_neg"}


def _check_depth(tree: Tree) -> None:
    """Refuse nesting past MAX_DEPTH before the (recursive) builder walks it; iterative itself."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        t, d = stack.pop()
        if t.data in _NESTING:
            d += 1
            if d > MAX_DEPTH:
                raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", _first_pos(t), "nesting too deep")
        stack.extend((c, d) for c in t.children if isinstance(c, Tree))


def _first_pos(t: Tree | Token) -> int | None:
    while isinstance(t, Tree):
        if not t.children:
            return None
        t = t.children[0]
    return t.start_pos


def _is_star(t: Tree | Token) -> bool:
    return isinstance(t, Token) and t.type == "UNQUOTED" and set(t) == {"*"}


def _matches_all(t: Tree | Token) -> bool:
    """`*` or `*:*` as the whole query: Kibana's match-all."""
    while isinstance(t, Tree) and t.data == "group":
        t = t.children[1]
    if isinstance(t, Tree) and t.data == "bare":
        return _is_star(t.children[0])
    if isinstance(t, Tree) and t.data == "match":
        return _is_star(t.children[0].children[0]) and _is_star(t.children[1])
    return False


class _Builder:
    def __init__(self, sink: PredicateSink) -> None:
        self.sink = sink

    def node(self, t: Tree, prefix: str) -> Node:
        kind = t.data
        if kind == "or_q":
            return Or([self.node(c, prefix) for c in t.children])
        if kind == "and_q":
            return And([self.node(c, prefix) for c in t.children])
        if kind == "group":  # children: the `(` token, the query
            return self.node(t.children[1], prefix)
        if kind == "not_":  # children: the `not` token, the query
            return Not(self.node(t.children[1], prefix))
        if kind == "bare":  # a field-less term: matched against the default fields
            return self.values(t.children[0], KEYWORD_FIELD)
        field = prefix + self.field_name(t.children[0].children[0])
        if kind == "nested":  # fields inside `f : { ... }` are sub-fields of f
            return self.node(t.children[1], field + ".")
        if kind == "match":
            return self.values(t.children[1], field)
        if kind == "range":
            op_tok, val = t.children[1], t.children[2]
            return self.sink.add(field, RANGE_OPS[op_tok], [self.text_of(val)], offset=val.start_pos)
        raise QueryError(f"unknown construct {kind}", _first_pos(t), str(kind))  # pragma: no cover

    def values(self, t: Tree | Token, field: str) -> Node:
        """The value side of `field : ...`."""
        if isinstance(t, Token):
            op, value = self.literal(t)
            return self.sink.add(field, op, [value], offset=t.start_pos)
        if t.data == "v_group":
            return self.values(t.children[1], field)
        if t.data == "v_neg":
            return Not(self.values(t.children[1], field))
        if t.data == "v_and":
            return And([self.values(c, field) for c in t.children])
        # v_or: literals with the same operator become one predicate with several values,
        # through brackets too: `(a or (b) or (c or d))` is one list.
        terms = _or_terms(t)
        groups: dict[str, list[str]] = {}
        first: dict[int, str] = {}  # term index -> operator whose predicate it opens
        for i, c in enumerate(terms):
            if isinstance(c, Token):
                op, value = self.literal(c)
                if op not in groups:
                    groups[op] = []
                    first[i] = op
                groups[op].append(value)
        out: list[Node] = []
        for i, c in enumerate(terms):
            if i in first:
                out.append(self.sink.add(field, first[i], groups[first[i]], offset=c.start_pos))
            elif isinstance(c, Tree):
                out.append(self.values(c, field))
        return out[0] if len(out) == 1 else Or(out)

    def literal(self, tok: Token) -> tuple[str, str]:
        if tok.type == "QUOTED":  # quoted values are literal: no wildcards
            return "eq", _unquote(tok)
        return classify_pattern(_unquoted_parts(tok))

    def text_of(self, tok: Token) -> str:
        """A literal's text, wildcards shown as `*` (ranges and field names take no pattern)."""
        if tok.type == "QUOTED":
            return _unquote(tok)
        return "".join(_unquoted_parts(tok))

    field_name = text_of


def _or_terms(t: Tree) -> list[Tree | Token]:
    """The operands of a value-level `or`, looking through brackets and nested `or`s."""
    out: list[Tree | Token] = []
    stack: list[Tree | Token] = list(reversed(t.children))
    while stack:
        c = stack.pop()
        while isinstance(c, Tree) and c.data == "v_group":
            c = c.children[1]
        if isinstance(c, Tree) and c.data == "v_or":
            stack.extend(reversed(c.children))
        else:
            out.append(c)
    return out


def _unquote(tok: Token) -> str:
    r"""A quoted literal: `\"` and `\\` are the characters, `\t \r \n \uXXXX` as in JSON;
    any other backslash is itself (Kibana's QuotedCharacter)."""
    s, out, i = tok.value[1:-1], [], 0
    if "\\" not in s:
        return s
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in WHITESPACE_ESCAPES:
                out.append(WHITESPACE_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and _HEX4.fullmatch(s, i + 2, i + 6):
                out.append(chr(int(s[i + 2:i + 6], 16)))
                i += 6
                continue
            if nxt in '\\"':
                out.append(nxt)
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _unquoted_parts(tok: Token) -> list[PatternPart]:
    """An unquoted literal as literal chunks and STAR; a backslash escapes a special
    character or keyword (Kibana's UnquotedCharacter). Any other escape is an error there too."""
    s, parts, buf, i = tok.value, [], [], 0
    if "\\" not in s:  # the common case, quickly
        for chunk in s.split("*"):
            parts += [chunk, STAR]
        return parts[:-1]
    while i < len(s):
        c = s[i]
        if c == "*":
            parts.append("".join(buf))
            parts.append(STAR)
            buf = []
        elif c != "\\":
            buf.append(c)
        else:
            nxt = s[i + 1]  # the grammar never ends a literal on a lone backslash
            if nxt in WHITESPACE_ESCAPES:
                buf.append(WHITESPACE_ESCAPES[nxt])
                i += 1
            elif nxt in SPECIAL:
                buf.append(nxt)
                i += 1
            elif nxt == "u" and _HEX4.fullmatch(s, i + 2, i + 6):
                buf.append(chr(int(s[i + 2:i + 6], 16)))
                i += 5
            elif not s[i + 1:i + 4].lower().startswith(_KEYWORDS):  # `\or` is the word "or"
                raise QueryError(f"unknown escape {show(chr(92) + nxt)} in an unquoted value", tok.start_pos + i,
                                 "invalid escape", "a backslash before a special character (`\\\\`, `\\:`, `\\*`, "
                                 "`\\(`, `\\)`, `\\\"`), or the value in double quotes")
        i += 1
    parts.append("".join(buf))
    return parts


def _syntax_error(text: str, e: UnexpectedInput) -> QueryError:
    """Turn lark's error into one that names the construct and points at it."""
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        ch = text[pos] if pos < len(text) else ""
        if ch == '"':
            return QueryError("a quote that is never closed", pos, "unclosed quote", 'a closing `"`')
        if ch == "\\":
            return QueryError("a backslash at the end of a value escapes nothing", pos, "dangling backslash",
                              "a character after it, or `\\\\` for a backslash")
        return QueryError(f"unexpected character {show(ch)}", pos, f"unexpected character {ch!r}",
                          "a field, a value, `(` or `not`")
    if not isinstance(e, UnexpectedToken):
        return QueryError(f"cannot parse query: {e}", getattr(e, "pos_in_stream", None), "syntax error")
    tok = e.token
    expected = join_or(terminal_words(_get_parser(), lark_accepts(e), _TOKEN_NAMES))
    if tok.type != "$END":
        what = f"{_TOKEN_NAMES[tok.type]} {show(tok.value)}" if tok.type in ("QUOTED", "UNQUOTED") else show(tok.value)
        if tok.type == "COLON":
            expected += " (quote a value that holds `:` or write `\\:`; or is an `and`/`or` missing?)"
        return QueryError(f"unexpected {what}", tok.start_pos, f"unexpected token {tok.value!r}", expected)
    # At the end: say what was left open.
    toks = list(_get_parser().lex(text))
    openers: list[Token] = []
    for t in toks:
        if t.type in ("LPAR", "LBRACE"):
            openers.append(t)
        elif t.type in ("RPAR", "RBRACE") and openers:
            openers.pop()
    last = toks[-1] if toks else None
    if last is not None and last.type in ("_OR", "_AND", "NOT"):
        word = last.value.lower()
        return QueryError(f"`{word}` at the end of the query has nothing after it", last.start_pos,
                          f"dangling '{word}'", "a condition after it")
    if last is not None and last.type in ("COLON", "RANGE_OP"):
        return QueryError(f"{show(last.value)} has no value after it", last.start_pos, "missing value", "a value")
    if openers:
        kind = "parenthesis" if openers[-1].type == "LPAR" else "brace"
        closer = "`)`" if kind == "parenthesis" else "`}`"
        return QueryError(f"the {show(openers[-1].value)} here is never closed", openers[-1].start_pos,
                          f"unclosed {kind}", f"{closer} before the end of the query")
    return QueryError("unexpected end of the query", len(text), "unexpected end of query", expected)
