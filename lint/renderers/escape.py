"""Making rule text inert in reports: titles, values and messages come from rule files
anyone can write, and must show as text in Markdown (PR comments, job summaries) and
HTML, never as markup, links, mentions or terminal control.

- `strip_controls`: ANSI escape sequences, C0/C1 control characters and bidirectional
  overrides removed (tabs, newlines and carriage returns kept for the caller to place).
- `md_text`: inline Markdown text (one line, safe in a table cell).
- `md_code`: an inline code span whatever backticks the text holds.
- `html_text`: text for HTML elements and attribute values.
"""

from __future__ import annotations

import html
import re

# CSI (`\x1b[31m`), OSC (`\x1b]8;;url\x07`, terminal hyperlinks), and two-character escapes;
# the 8-bit forms (`\x9b`) too.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-Z\\-_]"
)
# Controls but tab, newline and carriage return; bidirectional embeddings, overrides and isolates
# (text that reads differently from what it holds).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

ZWJ = "\u200d"  # zero-width joiner: breaks `@name`, `#12` and links without a visible change

# GitHub turns these into notifications or cross-references wherever they stand in text:
# `@user`, `@org/team`, `#123`, `GH-123`, `owner/repo#123`.
_MENTION = re.compile(r"@")
_ISSUE_REF = re.compile(r"(#|\bGH-)(?=\d)", re.IGNORECASE)
# GFM's extended autolinks: `www.`, `scheme://`.
_AUTOLINK = re.compile(r"(?<=www)\.|(?<=:)//", re.IGNORECASE)

# Characters with a meaning anywhere in inline Markdown (emphasis, code, links, tables,
# strike-through, math); `<`, `>` and `&` become entities so no HTML or entity can form.
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~$])")
# ... and at the start of a line only: headings, lists, block quotes, setext underlines.
_MD_LEADING = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def strip_controls(text: str) -> str:
    """Text without terminal escapes, control characters (but tab, LF and CR) or
    bidirectional overrides."""
    return _CONTROLS.sub("", _ANSI.sub("", str(text)))


def _one_line(text: str) -> str:
    text = str(text)
    if text.isprintable():  # no control, escape, line break or format character: the common case
        return text
    return re.sub(r"[\t\r\n]+", " ", strip_controls(text))


def inert_references(text: str) -> str:
    """`@name`, `#12` and links shown but not acted on (no notification, no backlink)."""
    text = _MENTION.sub("@" + ZWJ, text)
    text = _ISSUE_REF.sub(lambda m: m.group(1) + ZWJ, text)
    return _AUTOLINK.sub(lambda m: ZWJ + m.group(0), text)


def md_text(text: str) -> str:
    """Inline Markdown showing `text` as written: one line, every markup character
    escaped, no HTML, mention, reference or link; safe inside a table cell."""
    # References first: escapes split text into pieces an autolinker might not see whole.
    out = _MD_PUNCT.sub(r"\\\1", inert_references(_one_line(text)))
    out = _MD_LEADING.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2).isdigit() else "\\" + m.group(2)), out)
    return "".join(_MD_ENTITIES.get(c, c) for c in out)


def md_code(text: str, table: bool = False) -> str:
    """An inline code span holding `text` literally. The fence is one backtick longer
    than the longest run inside; in a table cell `|` is escaped, which GFM requires even
    inside code spans."""
    body = _one_line(text)
    runs = [len(r) for r in re.findall(r"`+", body)]
    fence = "`" * (max(runs, default=0) + 1)
    if not body.strip(" ") or body.startswith("`") or body.endswith("`") or (
            body.startswith(" ") and body.endswith(" ")):
        body = f" {body} "  # CommonMark strips one space each side
    if table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def html_text(text: str, inert: bool = False) -> str:
    """Text for an HTML element or a quoted attribute value. With `inert`, also mentions
    and issue references broken, for HTML that GitHub renders (a `<summary>` line)."""
    out = html.escape(_one_line(text), quote=True)
    return inert_references(out) if inert else out


__all__ = ["strip_controls", "md_text", "md_code", "html_text", "inert_references", "ZWJ"]
