"""Parse errors in words a rule author knows: where (line and column), what was found,
what was expected. Shared by every loader; parsers' own vocabulary (lark terminal names
such as `__ANON_3` or `RPAR`, pyparsing expressions) never reaches a message."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Mapping

MAX_SHOWN = 40  # characters of source text quoted in a message


def show(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` in backticks, on one line, control and invisible characters spelled out
    (`\\t`, `U+202E`), cut at `limit` characters."""
    if text == "":
        return "nothing"
    out: list[str] = []
    for ch in text[:limit]:
        if ch == "\t":
            out.append("\\t")
        elif ch in "\r\n":
            out.append("\\n" if ch == "\n" else "\\r")
        elif ch == "`":
            out.append("'")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"U+{ord(ch):04X}")
        else:
            out.append(ch)
    more = "…" if len(text) > limit else ""
    return f"`{''.join(out)}{more}`"


def char_name(ch: str) -> str:
    """One character as a message names it: `a tab character`, `` `@` ``, `U+0007`."""
    if ch == "\t":
        return "a tab character"
    if ch in ("\n", "\r"):
        return "a line break"
    if ch == " ":
        return "a space"
    if ch == "":
        return "the end of the text"
    return show(ch)


def join_or(items: Iterable[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    items = list(dict.fromkeys(items))
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} or {items[-1]}"


def at(line: int | None, column: int | None) -> str:
    """`at line 4 column 9`, `at line 4`, or '' when neither is known."""
    if line is None:
        return f"at column {column}" if column else ""
    return f"at line {line} column {column}" if column else f"at line {line}"


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset into `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def token_at(text: str, offset: int) -> str:
    """The word or symbol that starts at `offset`, for 'found ...'."""
    rest = text[offset:offset + 200]
    if not rest.strip():
        return ""
    m = re.match(r"\s*(\"[^\"\n]*\"?|'[^'\n]*'?|[\w.*?@$:\\/-]+|\S)", rest)
    return m.group(1) if m else rest[:1]


def found(text: str, offset: int | None, end: str = "the end of the query") -> str:
    """What stands at `offset`: a quoted token, or `end` when nothing is left."""
    if offset is None:
        return ""
    tok = token_at(text, offset)
    return show(tok) if tok else end


# -- lark --------------------------------------------------------------------------

END = "$END"

# Terminal names every grammar of this project spells alike.
COMMON_TERMINALS = {
    END: "the end of the query",
    "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`", "LBRACE": "`{`", "RBRACE": "`}`",
    "COMMA": "`,`", "COLON": "`:`", "DOT": "`.`", "EQUAL": "`=`", "VBAR": "`|`",
}


def lark_accepts(e: Any) -> set[str]:
    """The terminals the parser could have taken where it stopped: the interactive
    parser's exact set when there is one (lark's `expected` is looser under LALR)."""
    try:
        return set(e.interactive_parser.accepts())
    except Exception:
        return set(getattr(e, "expected", None) or getattr(e, "allowed", None) or ())


def terminal_words(parser: Any, names: Iterable[str], words: Mapping[str, str | None],
                   first: tuple[str, ...] = ()) -> list[str]:
    """Each terminal as words: `words` first (None: leave it out), then the terminal's
    literal text (`and`, `(`), never its internal name. The phrases of `first` come
    first, in that order, then other literals, descriptions (`a value`), and the end."""
    patterns: dict[str, Any] = {}
    try:
        patterns = {t.name: t.pattern for t in parser.terminals}
    except Exception:
        pass
    out: list[str] = []
    for name in names:
        if name in words:
            phrase = words[name]
        elif name in COMMON_TERMINALS:
            phrase = COMMON_TERMINALS[name]
        else:
            phrase = _pattern_words(patterns.get(name))
        if phrase:
            out.append(phrase)
    rank = {p: i for i, p in enumerate(first)}
    return sorted(dict.fromkeys(out), key=lambda p: (p.startswith("the end"), rank.get(p, len(rank)),
                                                     not p.startswith("`"), p.lower()))


def _pattern_words(pattern: Any) -> str:
    if pattern is None:
        return "a value"
    value = getattr(pattern, "value", "")
    if type(pattern).__name__ == "PatternStr":
        return f"`{value}`"
    # A keyword spelled as a regex (`AND\b`, `OR(?=[\s()]|$)`): the word itself.
    m = re.fullmatch(r"(?:\(\?i\))?([A-Za-z]+)(?:\\b|\(\?=.*\))?", value)
    if m:
        return f"`{m.group(1)}`"
    return "a value"


def expected_phrase(phrases: list[str], limit: int = 7) -> str:
    """`x, y or z`, long lists cut to their first `limit` items and `another token`."""
    if len(phrases) > limit:
        return ", ".join(phrases[:limit]) + " or another token"
    return join_or(phrases)
