"""EQL queries through `eql`, Elastic's own parser, into predicates.

The module is not named `eql_*` on purpose: eql imports every module of that
prefix it finds on sys.path as a plugin. Plugin loading is switched off below so
a rules folder can never make the linter import code.
"""

from __future__ import annotations

import re
from typing import Any

from ..model.predicate import QMARK, STAR, PatternPart
from ..model.rule import Step
from ..model.tree import And, Leaf, Node, Not, Or
from .query import PredicateSink, QueryError, group
from .words import expected_phrase, lark_accepts, show, terminal_words, token_at

MAX_QUERY_CHARS = 1_000_000

# EQL event types and the Sigma log-source categories they correspond to.
EVENT_CATEGORY = {
    "process": "process_creation", "file": "file_event", "registry": "registry_set",
    "network": "network_connection", "dns": "dns_query", "library": "image_load",
    "driver": "driver_load", "authentication": "authentication", "iam": "iam",
    "configuration": "configuration", "api": "api",
}

_eql: Any = None
_walker_cls: Any = None
_fast_parser: Any = None  # eql's LALR tables without position tracking (see _walk)


def _load() -> None:
    """Import eql once, with its plugin loader disabled, and build the walker that
    remembers which comparisons are case-insensitive (the AST forgets `~` and `:`)."""
    global _eql, _walker_cls, _fast_parser
    if _eql is not None:
        return
    import eql
    import eql.parser
    import eql.utils
    from lark import Lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    eql.utils._loaded_plugins = True  # never import `eql_*` modules from sys.path

    # The same parse tables, copied rather than rebuilt (milliseconds), minus the position
    # bookkeeping that halves lark's speed: positions only ever serve error messages.
    data, memo = eql.parser.lark_parser.memo_serialize([TerminalDef, Rule])
    _fast_parser = Lark._load_from_dict(data, memo, propagate_positions=False, tree_class=eql.parser.KvTree)

    fields: dict[tuple, tuple[bool, tuple]] = {}

    class Walker(eql.parser.LarkToEQL):
        def __init__(self, text: str) -> None:
            super().__init__(text)
            self.insensitive: set[int] = set()
            self.pinned: list = []

        def _field_path(self, node, allow_optional=False):
            # eql re-parses every field name with its grammar; names repeat across
            # queries, so remember the split (errors are raised, never remembered).
            key = (str(node.children[-1]), allow_optional, self._alias_enabled)
            hit = fields.get(key)
            if hit is None:
                optional, path = super()._field_path(node, allow_optional)
                hit = fields[key] = (optional, tuple(path))
            return hit[0], list(hit[1])

        def string_predicate(self, node):  # `:`, like~, regex~ fold case; like, regex don't
            info = super().string_predicate(node)
            op = str(node["STRING_PREDICATE"])
            if op == ":" or op.endswith("~"):
                self._mark(info.node)
            return info

        def in_set(self, node):
            info = super().in_set(node)
            if str(node.get("IN")) == "in~":
                self._mark(info.node)
            return info

        def _mark(self, n) -> None:
            # Marks are by id(); keep the node alive so no later node can reuse its id.
            self.pinned.append(n)
            self.insensitive.add(id(n))
            if isinstance(n, eql.ast.Not):
                self.insensitive.add(id(n.term))
            if isinstance(n, eql.ast.Or):
                self.insensitive.update(id(t) for t in n.terms)

    _eql, _walker_cls = eql, Walker


