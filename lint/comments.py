"""The real comments in YAML and TOML rule text, and the lines each one annotates.

The scan follows each format's quoting, so a `#` inside a string (a Splunk search, a
TOML query) is never a comment. A comment annotates its own line when code precedes it,
else the next line that is not blank or a comment; either way, when the value on that
line goes on over following lines (a YAML block or multi-line scalar, a TOML multi-line
string or array), those lines are annotated too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Literal

Kind = Literal["yaml", "toml"]


def kind_of(path: str) -> Kind:
    return "toml" if path.lower().endswith(".toml") else "yaml"


@dataclass(frozen=True, slots=True)
class Comment:
    line: int  # 0-based
    text: str  # from its `#` to the end of the line


class CommentScan:
    """One file's text, lexed once: its comments and the lines they annotate."""

    def __init__(self, text: str, kind: Kind) -> None:
        self.kind = kind
        self.lines = text.splitlines()
        self.info = _scan_toml(self.lines) if kind == "toml" else _scan_yaml(self.lines)

    def comments(self) -> Iterator[Comment]:
        for n, (line, li) in enumerate(zip(self.lines, self.info)):
            if li.comment is not None:
                yield Comment(n, line[li.comment:])

    def annotated(self, line: int) -> tuple[int, int] | None:
        """The first and last line (0-based) a comment on `line` annotates (None: no line follows it)."""
        target = line if self.info[line].content else next(
            (j for j in range(line + 1, len(self.lines)) if self.info[j].content), None)
        return None if target is None else (target, _extent(target, self.lines, self.info, self.kind))


@dataclass(slots=True)
class _Line:
    comment: int | None  # column where a real comment starts
    content: bool  # carries anything besides a comment (string content counts)
    opened: bool  # a string, block scalar or bracket is still open at its end
    value: bool = False  # YAML: the line starts a value that may continue below
    ref: int = 0  # YAML: lines indented beyond this column continue its value


def _extent(start: int, lines: list[str], info: list[_Line], kind: Kind) -> int:
    """The last line (0-based) of the value that starts on `start`."""
    end = start
    j = start
    while j + 1 < len(lines):
        nxt = lines[j + 1]
        if info[j].opened:
            pass  # inside a string or bracket that began above
        elif kind == "yaml" and info[start].value and (not nxt.strip() or _indent(nxt) > info[start].ref):
            pass  # a continuation or block-scalar line of the start line's value
        else:
            break
        j += 1
        if nxt.strip():
            end = j
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


_YAML_DASHES = re.compile(r"([ \t]*)((?:-[ \t]+)*)")
# The unquoted forms need no `\s*` before the colon (their lazy part takes the spaces);
# with it, a long run of spaces made `match` quadratic.
_YAML_KEY = re.compile(r"""(?:"[^"]*"\s*|'[^']*'\s*|[^\s'"#\-][^#]*?|-[^\s][^#]*?):(?:\s|$)""")
_YAML_BLOCK = re.compile(r"(?:^[ \t]*|[:\-][ \t]+)[|>][1-9+\-]{0,2}$")


def _yaml_ref(line: str) -> int:
    """The column a value's continuation lines must go beyond: the key's, or the last dash's."""
    m = _YAML_DASHES.match(line)
    dashes = m.group(2)
    if dashes and not _YAML_KEY.match(line[m.end():]):
        return m.start(2) + len(dashes.rstrip()) - 1
    return m.end()


def _scan_yaml(lines: list[str]) -> list[_Line]:
    out: list[_Line] = []
    quote: str | None = None  # an open quoted scalar, which may span lines
    block: int | None = None  # inside a block scalar: its lines are indented beyond this column
    for line in lines:
        if block is not None:
            if not line.strip() or _indent(line) > block:
                out.append(_Line(None, bool(line.strip()), False))
                continue
            block = None
        started_inside = quote is not None
        comment, i, n = None, 0, len(line)
        while i < n:
            c = line[i]
            if quote == "'":
                if c == "'":
                    if line.startswith("''", i):
                        i += 2
                        continue
                    quote = None
            elif quote == '"':
                if c == "\\":
                    i += 2
                    continue
                if c == '"':
                    quote = None
            elif c == "#" and (i == 0 or line[i - 1] in " \t"):
                comment = i
                break
            elif c in "'\"" and _yaml_value_start(line, i):
                quote = c
            i += 1
        code = line[:comment] if comment is not None else line
        stripped = code.strip()
        li = _Line(comment, bool(stripped) or started_inside, quote is not None)
        if stripped and not started_inside:
            li.value = not stripped.endswith(":") and stripped.rstrip("- \t") != ""
            li.ref = _yaml_ref(line)
            if quote is None and _YAML_BLOCK.search(code.rstrip()):
                block = li.ref  # its lines continue the value: _extent follows them by indentation
        out.append(li)
    return out


def _yaml_value_start(line: str, i: int) -> bool:
    """A quote opens a quoted scalar only where a value starts, not inside plain text (don't)."""
    before = line[:i].rstrip()
    if not before:
        return True
    last = before[-1]
    if last in "[{,":
        return True
    return last in ":-?" and line[i - 1] in " \t"


def _scan_toml(lines: list[str]) -> list[_Line]:
    out: list[_Line] = []
    ml: str | None = None  # an open multi-line string: ''' or """
    depth = 0  # open arrays and inline tables, which may span lines
    for line in lines:
        started_inside = ml is not None
        comment, i, n = None, 0, len(line)
        while i < n:
            if ml is not None:
                if ml == '"""' and line[i] == "\\":
                    i += 2
                elif line.startswith(ml, i):
                    i += 3
                    while i < n and line[i] == ml[0]:  # extra quotes at the close belong to the content
                        i += 1
                    ml = None
                else:
                    i += 1
                continue
            c = line[i]
            if c == "#":
                comment = i
                break
            if line.startswith("'''", i) or line.startswith('"""', i):
                ml = line[i:i + 3]
                i += 3
            elif c in "'\"":
                i = _toml_string_end(line, i)
            else:
                if c in "[{":
                    depth += 1
                elif c in "]}":
                    depth = max(0, depth - 1)
                i += 1
        code = line[:comment] if comment is not None else line
        out.append(_Line(comment, bool(code.strip()) or started_inside, ml is not None or depth > 0))
    return out


def _toml_string_end(line: str, i: int) -> int:
    """The index after a one-line TOML string starting at i (basic strings have escapes)."""
    q, j = line[i], i + 1
    while j < len(line):
        if q == '"' and line[j] == "\\":
            j += 2
            continue
        if line[j] == q:
            return j + 1
        j += 1
    return len(line)


__all__ = ["Kind", "kind_of", "Comment", "CommentScan"]
