"""The parser of search and `where` expressions (grammars/spl.lark), and its
syntax errors as QueryErrors with an offset into the search as written."""

from __future__ import annotations

from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..query import QueryError
from .macros import _OffsetMap

GRAMMAR = Path(__file__).parent.parent / "grammars" / "spl.lark"

_parser: Lark | None = None


def _get_parser() -> Lark:
    # Built once; LALR with the contextual lexer parses the whole security_content in well under a second.
    global _parser
    if _parser is None:
        _parser = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr",
                       start=["start_search", "start_where"])
    return _parser


def _syntax_error(expr: str, e: UnexpectedInput, omap: _OffsetMap, base: int, what: str) -> QueryError:
    pos = getattr(e, "pos_in_stream", None)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            construct, pos = f"unexpected end of {what} expression", len(expr.rstrip())
        else:
            construct, pos = f"unexpected {tok.value!r} in {what} expression", tok.start_pos
    elif isinstance(e, UnexpectedCharacters):
        construct = f"unexpected character {expr[e.pos_in_stream]!r} in {what} expression"
    elif isinstance(e, UnexpectedEOF):
        construct, pos = f"unexpected end of {what} expression", len(expr.rstrip())
    else:  # pragma: no cover
        construct = f"cannot parse {what} expression"
    offset = omap(base + (pos or 0))
    return QueryError(construct, offset, construct)
