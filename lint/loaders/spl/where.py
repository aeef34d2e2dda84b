"""`| where` expressions (the eval language) to predicates: NOT > AND > OR; comparisons
are case-sensitive unless the field is wrapped in lower()/upper(); functions not
modelled drop out of the tree without failing the parse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, Tree

from ...model.predicate import QMARK, STAR, PatternPart
from ...model.tree import And, Node, Not, Or
from .scan import _unescape, _unquote
from .search import _CMP_OPS, PipelineSink, _SearchBuilder


_MIRROR = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "eq": "eq", "ne": "ne"}


@dataclass(slots=True)
class _Field:
    name: str
    offset: int
    folded: bool = False  # wrapped in lower()/upper(): the comparison ignores case


@dataclass(slots=True)
class _Lit:
    value: str
    offset: int


@dataclass(slots=True)
class _Bool:
    node: Node | None


_OTHER = _Bool(None)  # anything we do not model: skipped, never an error
_PASS_THROUGH = {"trim", "ltrim", "rtrim", "tostring", "mvjoin", "coalesce"}


class _WhereBuilder:
    def __init__(self, pipe: PipelineSink, base: int) -> None:
        self.pipe = pipe
        self.base = base

    def build(self, tree: Tree) -> Node | None:
        v = self.val(tree.children[0])
        return v.node if isinstance(v, _Bool) else None

    def val(self, t: Tree | Token) -> Any:
        kind = t.data
        if kind in ("w_or", "w_and"):
            kids = [k for k in (self.bool(c) for c in t.children) if k is not None]
            if not kids:
                return _OTHER
            return _Bool(kids[0] if len(kids) == 1 else (And if kind == "w_and" else Or)(kids))
        if kind == "w_neg":
            child = self.bool(t.children[0])
            return _Bool(Not(child) if child is not None else None)
        if kind == "w_field":
            tok = t.children[0]
            return _Field(_unquote(str(tok)), self.base + tok.start_pos)
        if kind == "w_str":
            tok = t.children[0]
            return _Lit(_unescape(str(tok)[1:-1]), self.base + tok.start_pos)
        if kind == "w_num":
            tok = t.children[0]
            return _Lit(str(tok), self.base + tok.start_pos)
        if kind == "w_compare":
            return self.compare(self.val(t.children[0]), str(t.children[1]), self.val(t.children[2]))
        if kind in ("w_in", "w_in_call"):
            args = self.args(t.children[-1]) if t.children and isinstance(t.children[-1], Tree) \
                and t.children[-1].data == "w_args" else []
            if kind == "w_in":
                args = [self.val(t.children[0])] + args
            return self.in_(args)
        if kind == "w_like":
            return self.like(self.val(t.children[0]), self.val(t.children[1]))
        if kind == "w_like_call":
            args = self.args(t.children[0]) if t.children else []
            return self.like(*args) if len(args) == 2 else _OTHER
        if kind == "w_call":
            name = str(t.children[0]).lower()
            args = self.args(t.children[1]) if len(t.children) > 1 else []
            return self.call(name, args, t)
        return _OTHER  # w_xor, w_arith: not modelled

    def bool(self, t: Tree) -> Node | None:
        v = self.val(t)
        return v.node if isinstance(v, _Bool) else None

    def args(self, t: Tree) -> list[Any]:
        return [self.val(c) for c in t.children]

    def compare(self, a: Any, op: str, b: Any) -> _Bool:
        op = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne"}.get(op) or _CMP_OPS[op]
        if isinstance(a, _Lit) and isinstance(b, _Field):
            a, b, op = b, a, _MIRROR[op]
        if not isinstance(a, _Field):
            return _OTHER
        if isinstance(b, _Lit):
            if op in ("eq", "ne"):
                leaf = self.pipe.add(a.name, "eq", [b.value], not a.folded, a.offset)
                return _Bool(Not(leaf) if op == "ne" else leaf)
            return _Bool(self.pipe.add(a.name, op, [b.value], False, a.offset))
        if isinstance(b, _Field) and op in ("eq", "ne") and not a.folded and not b.folded:
            leaf = self.pipe.add(a.name, "fieldref", [b.name], True, a.offset)
            return _Bool(Not(leaf) if op == "ne" else leaf)
        return _OTHER

    def in_(self, args: list[Any]) -> _Bool:
        if not args or not isinstance(args[0], _Field):
            return _OTHER
        values = [v.value for v in args[1:] if isinstance(v, _Lit)]
        if not values:
            return _OTHER
        f = args[0]
        return _Bool(self.pipe.add(f.name, "eq", values, not f.folded, f.offset))

    def like(self, f: Any, pat: Any) -> _Bool:
        if not isinstance(f, _Field) or not isinstance(pat, _Lit):
            return _OTHER
        parts: list[PatternPart] = []
        for chunk in re.split(r"([%_])", pat.value):
            if chunk == "%":
                if not parts or parts[-1] is not STAR:
                    parts.append(STAR)
            elif chunk == "_":
                parts.append(QMARK)
            elif chunk:
                parts.append(chunk)
        return _Bool(self.pipe.add_pattern(f.name, parts, not f.folded, f.offset))

    def call(self, name: str, args: list[Any], t: Tree) -> Any:
        first = args[0] if args else None
        if name in ("lower", "upper") and isinstance(first, _Field):
            return _Field(first.name, first.offset, True)
        if name in _PASS_THROUGH and isinstance(first, _Field):
            return first
        if name == "match" and len(args) == 2 and isinstance(first, _Field) and isinstance(args[1], _Lit):
            return _Bool(self.pipe.add(first.name, "regex_match", [args[1].value], True, first.offset))
        if name in ("isnull", "isnotnull") and isinstance(first, _Field):
            op = "is_null" if name == "isnull" else "exists"
            return _Bool(self.pipe.add(first.name, op, [""], False, first.offset))
        if name == "cidrmatch" and len(args) == 2 and isinstance(first, _Lit) and isinstance(args[1], _Field):
            return _Bool(self.pipe.add(args[1].name, "cidr", [first.value], False, args[1].offset))
        if name == "searchmatch" and isinstance(first, _Lit):
            # The inner text is a search; its offsets fall back to the string's position.
            tree = self.pipe.parse(first.value, first.offset, "start_search", "searchmatch")
            return _Bool(_SearchBuilder(_PinnedPipe(self.pipe, first.offset), 0).build(tree))  # type: ignore[arg-type]
        return _OTHER


class _PinnedPipe:
    """Adds through the pipeline with one fixed offset (a search written inside a string)."""

    def __init__(self, pipe: PipelineSink, offset: int) -> None:
        self.pipe = pipe
        self.offset = offset

    def add(self, field: str, op: str, values: list[str], cased: bool, _offset: int) -> Node:
        return self.pipe.add(field, op, values, cased, self.offset)

    def add_pattern(self, field: str, parts: list[PatternPart], cased: bool, _offset: int) -> Node:
        return self.pipe.add_pattern(field, parts, cased, self.offset)
