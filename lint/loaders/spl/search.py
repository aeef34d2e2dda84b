"""Search expressions (the leading search, `| search`, the `where` of tstats) to predicates:
NOT binds tightest, then OR, then AND; values are case-insensitive, `*` is a wildcard."""

from __future__ import annotations

from typing import Protocol

from lark import Token, Tree

from ...model.predicate import KEYWORD_FIELD, STAR, PatternPart, classify_pattern
from ...model.tree import And, Node, Not, Or
from .scan import _unescape, _unquote



class PipelineSink(Protocol):
    """What the expression builders need of the pipeline that reads a search: it
    resolves field names (computed columns, renames) and places predicates."""

    def add(self, field: str, op: str, values: list[str], case_sensitive: bool, offset: int) -> Node: ...

    def add_pattern(self, field: str, parts: list[PatternPart], case_sensitive: bool, offset: int) -> Node: ...

    def parse(self, expr: str, base: int, start: str, what: str) -> Tree: ...

# Search terms that bound time, not events.
TIME_TERMS = {
    "earliest", "latest", "_index_earliest", "_index_latest", "starttime", "endtime",
    "starthoursago", "endhoursago", "startdaysago", "enddaysago", "startminutesago",
    "endminutesago", "timeformat", "earliest_time", "latest_time",
}
# Ordering operators as predicate ops (the `where` builder compares with them too).
_CMP_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def _star_parts(text: str) -> list[PatternPart]:
    parts: list[PatternPart] = []
    for i, chunk in enumerate(text.split("*")):
        if i:
            if parts and parts[-1] is STAR:
                pass  # `**` is one wildcard
            else:
                parts.append(STAR)
        if chunk:
            parts.append(chunk)
    return parts


class _SearchBuilder:
    def __init__(self, pipe: PipelineSink, base: int) -> None:
        self.pipe = pipe
        self.base = base

    def build(self, tree: Tree) -> Node | None:
        return self.node(tree.children[0]) if tree.children else None

    def node(self, t: Tree) -> Node | None:
        kind = t.data
        if kind in ("s_and", "s_or"):
            kids = [k for k in (self.node(c) for c in t.children) if k is not None]
            if not kids:
                return None
            return kids[0] if len(kids) == 1 else (And if kind == "s_and" else Or)(kids)
        if kind == "s_neg":
            child = self.node(t.children[0])
            return Not(child) if child is not None else None
        if kind == "s_empty":
            return None
        if kind == "s_term":
            parts, cased = self.value(t.children[0])
            if all(p is STAR for p in parts):
                return None  # `*`: every event
            return self.pipe.add_pattern(KEYWORD_FIELD, parts, cased, self.base + t.children[0].start_pos)
        field_tok = t.children[0]
        field = _unescape(_unquote(str(field_tok)))
        offset = self.base + field_tok.start_pos
        if kind == "s_cmp":
            op, val = str(t.children[1]), t.children[2]
            if field.lower() in TIME_TERMS:
                return None
            parts, cased = self.value(val)
            if op in _CMP_OPS:
                return self.pipe.add(field, _CMP_OPS[op], ["".join(parts)], False, offset)
            leaf = self.pipe.add_pattern(field, parts, cased, offset)
            return Not(leaf) if op == "!=" else leaf
        # s_in: values with the same operator share one predicate.
        groups: dict[tuple[str, bool], list[str]] = {}
        for item in t.children[1:]:
            parts, cased = self.value(item)
            op, value = classify_pattern(parts)
            groups.setdefault((op, cased), []).append(value)
        kids = [self.pipe.add(field, op, vals if op != "exists" else [""], cased, offset)
                for (op, cased), vals in groups.items()]
        if not kids:
            return None
        return kids[0] if len(kids) == 1 else Or(kids)

    @staticmethod
    def value(tok: Token) -> tuple[list[PatternPart], bool]:
        """A search value as a wildcard pattern, and whether it is case-sensitive (CASE())."""
        s = str(tok)
        cased = False
        if tok.type == "TERMFN":
            cased = s[:4].upper() == "CASE"
            s = s[5:-1].strip()
        if s.startswith('"') and s.endswith('"') and len(s) >= 2:
            s = s[1:-1]
        return _star_parts(_unescape(s)), cased