def parse_eql(text: str, sink: PredicateSink) -> tuple[Node | None, str]:
    """The predicate tree of an EQL query and its (first) event type.

    Sequence and sample steps are ANDed; a missing-event step (`![...]`) is a NOT.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", 0, "oversized query")
    _load()
    eql = _eql
    P = eql.parser
    try:
        with P.elasticsearch_syntax, P.ignore_missing_functions, P.allow_negation, \
                P.skip_optimizations, P.allow_sample, P.allow_runs, \
                P.ParserConfig(implied_any=False, implied_base=False, allow_subqueries=True, allow_pipes=True):
            walker, root = _walk(text)
            root = getattr(root, "node", root)
    except QueryError:
        raise
    except eql.errors.EqlError as e:
        msg = str(e).splitlines()
        reason = getattr(e, "error_msg", None) or (msg[1] if len(msg) > 1 else msg[0] if msg else "invalid EQL")
        offset = _offset(text, getattr(e, "line", 0) + 1, getattr(e, "column", 0) + 1)
        # eql's source line and caret become the column; what stands at the caret, the words.
        what = token_at(text, offset)
        words = f"{reason[:1].lower()}{reason[1:]}".rstrip(".")
        raise QueryError(f"{words}, found {show(what)}" if what else words, offset, reason) from None
    except RecursionError:
        raise QueryError("EQL query nests too deeply", 0, "deep nesting") from None
    builder = _Builder(eql.ast, sink, walker.insensitive, text)
    try:
        node = builder.query(root.first)
        sink.steps, sink.maxspan = tuple(builder.steps), builder.maxspan
        sink.unmodelled = tuple(builder.dropped)
        return node, builder.event_type
    except RecursionError:
        raise QueryError("EQL query nests too deeply", 0, "deep nesting") from None


def _walk(text: str) -> tuple[Any, Any]:
    """eql's AST of a query, and the walker that built it (it holds the case marks).
    Runs inside eql's parser settings."""
    P = _eql.parser
    walker = _walker_cls(text)
    try:
        # Fast path: a tree without positions walks to the same AST. Whatever goes
        # wrong is redone with positions, so errors read exactly as eql words them.
        return walker, walker.visit(_fast_parser.parse(text, start="piped_query"))
    except Exception:
        pass
    try:
        tree = P.lark_parser.parse(text, start="piped_query")
    except P.LarkError as e:
        line, col = getattr(e, "line", 1), getattr(e, "column", 1)
        offset = _offset(text, line, col)
        at_end = getattr(getattr(e, "token", None), "type", "") == "$END"  # lark puts it on the last token
        what = "" if at_end else token_at(text, offset)
        if not what:
            offset = len(text.rstrip())
        accepts = lark_accepts(e)
        expected = expected_phrase(terminal_words(P.lark_parser, accepts, _EQL_TERMINALS, _EQL_FIRST)) if accepts else ""
        found_it = f"unexpected {show(what)}" if what else "unexpected end of the query"
        raise QueryError(found_it, offset, "invalid syntax", expected) from None
    walker = _walker_cls(text)
    return walker, walker.visit(tree)


# eql's grammar terminals in words (literal keywords and punctuation name themselves).
_VALUE = "a value"
_EQL_TERMINALS: dict[str, str | None] = {
    "IN": "`in`", "EQUALS": "`==`", "STRING_PREDICATE": "`:`",
    "COMP_OP": "a comparison (`!=`, `<`, `>=` ...)", "MULT_OP": "an arithmetic operator",
    "METHOD_START": None, "FIELD": "a field", "OPTIONAL_FIELD": "a field", "ESCAPED_NAME": "a field",
    "INSENSITIVE_NAME": None, "NAME": "a field", "UNSIGNED_INTEGER": _VALUE, "DECIMAL": _VALUE,
    "SIGN": None, "DQ_STRING": _VALUE, "SQ_STRING": _VALUE, "RAW_DQ_STRING": _VALUE, "RAW_SQ_STRING": _VALUE,
    "RAW_TQ_STRING": _VALUE, "TRUE": _VALUE, "FALSE": _VALUE, "NULL": _VALUE, "DOLLAR": None,
    "MISSING_EVENT_OPEN": "`![`", "MACRO": None, "CONST": None,
}
_EQL_FIRST = ("`where`", "`by`", "`and`", "`or`", "`,`", "`)`", "`]`", "`|`", "`==`", "`:`")


def _offset(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[:max(0, line - 1)]) + max(0, col - 1)


