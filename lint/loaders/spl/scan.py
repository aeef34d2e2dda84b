"""Scanning SPL text: quoted strings, top-level `|` and `[...]`, words outside
parentheses, comma-separated arguments, and SPL's quoting and escapes.

Text in, spans and strings out: nothing here knows what a command means.
"""

from __future__ import annotations

import re

from ..query import QueryError

_STRING = r'"(?:[^"\\]|\\.)*"'
_CLOSED_STRING = re.compile(_STRING, re.S)


class _Scanner:
    """`finditer` over text whose quoted strings are tokens of their own.

    A quote that no later quote closes opens no string; and then no later quote can
    either (each lies inside that failed attempt's escape-aware scan as an escaped `\"`).
    The plain `_STRING|...` regex rediscovers this once per quote, a scan to the end
    each time: quadratic on `\"\"\"...`. Here the first unclosed quote switches to the
    pattern without strings: the same tokens, in linear time.
    """

    def __init__(self, rest: str) -> None:
        self.full = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|' + rest, re.S)
        self.plain = re.compile(rest, re.S)

    def finditer(self, text: str) -> list[re.Match[str]]:
        # A list from the C iterator, not a generator: callers run it over every word of every
        # search. Only the last match can reach the end of the text as an unclosed string.
        found = list(self.full.finditer(text))
        if found:
            m = found[-1]
            if m.end() == len(text) and text[m.start()] == '"' and not _CLOSED_STRING.fullmatch(m.group(0)):
                found[-1:] = self.plain.finditer(text, m.start() + 1)
        return found


_PIPE_SCAN = _Scanner(r"[\[\]|]")
_PARENS = _Scanner(r"[()]")
_WORD = re.compile(r'[^\s()"]+')
_ARGS_SCAN = _Scanner(r"[(),]")
_UNESCAPE = re.compile(r'\\([\\"])')


def split_args(text: str) -> list[str]:
    """Comma-separated arguments at the top level (quotes and parentheses respected)."""
    out, depth_, start = [], 0, 0
    for m in _ARGS_SCAN.finditer(text):
        tok = m.group(0)
        if tok == "(":
            depth_ += 1
        elif tok == ")":
            depth_ -= 1
        elif tok == "," and depth_ == 0:
            out.append(text[start:m.start()].strip())
            start = m.end()
    out.append(text[start:].strip())
    return out


def _split_pipeline(text: str) -> tuple[str, list[tuple[int, int]]]:
    """(text with subsearch contents blanked, [(start, end)] of each command)."""
    masked: list[str] | None = None  # a copy only once a subsearch needs blanking
    segments: list[tuple[int, int]] = []
    level, start, open_at = 0, 0, 0
    for m in _PIPE_SCAN.finditer(text):
        tok = m.group(0)
        if tok == "[":
            if level == 0:
                open_at = m.start()
            level += 1
        elif tok == "]" and level > 0:
            level -= 1
            if level == 0:
                if masked is None:
                    masked = list(text)
                masked[open_at + 1:m.start()] = " " * (m.start() - open_at - 1)
        elif tok == "|" and level == 0:
            segments.append((start, m.start()))
            start = m.end()
    if level:
        raise QueryError("unclosed subsearch '['", open_at, "unclosed '['")
    segments.append((start, len(text)))
    return ("".join(masked) if masked is not None else text), segments


def _top_words(text: str) -> list[tuple[str, int, int]]:
    """Unquoted words outside parentheses, with their spans.

    Only parentheses and strings are scanned in Python; the words of each top-level gap
    between them come from one C-level finditer. A gap holds no `(`, `)` or string, so its
    words are exactly what a word-by-word scan would see (a `"` there, after an unclosed
    quote, is a separator)."""
    out: list[tuple[str, int, int]] = []
    level = gap = 0
    for m in _PARENS.finditer(text):
        if level == 0:
            out += [(w.group(), w.start(), w.end()) for w in _WORD.finditer(text, gap, m.start())]
        tok = m.group(0)
        if tok == "(":
            level += 1
        elif tok == ")":
            level = max(0, level - 1)
        gap = m.end()
    if level == 0:
        out += [(w.group(), w.start(), w.end()) for w in _WORD.finditer(text, gap)]
    return out


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        s = s[1:-1]
    return s


def _unescape(s: str) -> str:
    """SPL escapes in strings and values: only `\\\\` and `\\"`; other backslashes stay."""
    if "\\" not in s:
        return s
    return _UNESCAPE.sub(r"\1", s)
