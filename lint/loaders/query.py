"""What every query-language parser shares: the predicate sink and the error it raises.

A parser (KQL, EQL, ES|QL, Lucene, SPL) turns query text into a tree of
`lint.model.tree` nodes whose leaves index predicates collected by a
`PredicateSink`. Parsers record fields and values as the query writes them;
mapping to canonical fields happens once, later, for every vendor alike.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Callable, Iterable

from ..model.predicate import Predicate, PatternPart, classify_pattern, normalize_value
from ..model.tree import Leaf, Node, Not
from .words import at


class QueryError(Exception):
    """A query that cannot be understood. `offset` is a character offset into the
    query text; `construct` names what was not understood (e.g. "unbalanced parenthesis")."""

    def __init__(self, reason: str, offset: int | None = None, construct: str = "", expected: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.construct = construct
        self.expected = expected  # what the parser could have taken there, in words ("`and`, `or` or `)`")

    def describe(self, language: str, line: int | None, column: int | None) -> str:
        """One sentence: what was found, where in the file, what was expected."""
        reason = self.reason
        if reason.startswith(f"{language}:"):
            reason = reason[len(language) + 1:].lstrip()
        elif reason.startswith(f"{language} "):  # "EQL query nests too deeply": said once
            reason = reason[len(language) + 1:]
            reason = f"the {reason}" if reason.startswith("query ") else reason
        where = at(line, column)
        text = f"{language}: {reason} {where}".rstrip()
        return f"{text}; expected {self.expected}" if self.expected else text


def _newline_offsets(text: str) -> Iterable[int]:
    at = text.find("\n")
    while at >= 0:
        yield at
        at = text.find("\n", at + 1)


class PredicateSink:
    """Collects the predicates of one query; `add` returns the leaf that points at one.

    `base_line` is the file line where the query text starts, so offsets become
    file lines.
    """

    def __init__(self, text: str = "", base_line: int | None = None, base_column: int = 1) -> None:
        self.text = text
        self.base_line = base_line
        self.base_column = base_column  # file column of the query's first character
        self.predicates: list[Predicate] = []
        self.steps: tuple = ()  # EQL: the query's steps (rulelint.model.rule.Step)
        self.maxspan: float | None = None
        self.unmodelled: tuple[str, ...] = ()  # tests of the query the tree leaves out
        self._newlines: list[int] | None = None  # built on first use: one pass, not one per predicate
        self._end = 0

    def line_at(self, offset: int | None) -> int | None:
        if self.base_line is None:
            return None
        if offset is None:
            return self.base_line
        if self._newlines is None:
            text = self.text
            # An error at the very end belongs to the last line with text on it.
            self._end = len(text.rstrip())
            self._newlines = list(_newline_offsets(text))
        # Newlines before the offset; counting them per call made huge queries quadratic.
        return self.base_line + bisect_left(self._newlines, max(0, min(offset, self._end)))

    def column_at(self, offset: int | None) -> int | None:
        """The 1-based file column of an offset (None where the line is unknown): an error
        at the very end points just past the last character with text."""
        if self.base_line is None or offset is None:
            return None
        self.line_at(offset)  # builds the newline index and the end
        offset = max(0, min(offset, self._end))
        nl = self.text.rfind("\n", 0, offset)
        return self.base_column + offset if nl < 0 else offset - nl

    def add(
        self,
        field: str,
        op: str,
        values: Iterable[str],
        *,
        case_sensitive: bool = False,
        offset: int | None = None,
        notes: Iterable[str] = (),
    ) -> Leaf:
        """One predicate; values are OR-linked alternatives. Case is folded unless
        the comparison is case-sensitive."""
        vals = tuple(dict.fromkeys(normalize_value(str(v), case_sensitive) for v in values))
        self.predicates.append(Predicate(
            field=field, op=op, values=vals, line=self.line_at(offset),
            native_field=field, case_sensitive=case_sensitive, notes=tuple(notes),
        ))
        return Leaf(len(self.predicates) - 1)

    def embedded(self, text: str, offset: int, parse: Callable[[str, "PredicateSink"], Node | None]) -> Node | None:
        """Parse a query embedded in this one (ES|QL's `KQL("...")`) so that its lines and
        error offsets count from the outer text."""
        inner = PredicateSink(text, self.line_at(offset))
        try:
            node = parse(text, inner)
        except QueryError as e:
            raise QueryError(e.reason, offset + (e.offset or 0), e.construct, e.expected) from None
        base = len(self.predicates)
        self.predicates.extend(inner.predicates)
        return _shift(node, base)

    def add_pattern(
        self,
        field: str,
        parts: list[PatternPart],
        *,
        case_sensitive: bool = False,
        offset: int | None = None,
        notes: Iterable[str] = (),
    ) -> Leaf:
        """A wildcard pattern (literal chunks and `STAR`/`QMARK`), classified into the
        most precise operator: `*x*` contains, `x*` starts_with, and so on."""
        op, value = classify_pattern(parts)
        return self.add(field, op, [value] if op != "exists" else [""],
                        case_sensitive=case_sensitive, offset=offset, notes=notes)


def _shift(node: Node | None, base: int) -> Node | None:
    if node is None or not base:
        return node
    if isinstance(node, Leaf):
        return Leaf(node.pred + base)
    if isinstance(node, Not):
        return Not(_shift(node.child, base))
    return type(node)([_shift(c, base) for c in node.children])


def group(cls: type, children: list[Node | None]) -> Node | None:
    """An And/Or of the children that yielded predicates; a single child stands alone."""
    kept = [c for c in children if c is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else cls(kept)