class _Builder:
    def __init__(self, ast: Any, sink: PredicateSink, insensitive: set[int], text: str) -> None:
        self.ast, self.sink, self.insensitive, self.text = ast, sink, insensitive, text
        self.event_type = ""
        self.steps: list[Step] = []  # what replay needs to join a sequence's events
        self.dropped: list[str] = []  # tests left out of the tree
        self.maxspan: float | None = None

    def query(self, q: Any) -> Node | None:
        ast = self.ast
        if isinstance(q, (ast.Sequence, ast.Join, ast.Sample)):
            span = getattr(q, "max_span", None)
            if span is not None and hasattr(span, "as_milliseconds"):
                self.maxspan = span.as_milliseconds() / 1000.0
            steps: list[Node] = []
            for n, sub in enumerate(q.queries, 1):
                first = len(self.sink.predicates)
                negated = bool((getattr(sub, "data", None) or {}).get("is_negated"))
                self.steps.append(Step(sub.query.event_type, tuple(str(j) for j in getattr(sub, "join_values", ()) or ()),
                                       negated))
                node = self.event(sub.query)
                if node is None:
                    continue
                # Each step tests its own event: a `stepN` note keeps logic analysis
                # from reading two steps' tests as one event's.
                for p in self.sink.predicates[first:]:
                    p.notes += (f"step{n}",)
                steps.append(Not(node) if (getattr(sub, "data", None) or {}).get("is_negated") else node)
            return And(steps) if steps else None
        if isinstance(q, ast.EventQuery):
            self.steps.append(Step(q.event_type))
            return self.event(q)
        return None

    def event(self, eq: Any) -> Node | None:
        if not self.event_type and eq.event_type not in ("any", "*"):
            self.event_type = eq.event_type
        return self.expr(eq.query)

    def expr(self, n: Any) -> Node | None:
        node = self._expr(n)
        ast = self.ast
        if node is None and not isinstance(n, (ast.And, ast.Or, ast.Not, ast.Boolean)):
            # A test the model cannot state (a function of a field, math, field against field):
            # left out of the tree, but named, so replay knows the tree is broader than the query.
            self.dropped.append(_render(n))
        return node

    def _expr(self, n: Any) -> Node | None:
        ast = self.ast
        if isinstance(n, ast.And):
            return group(And, [self.expr(t) for t in n.terms])
        if isinstance(n, ast.Or):
            return group(Or, [self.expr(t) for t in n.terms])
        if isinstance(n, ast.Not):
            inner = self.expr(n.term)
            return Not(inner) if inner is not None else None
        if isinstance(n, ast.Comparison):
            return self.comparison(n)
        if isinstance(n, ast.InSet):
            field = _field(ast, n.expression)
            vals = [_literal(ast, v) for v in n.container]
            if field is None or any(v is None for v in vals):
                return None
            return self.sink.add(field, "eq", vals, case_sensitive=id(n) not in self.insensitive,
                                 offset=self._find(field))
        if isinstance(n, (ast.IsNull, ast.IsNotNull)):
            field = _field(ast, n.expr)
            if field is None:
                return None
            op = "is_null" if isinstance(n, ast.IsNull) else "exists"
            return self.sink.add(field, op, [""], offset=self._find(field))
        if isinstance(n, ast.FunctionCall):
            return self.function(n)
        return None  # literals (`true`), math, subquery tests: no predicate

    def comparison(self, n: Any) -> Node | None:
        ast = self.ast
        left, right, comp = n.left, n.right, n.comparator
        if _field(ast, left) is None and _field(ast, right) is not None:
            left, right = right, left
            comp = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(comp, comp)
        field, value = _field(ast, left), _literal(ast, right)
        if field is None:
            return None
        other = _field(ast, right)
        if value is None and other is not None:
            return self.sink.add(field, "fieldref", [other], case_sensitive=True, offset=self._find(field))
        if value is None:
            return None
        op = {"==": "eq", "!=": "eq", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[comp]
        leaf = self.sink.add(field, op, [value], case_sensitive=op == "eq", offset=self._find(field))
        return Not(leaf) if comp == "!=" else leaf

    def function(self, n: Any) -> Node | None:
        ast = self.ast
        name = n.name.lower()
        args = n.arguments
        if not args:
            return None
        field = _field(ast, args[0])
        values = [_literal(ast, a) for a in args[1:]]
        if field is None or not values or any(v is None for v in values):
            return None
        cs = id(n) not in self.insensitive
        off = self._find(field)
        if name == "wildcard":
            leaves = [self._pattern(field, v, cs, off) for v in values]
            return _merge_or(self.sink, leaves)
        if name == "match":
            return self.sink.add(field, "regex_match", values, case_sensitive=cs, offset=off)
        if name in ("startswith", "endswith", "stringcontains"):
            op = {"startswith": "starts_with", "endswith": "ends_with", "stringcontains": "contains"}[name]
            return self.sink.add(field, op, values, case_sensitive=cs, offset=off)
        if name == "cidrmatch":
            return self.sink.add(field, "cidr", values, offset=off)
        return None

    def _pattern(self, field: str, value: str, cs: bool, offset: int | None) -> Leaf:
        parts: list[PatternPart] = []
        for chunk in re.split(r"([*?])", value):
            parts.append(STAR if chunk == "*" else QMARK if chunk == "?" else chunk)
        return self.sink.add_pattern(field, parts, case_sensitive=cs, offset=offset)

    def _find(self, field: str) -> int | None:
        i = self.text.find(field)
        return i if i >= 0 else None


def _merge_or(sink: PredicateSink, leaves: list[Leaf]) -> Node:
    """`f : ("a*", "b*")` is one predicate with two values when the operators agree."""
    if len(leaves) == 1:
        return leaves[0]
    preds = [sink.predicates[lf.pred] for lf in leaves]
    first = preds[0]
    if all(p.op == first.op and p.case_sensitive == first.case_sensitive for p in preds):
        first.values = tuple(dict.fromkeys(v for p in preds for v in p.values))
        first._keys = None
        keep = leaves[0].pred
        # The later predicates were appended last; drop them so indexes stay valid.
        del sink.predicates[keep + 1:]
        return leaves[0]
    return Or(list(leaves))



def _render(n: Any) -> str:
    try:
        return " ".join(str(n.render()).split())[:200]
    except Exception:  # a node eql cannot print back: its kind is enough to say what was left out
        return type(n).__name__


def _field(ast: Any, n: Any) -> str | None:
    if isinstance(n, ast.Field):
        return ".".join([n.base, *(str(p) for p in n.path)])
    return None


def _literal(ast: Any, n: Any) -> str | None:
    if isinstance(n, ast.Boolean):
        return "true" if n.value else "false"
    if isinstance(n, (ast.String, ast.Number)):
        return str(n.value)
    return None

