"""Search macros: what a macro is, and their expansion as text (as Splunk does).

The expansion also keeps an offset map, so that an error in the expanded search
points at the text as written (inside a macro: at the macro's call).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Mapping

from ..query import QueryError
from .scan import _Scanner, split_args

MAX_MACRO_DEPTH = 10
MAX_EXPANDED_CHARS = 1 << 20  # a macro loop that grows text stops here


@dataclass(frozen=True, slots=True)
class Macro:
    """One search macro: `name` (without the `(n)` suffix), argument names, definition."""

    name: str
    args: tuple[str, ...]
    definition: str

    @property
    def key(self) -> str:
        """Splunk's stanza name: `name`, or `name(n)` for n arguments."""
        return f"{self.name}({len(self.args)})" if self.args else self.name


# Macros from Splunk apps that security_content relies on but does not ship.
BUILTIN_MACROS: dict[str, Macro] = {
    "drop_dm_object_name(1)": Macro("drop_dm_object_name", ("object",), "rename $object$.* AS *"),
}

_MACRO_SCAN = _Scanner(r"`([^`]*)`")
# The optional argument list owns its leading space: `\s*(...)?\s*` would try every split of
# a run of spaces between the two and go quadratic on `a<1 MB of spaces>x`.
_MACRO_CALL = re.compile(r"\s*([\w.:-]+)(?:\s*\((.*)\))?\s*", re.S)
_COMMENT = re.compile(r"```.*?```", re.S)


def _blank(m: re.Match) -> str:
    return " " * len(m.group(0))


def _strip_comments(text: str) -> str:
    """``` comments blanked out (same length: offsets still hold)."""
    return _COMMENT.sub(_blank, text) if "```" in text else text


class _OffsetMap:
    """Expanded-text offset -> original-text offset: literal spans map one to one, text
    from a macro maps to the macro call."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.spans: list[tuple[int, int, bool]] = []  # (expanded start, original start, literal)

    def add(self, exp_start: int, orig_start: int, literal: bool) -> None:
        self.starts.append(exp_start)
        self.spans.append((exp_start, orig_start, literal))

    def __call__(self, offset: int) -> int:
        i = bisect_right(self.starts, offset) - 1
        if i < 0:
            return offset
        exp_start, orig_start, literal = self.spans[i]
        return orig_start + (offset - exp_start) if literal else orig_start


class _Expander:
    """Expands the macro calls of one search; what it meets goes to `info` (see parse_spl)."""

    def __init__(self, macros: Mapping[str, Macro | str], info: dict[str, Any]) -> None:
        self.macros = macros
        self.info = info
        self.size = 0

    def top(self, text: str) -> tuple[str, _OffsetMap]:
        omap = _OffsetMap()
        out = self.expand(_strip_comments(text), 0, omap)
        return out, omap

    def expand(self, text: str, level: int, omap: _OffsetMap | None = None,
               call_offset: int = 0) -> str:
        if "`" not in text:  # no macro call: the scan below would copy the text as it is
            if omap is not None:
                omap.add(0, 0, True)
            return text
        pieces: list[str] = []
        pos = last = 0  # pos: length of output so far
        for m in _MACRO_SCAN.finditer(text):
            body = m.group(1)
            if body is None:  # a quoted string: backticks inside are literal
                continue
            call = _MACRO_CALL.fullmatch(body)
            if call is None:
                continue  # not a macro call (a stray backtick pair): left as written
            lit = text[last:m.start()]
            if omap is not None:
                omap.add(pos, last, True)
            pieces.append(lit)
            pos += len(lit)
            here = m.start() if level == 0 else call_offset
            repl = self.call(call.group(1), call.group(2), level, here)
            if omap is not None:
                omap.add(pos, m.start(), False)
            pieces.append(repl)
            pos += len(repl)
            last = m.end()
        if omap is not None:
            omap.add(pos, last, True)
        pieces.append(text[last:])
        return "".join(pieces)

    def call(self, name: str, arg_text: str | None, level: int, offset: int) -> str:
        if level >= MAX_MACRO_DEPTH:
            raise QueryError(f"macros nest deeper than {MAX_MACRO_DEPTH} levels (at `{name}`)",
                             offset, "macro expansion too deep")
        args = split_args(arg_text) if arg_text is not None and arg_text.strip() else []
        key = f"{name}({len(args)})" if args else name
        if level == 0:
            self.info["macros"].append(key)
        macro = self.macros.get(key) or BUILTIN_MACROS.get(key)
        if macro is None:
            if name.endswith("_filter"):
                self.info["filter_macro"] = name  # the detection's tuning hook: empty by design
            elif key not in self.info["unknown_macros"]:
                self.info["unknown_macros"].append(key)
            return " "
        if isinstance(macro, str):
            definition, names = macro, ()
        else:
            definition, names = macro.definition, macro.args
        if name.endswith("_filter"):
            self.info["filter_macro"] = name
        definition = _strip_comments(str(definition))
        for arg_name, value in zip(names, args):
            definition = definition.replace(f"${arg_name}$", value)
        self.size += len(definition)
        if self.size > MAX_EXPANDED_CHARS:
            raise QueryError(f"macro expansion exceeds {MAX_EXPANDED_CHARS} characters (at `{name}`)",
                             offset, "macro expansion too large")
        # Padded: a macro is a token boundary, `a`m`b` must not glue into one word.
        return " " + self.expand(definition, level + 1, None, offset) + " "
