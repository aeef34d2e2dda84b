"""ES|QL queries to a predicate tree: the filters of every WHERE in the pipeline, ANDed.

The pipeline is split on top-level `|` by a small scanner (strings, triple-quoted strings,
backquoted names, comments and brackets are skipped over), then each command body is parsed
with grammars/esql.lark. WHERE is parsed whole; EVAL, STATS, RENAME, DISSECT, GROK,
COMPLETION, ENRICH and CHANGE_POINT only as far as the columns they define, because a WHERE
after them may test those computed columns: such predicates carry the note "computed" and
keep the column name the query writes (`Esql.*` by Elastic's convention).

Predicates: `==` eq (case-sensitive), `!=` NOT eq, `=~` eq ignoring case, `< <= > >=`,
`IN` eq with several values, `LIKE` patterns (`*`, `?`, backslash escapes), `RLIKE`
regex_match, `IS [NOT] NULL`, `field : "x"` and MATCH() eq ignoring case ("fuzzy" note with
a fuzziness option), STARTS_WITH/ENDS_WITH, CIDR_MATCH, MV_CONTAINS eq, two columns
compared fieldref, a bare boolean column eq "true", and KQL() through the caller's KQL
parser. TO_LOWER/TO_UPPER around the column make any of them case-insensitive. FORK
branches are ORed.

What is not a predicate is skipped, never an error: comparisons of two expressions, values
that are `?params`, `null` or arrays, QSTR() (no Lucene parser here), other boolean
functions, STATS aggregation filters (`COUNT(*) WHERE ...` filters no event). A comparison
of a function or arithmetic with a literal (`LENGTH(x) > 200`) keeps the expression's text,
whitespace collapsed, as its field, with the note "expression".
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from ..model.predicate import QMARK, STAR, PatternPart, classify_pattern
from ..model.tree import MAX_DEPTH, And, Node, Not, Or, depth, simplify
from .query import PredicateSink, QueryError
from .words import expected_phrase, lark_accepts, show, terminal_words

GRAMMAR = Path(__file__).parent / "grammars" / "esql.lark"
MAX_QUERY_CHARS = 1 << 20  # 1 MB is far past any real rule; refuse rather than grind
MAX_EXPR_TEXT = 120  # longer expressions are not kept as a field name

KqlParser = Callable[[str, PredicateSink, int], "Node | None"]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=", "=~": "=~"}
_ORDER_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_STRING_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)")
# Elasticsearch's EsqlDataTypeConverter.INTERVALS, case-insensitive.
_TIME_UNITS = {
    "ms", "millisecond", "milliseconds", "s", "sec", "second", "seconds", "m", "min", "minute", "minutes",
    "h", "hour", "hours", "d", "day", "days", "w", "week", "weeks", "mo", "month", "months",
    "q", "quarter", "quarters", "y", "yr", "year", "years",
}
_CASE_FOLDERS = {"to_lower", "to_upper"}
# Commands that define no column a later WHERE could test (or none we can name).
_PASSTHROUGH = {
    "from", "ts", "metrics", "show", "keep", "drop", "sort", "limit", "mv_expand", "lookup join",
    "sample", "rerank", "fuse", "insist", "explain",
}
_CLOSER = {"(": ")", "[": "]", "{": "}"}
_KNOWN_COMMANDS = _PASSTHROUGH | {"where", "eval", "row", "stats", "inline stats", "rename", "dissect", "grok",
                                  "completion", "enrich", "change_point", "fork"}
_CMD = re.compile(r"(inline\s+stats|lookup\s+join|[a-z_]+)", re.I)
# As in the grammar: strings end at a line break; triple-quoted ones may end in extra quotes.
_TSTRING = re.compile(r'"""[\s\S]*?""""?"?')
_STRING = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')
_QUOTED_ID = re.compile(r"`(?:[^`]|``)*`")
_DISSECT_KEY = re.compile(r"%\{([^}]*)\}")
_GROK_NAME = re.compile(r"%\{\w+:([\w.@\[\]]+)(?::\w+)?\}|\(\?<([\w.@]+)>")

_parser: Lark | None = None

# The grammar's terminals in words (keywords and punctuation name themselves).
_TERMINALS: dict[str, str | None] = {
    "NAME": "a column name", "QUOTED_ID": "a column name", "NUMBER": "a value", "PARAM": None,
    "TSTRING": "a value", "STRING": "a value", "TRUE": "a value", "FALSE": "a value", "NULL": "a value",
    "COMP_OP": "a comparison (`==`, `!=`, `<` ...)", "$END": "the end of the command",
    "ADD_OP": "an arithmetic operator", "STAR": "an arithmetic operator", "SLASH": "an arithmetic operator",
    "PERCENT": "an arithmetic operator",
}
_FIRST = ("`and`", "`or`", "`,`", "`)`", "`by`", "`as`", "`=`")


def _expected(err: Exception) -> str:
    """What the grammar could have taken where it stopped, in words."""
    return expected_phrase(terminal_words(_get_parser(), lark_accepts(err), _TERMINALS, _FIRST))


def _get_parser() -> Lark:
    # Built once, on first use; LALR with the contextual lexer (keywords stay usable as names).
    global _parser
    if _parser is None:
        _parser = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", propagate_positions=True,
                       maybe_placeholders=True,
                       start=["start_where", "start_eval", "start_stats", "start_rename", "start_extract"])
    return _parser


def parse_esql(text: str, sink: PredicateSink,
               kql: Callable[[str, PredicateSink, int], Node | None] | None = None) -> Node | None:
    """Parse one ES|QL query into a tree whose leaves are predicates added to `sink`.

    `kql` parses the string of a `KQL("...")` call; it gets the string, the sink and the
    character offset in `text` where the string's content starts. Returns None when the
    query filters nothing. Raises `QueryError` (offset into `text`) for anything it cannot
    parse, never another error (a `kql` callback's own errors pass through unchanged).
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", 0, "query too long")
    try:
        node = simplify(_Pipeline(text, sink, kql).run(0, len(text)))
    except RecursionError:
        raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", 0, "nesting too deep") from None
    if node is not None and depth(node) > MAX_DEPTH:
        raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", 0, "nesting too deep")
    return node


def split_pipeline(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each command between top-level `|`; unclosed or unbalanced brackets raise."""
    end = len(text) if end is None else end
    cuts, stack = [start], []
    for i, c in _structure(text, start, end):
        if c in "([{":
            stack.append(i)
            if len(stack) > MAX_DEPTH:
                raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", i, "nesting too deep")
        elif c in ")]}":
            if not stack or "([{"[")]}".index(c)] != text[stack[-1]]:
                if stack:
                    raise QueryError(f"unexpected {show(c)}", i, "unbalanced parenthesis",
                                     f"{show(_CLOSER[text[stack[-1]]])} to close the {show(text[stack[-1]])} "
                                     "opened before it")
                raise QueryError(f"unexpected {show(c)}: nothing is open for it to close", i, "unbalanced parenthesis")
            stack.pop()
        elif not stack:
            cuts += [i, i + 1]
    if stack:
        opener = text[stack[-1]]
        raise QueryError(f"the {show(opener)} here is never closed", stack[-1], "unbalanced parenthesis",
                         f"{show(_CLOSER[opener])} before the end of the query")
    cuts.append(end)
    return list(zip(cuts[::2], cuts[1::2]))


def _structure(text: str, i: int, end: int) -> Iterator[tuple[int, str]]:
    """Brackets and `|` outside strings, backquoted names and comments, with their offsets."""
    while i < end:
        c = text[i]
        if text.startswith('"""', i, end):
            m = _TSTRING.match(text, i, end)
            if m is None:
                raise QueryError("unclosed triple-quoted string", i, "unclosed string")
            i = m.end()
            continue
        if c == '"':
            i = _skip_string(text, i, end)
        elif c == "`":
            m = _QUOTED_ID.match(text, i, end)
            if m is None:
                raise QueryError("unclosed backquoted name", i, "unclosed backquote")
            i = m.end() - 1
        elif text.startswith("//", i, end) or text.startswith("/*", i, end):
            i = _skip_space(text, i, end)
            continue
        elif c in "()[]{}|":
            yield i, c
        i += 1


def _skip_string(text: str, i: int, end: int) -> int:
    """Index of the closing quote of the string opening at i (a string ends before a line break)."""
    m = _STRING.match(text, i, end)
    if m is None:
        raise QueryError("unclosed string", i, "unclosed string")
    return m.end() - 1


def _skip_space(text: str, i: int, end: int) -> int:
    while i < end:
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i, end):
            j = text.find("\n", i, end)
            i = end if j < 0 else j
        elif text.startswith("/*", i, end):
            j = text.find("*/", i + 2, end)
            if j < 0:
                raise QueryError("unclosed comment", i, "unclosed comment")
            i = j + 2
        else:
            break
    return i


class _Pipeline:
    def __init__(self, text: str, sink: PredicateSink, kql: KqlParser | None) -> None:
        self.text, self.sink, self.kql = text, sink, kql
        self.computed: set[str] = set()

    def run(self, start: int, end: int) -> Node | None:
        filters: list[Node] = []
        segments = split_pipeline(self.text, start, end)
        for s, e in segments:
            s = _skip_space(self.text, s, e)
            m = _CMD.match(self.text, s, e)
            if m is None:
                if s < e:
                    raise QueryError(f"unexpected {show(self.text[s:s + 20].split()[0] if self.text[s:e].split() else '')}",
                                     s, "unknown command", "a command name (`where`, `eval`, `stats` ...)")
                if len(segments) > 1:  # an empty (or comment-only) query is no error; `| |` is
                    raise QueryError("an empty command between two `|`", s, "empty command", "a command")
                continue
            node = self.command(" ".join(m.group(1).lower().split()), m.end(), e, s)
            if node is not None:
                filters.append(node)
        return And(filters) if filters else None

    def command(self, cmd: str, s: int, e: int, at: int) -> Node | None:
        if cmd == "where":
            return _Where(self, s).expr(self.parse("start_where", s, e).children[0])
        if cmd in ("eval", "row"):
            self.define(self.parse("start_eval", s, e).children, s)
        elif cmd in ("stats", "inline stats", "inlinestats"):
            tree = self.parse("start_stats", s, e)
            aggs, groups = tree.children[0], tree.children[1:]
            # A group by a plain field keeps that field's values: not computed.
            self.define([a.children[0] for a in aggs.children] if aggs else [], s)
            self.define([g for g in groups if g is not None and not _plain_field(g)], s)
        elif cmd == "rename":
            for r in self.parse("start_rename", s, e).children:
                self.computed.add(_qname(r.children[0 if r.data == "rename_to" else 1]))
        elif cmd in ("dissect", "grok"):
            pattern = "".join(_string(t) for t in self.parse("start_extract", s, e).children[1:]
                              if isinstance(t, Tree) and t.data == "string")
            self.computed.update(_dissect_keys(pattern) if cmd == "dissect" else _grok_names(pattern))
        elif cmd == "completion":
            m = re.match(r"\s*([\w.@`]+)\s*=(?!=)", self.text[s:e])
            self.computed.add(m.group(1).replace("`", "") if m else "completion")
        elif cmd == "enrich":
            m = re.search(r"(?i)\bwith\b(.*)", self.text[s:e], re.S)
            for item in (m.group(1).split(",") if m else []):
                self.computed.add(item.split("=")[0].strip().replace("`", ""))
        elif cmd == "change_point":
            m = re.search(r"(?i)\bas\s+([\w.@`]+)\s*,\s*([\w.@`]+)", self.text[s:e])
            self.computed.update([n.replace("`", "") for n in m.groups()] if m else ["type", "pvalue"])
        elif cmd == "fork":
            return self.fork(s, e)
        elif cmd not in _PASSTHROUGH:
            guess = difflib.get_close_matches(cmd, sorted(_KNOWN_COMMANDS), n=1, cutoff=0.6)
            raise QueryError(f"unknown command {show(cmd.upper())}", at, "unknown command",
                             f"a command name (did you mean `{guess[0].upper()}`?)" if guess
                             else "a command name (`WHERE`, `EVAL`, `STATS` ...)")
        return None

    def fork(self, s: int, e: int) -> Node | None:
        """FORK (branch) (branch) ...: rows from any branch pass, so the branches' filters OR.
        A branch without a filter lets everything through, and so does the FORK."""
        branches: list[Node | None] = []
        i = _skip_space(self.text, s, e)
        while i < e and self.text[i] == "(":
            close = self._matching(i, e)
            branches.append(self.run(i + 1, close))
            i = _skip_space(self.text, close + 1, e)
        if i < e or not branches:
            raise QueryError("FORK expects parenthesized branches", i, "invalid FORK")
        self.computed.add("_fork")
        return None if any(b is None for b in branches) else Or([b for b in branches if b is not None])

    def _matching(self, i: int, e: int) -> int:
        level = 0  # brackets were validated by split_pipeline
        for j, c in _structure(self.text, i, e):
            level += c in "([{"
            level -= c in ")]}"
            if level == 0:
                return j
        raise QueryError("unclosed '('", i, "unbalanced parenthesis")  # pragma: no cover

    def define(self, assigns: Iterable[Tree], base: int) -> None:
        for a in assigns:
            if a.data == "named":
                self.computed.add(_qname(a.children[0]))
            else:  # an unnamed expression is a column named as written
                self.computed.add(_collapse(self.text[base + a.meta.start_pos:base + a.meta.end_pos]))

    def parse(self, start: str, s: int, e: int) -> Tree:
        """Parse text[s:e] from one start rule; positions in the tree are relative to s."""
        try:
            tree = _get_parser().parse(self.text[s:e], start=start)
        except UnexpectedCharacters as err:
            pos = s + err.pos_in_stream
            raise QueryError(f"unexpected character {show(self.text[pos])}", pos,
                             f"unexpected character {self.text[pos]!r}", _expected(err)) from None
        except UnexpectedToken as err:
            tok = err.token
            if tok.type == "$END":
                raise QueryError("the command ends too early", e, "unexpected end", _expected(err)) from None
            pos = s + (tok.start_pos or 0)
            raise QueryError(f"unexpected {show(str(tok.value))}", pos, f"unexpected token {tok.value!r}",
                             _expected(err)) from None
        except UnexpectedEOF as err:
            raise QueryError("the command ends too early", e, "unexpected end", _expected(err)) from None
        except LarkError as err:  # pragma: no cover - other lark errors are grammar bugs
            raise QueryError(f"cannot parse ES|QL: {err}", s, "syntax error") from None
        # The grammar takes any name after a number (`1 hour`) and any backslash pair in a
        # string, as Elasticsearch's lexer does not; refuse here what Elasticsearch refuses.
        for sub in tree.iter_subtrees():
            if sub.data == "timespan" and sub.children[1].lower() not in _TIME_UNITS:
                unit = sub.children[1]
                raise QueryError(f"unknown time unit {show(str(unit))}", s + unit.start_pos, "unknown time unit",
                                 "a unit such as `seconds`, `minutes`, `hours` or `days`")
            if sub.data == "string" and sub.children[0].type == "STRING":
                tok = sub.children[0]
                for m in _ESCAPE.finditer(tok):
                    if m.group(1) not in _STRING_ESCAPES:
                        raise QueryError(f"unknown escape {show(m.group(0))} in a string", s + tok.start_pos + m.start(),
                                         "invalid escape", "`\\\\`, `\\\"`, `\\t`, `\\n` or `\\r`, or the "
                                         "value in triple quotes, where a backslash is an ordinary character")
        return tree


class _Operand:
    """One side of a comparison: a field, a literal, an expression, or something else."""

    __slots__ = ("kind", "text", "folded", "computed")

    def __init__(self, kind: str, text: str = "", folded: bool = False, computed: bool = False) -> None:
        self.kind, self.text, self.folded, self.computed = kind, text, folded, computed

    def notes(self) -> tuple[str, ...]:
        return (("computed",) if self.computed else ()) + (("expression",) if self.kind == "expr" else ())


class _Where:
    """Turns one WHERE expression into a tree of predicates."""

    def __init__(self, pipe: _Pipeline, base: int) -> None:
        self.pipe, self.sink, self.base = pipe, pipe.sink, base

    def pos(self, t: Tree | Token) -> int:
        return self.base + (t.start_pos if isinstance(t, Token) else t.meta.start_pos)

    def expr(self, t: Tree | Token) -> Node | None:
        if not isinstance(t, Tree):
            return None  # a bare literal filters nothing we can name
        kind = t.data
        if kind in ("or_expr", "and_expr"):
            kids = [self.expr(c) for c in t.children]
            kept = [k for k in kids if k is not None]
            return None if not kept else (Or if kind == "or_expr" else And)(kept)
        if kind == "not_":  # a loop, so `not not not ...` cannot exhaust the stack
            negations = 0
            while isinstance(t, Tree) and t.data == "not_":
                negations, t = negations + 1, t.children[1]
                if negations > MAX_DEPTH:
                    raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", self.pos(t), "nesting too deep")
            inner = self.expr(t)
            return _negate(negations % 2 == 1, inner)
        handler = getattr(self, "_" + kind, None)
        return handler(t) if handler else None

    def operand(self, t: Tree | Token) -> _Operand:
        if isinstance(t, Tree):
            kind = t.data
            if kind == "field":
                name = _qname(t.children[0])
                return _Operand("field", name, computed=name in self.pipe.computed)
            if kind in ("string", "number", "boolean", "timespan"):
                return _Operand("const", _literal(t))
            if kind == "cast":  # `x::keyword` is still x, `"10"::long` still 10
                inner = self.operand(t.children[0])
                return inner if inner.kind in ("field", "const") else self._expr_operand(t)
            if kind == "neg" and isinstance(t.children[1], Tree) and t.children[1].data == "number":
                return _Operand("const", ("-" if t.children[0] == "-" else "") + _literal(t.children[1]))
            if kind == "func" and _func_name(t) in _CASE_FOLDERS and len(_args(t)) == 1:
                inner = self.operand(_args(t)[0])
                if inner.kind in ("field", "expr"):
                    inner.folded = True
                    return inner
            if kind in ("func", "arith", "term", "neg", "cast"):
                return self._expr_operand(t)
            return _Operand("other")  # null, ?param, array, map, boolean sub-expression
        return _Operand("other")

    def _expr_operand(self, t: Tree) -> _Operand:
        text = _collapse(self.pipe.text[self.pos(t):self.base + t.meta.end_pos])
        if len(text) > MAX_EXPR_TEXT:
            return _Operand("other")
        refs = {_qname(f.children[0]) for f in t.find_data("field")}
        return _Operand("expr", text, computed=bool(refs & self.pipe.computed))

    def add(self, t: Tree, o: _Operand, op: str, values: Iterable[str], case_sensitive: bool,
            notes: tuple[str, ...] = ()) -> Node:
        return self.sink.add(o.text, op, values, case_sensitive=case_sensitive, offset=self.pos(t),
                             notes=o.notes() + notes)

    def _comparison(self, t: Tree) -> Node | None:
        left, op, right = self.operand(t.children[0]), str(t.children[1]), self.operand(t.children[2])
        if left.kind == "const" and right.kind in ("field", "expr"):
            left, right, op = right, left, _FLIP[op]
        if left.kind == right.kind == "field" and op in ("==", "!=", "=~"):
            cs = not (left.folded or right.folded or op == "=~")
            leaf = self.sink.add(left.text, "fieldref", [right.text], case_sensitive=cs, offset=self.pos(t),
                                 notes=left.notes())
        elif left.kind in ("field", "expr") and right.kind == "const":
            leaf = self.add(t, left, _ORDER_OPS.get(op, "eq"), [right.text], not left.folded and op != "=~")
        else:
            return None  # two expressions, a ?param or null: nothing to index
        return Not(leaf) if op == "!=" else leaf

    def _in_(self, t: Tree) -> Node | None:
        target, negated, items = self.operand(t.children[0]), t.children[1] is not None, t.children[2:]
        if target.kind not in ("field", "expr"):
            return None
        operands = [(item, self.operand(item)) for item in items]
        values = [o.text for _, o in operands if o.kind == "const"]
        leaves = [self.add(t, target, "eq", values, not target.folded)] if values else []
        if target.kind == "field":  # `a IN (b, "x")`: b is another column of the same row
            leaves += [self.sink.add(target.text, "fieldref", [o.text], case_sensitive=True,
                                     offset=self.pos(item), notes=target.notes())
                       for item, o in operands if o.kind == "field"]
        return _negate(negated, _any(leaves))

    def _like(self, t: Tree, regex: bool = False) -> Node | None:
        target, negated = self.operand(t.children[0]), t.children[1] is not None
        if target.kind not in ("field", "expr"):
            return None
        by_op: dict[str, list[str]] = {}
        for s in t.children[2:]:
            op, value = ("regex_match", _string(s)) if regex else classify_pattern(_like_parts(_string(s)))
            by_op.setdefault(op, []).append(value)
        # `f LIKE ("a*", "b*")` is one predicate with two values where the operators agree.
        leaves = [self.add(t, target, op, vals, not target.folded) for op, vals in by_op.items()]
        return _negate(negated, _any(leaves))

    def _rlike(self, t: Tree) -> Node | None:
        return self._like(t, regex=True)

    def _is_null(self, t: Tree) -> Node | None:
        target = self.operand(t.children[0])
        if target.kind not in ("field", "expr"):
            return None
        return self.add(t, target, "exists" if t.children[1] is not None else "is_null", [""], False)

    def _match_op(self, t: Tree) -> Node | None:  # `field : "x"`, full-text match
        target, value = self.operand(t.children[0]), self.operand(t.children[1])
        if target.kind not in ("field", "expr") or value.kind != "const":
            return None
        return self.add(t, target, "eq", [value.text], False)

    def _field(self, t: Tree) -> Node | None:  # `WHERE flag`: a boolean column that is true
        return self.add(t, self.operand(t), "eq", ["true"], True)

    def _func(self, t: Tree) -> Node | None:
        name, args = _func_name(t), _args(t)
        if name in ("kql", "qstr"):
            return self._query_string(t, name, args)
        if not args:
            return None
        target, rest = self.operand(args[0]), [self.operand(a) for a in args[1:]]
        values = [o.text for o in rest if o.kind == "const"]
        if target.kind not in ("field", "expr") or not values:
            return None
        cs = not target.folded
        if name in ("starts_with", "ends_with"):
            return self.add(t, target, name, values[:1], cs)
        if name == "cidr_match":
            return self.add(t, target, "cidr", values, False)
        if name == "match":  # full-text match: case-insensitive equality, "fuzzy" if it allows edits
            fuzzy = any(_string(e.children[0]).lower() == "fuzziness"
                        for a in args if isinstance(a, Tree) and a.data == "map" for e in a.children if e)
            return self.add(t, target, "eq", values[:1], False, ("fuzzy",) if fuzzy else ())
        if name == "mv_contains":  # a multi-valued column holding this value
            return self.add(t, target, "eq", values, cs)
        return None  # other boolean functions: not a predicate we can name

    def _query_string(self, t: Tree, name: str, args: list) -> Node | None:
        if name == "qstr":
            return None  # Lucene query string: no Lucene parser is wired in here
        if not args or not (isinstance(args[0], Tree) and args[0].data == "string"):
            raise QueryError("KQL() takes a string", self.pos(t), "KQL() argument")
        tok = args[0].children[0]
        inner = self.pos(tok) + (3 if tok.type == "TSTRING" else 1)
        if self.pipe.kql is None:
            raise QueryError("KQL() in the query and no KQL parser to read it", self.pos(t),
                             "KQL() without a KQL parser")
        return self.pipe.kql(_string(args[0]), self.sink, inner)


def _negate(negated: bool, node: Node | None) -> Node | None:
    return Not(node) if negated and node is not None else node


def _any(leaves: list) -> Node | None:
    return None if not leaves else leaves[0] if len(leaves) == 1 else Or(list(leaves))


def _plain_field(assign: Tree) -> bool:
    return assign.data == "unnamed" and isinstance(assign.children[0], Tree) and assign.children[0].data == "field"


def _qname(t: Tree) -> str:
    return ".".join(p[1:-1].replace("``", "`") if p.type == "QUOTED_ID" else str(p) for p in t.children)


def _func_name(t: Tree) -> str:
    return _qname(t.children[0]).lower()


def _args(t: Tree) -> list:
    return [a for a in t.children[1:] if a is not None and not (isinstance(a, Token) and a.type == "STAR")]


def _collapse(s: str) -> str:
    return " ".join(s.split())


def _literal(t: Tree) -> str:
    if t.data == "string":
        return _string(t)
    if t.data == "boolean":
        return str(t.children[0]).lower()
    if t.data == "timespan":
        return f"{t.children[0]} {t.children[1]}"
    return str(t.children[0])


def _string(t: Tree) -> str:
    """A string literal's value: triple-quoted ones are verbatim, others unescape \\t \\n \\r \\" \\\\."""
    tok = t.children[0]
    if tok.type == "TSTRING":
        return tok[3:-3]  # extra closing quotes belong to the content
    body = tok[1:-1]
    return _ESCAPE.sub(lambda m: _STRING_ESCAPES[m.group(1)], body)  # parse() refused others


def _like_parts(pattern: str) -> list[PatternPart]:
    """LIKE's wildcards: `*` any run, `?` one character, a backslash makes the next literal."""
    parts: list[PatternPart] = []
    buf: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            buf.append(pattern[i + 1])
            i += 2
            continue
        if c in "*?":
            parts += ["".join(buf), STAR if c == "*" else QMARK]
            buf = []
        else:
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    return parts


def _dissect_keys(pattern: str) -> set[str]:
    """Columns of a DISSECT pattern: `%{name}`, `%{+name}`, `%{name->}`; not `%{}`, `%{?skip}`,
    nor the reference keys `%{*k}`/`%{&k}` whose column name comes from the data."""
    keys = set()
    for m in _DISSECT_KEY.finditer(pattern):
        key = m.group(1).removesuffix("->").lstrip("+")
        if key and key[0] not in "?*&":
            keys.add(key)
    return keys


def _grok_names(pattern: str) -> set[str]:
    """Columns of a GROK pattern: `%{SYNTAX:name}`, `%{SYNTAX:name:type}` and `(?<name>...)`."""
    return {a or b for a, b in _GROK_NAME.findall(pattern)}
