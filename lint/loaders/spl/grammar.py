"""The parser of search and `where` expressions (grammars/spl.lark), and its
syntax errors as QueryErrors with an offset into the search as written."""

from __future__ import annotations

from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..query import QueryError
from ..words import expected_phrase, lark_accepts, show, terminal_words
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


# The grammar's terminals in words (keywords and punctuation name themselves).
_TERMINALS: dict[str, str | None] = {
    "WORD": "a term", "VALUE": "a value", "ITEM": "a value", "STRING": "a value", "NUMBER": "a value",
    "NAME": "a field", "SQNAME": "a field", "TERMFN": "`TERM(...)`", "SUBSEARCH": None,
    "CMP": "a comparison (`=`, `!=`, `<` ...)", "WCMP": "a comparison (`==`, `!=`, `<` ...)",
    "ADDOP": "an arithmetic operator", "MULOP": "an arithmetic operator",
    "$END": "the end of the expression",
}
_FIRST = ("`AND`", "`OR`", "`NOT`", "`(`", "`)`", "`,`")


def _syntax_error(expr: str, e: UnexpectedInput, omap: _OffsetMap, base: int, what: str) -> QueryError:
    pos = getattr(e, "pos_in_stream", None)
    accepts = lark_accepts(e)
    expected = expected_phrase(terminal_words(_get_parser(), accepts, _TERMINALS, _FIRST)) if accepts else ""
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            construct, pos = f"unexpected end of {what} expression", len(expr.rstrip())
            reason = f"the {what} expression ends too early"
        else:
            construct, pos = f"unexpected {tok.value!r} in {what} expression", tok.start_pos
            reason = f"unexpected {show(str(tok.value))} in the {what} expression"
    elif isinstance(e, UnexpectedCharacters):
        construct = f"unexpected character {expr[e.pos_in_stream]!r} in {what} expression"
        reason = f"unexpected character {show(expr[e.pos_in_stream])} in the {what} expression"
    elif isinstance(e, UnexpectedEOF):
        construct, pos = f"unexpected end of {what} expression", len(expr.rstrip())
        reason = f"the {what} expression ends too early"
    else:  # pragma: no cover
        construct = reason = f"cannot parse {what} expression"
    if reason.endswith("ends too early"):
        opened = _unclosed(expr)
        if opened is not None:
            pos, reason, expected = opened, f"the `(` here is never closed in the {what} expression", "`)`"
    offset = omap(base + (pos or 0))
    return QueryError(reason, offset, construct, expected)


def _unclosed(expr: str) -> int | None:
    """Offset of the first `(` left open (quoted text skipped), or None."""
    stack: list[int] = []
    quoted = False
    for i, c in enumerate(expr):
        if c == '"' and (i == 0 or expr[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and c == "(":
            stack.append(i)
        elif not quoted and c == ")" and stack:
            stack.pop()
    return stack[0] if stack else None
