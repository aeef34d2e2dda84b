"""Terminal output with rich: findings grouped by file, then a summary table."""

from __future__ import annotations

from itertools import groupby
from typing import Iterator, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..run_result import RunResult
from ..model.predicate import plural

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}

# Rule text reaches the terminal: control characters (ANSI escapes, carriage
# returns, C1 codes) and bidirectional overrides (text that displays reordered) are
# shown as visible escapes, never sent raw.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_CONTROLS.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def inert(text: str) -> str:
    return text.translate(_CONTROLS)


def console_for(out: TextIO) -> Console:
    # Off a terminal (pipes, CI logs) keep one finding per line for grep.
    tty = out.isatty()
    return Console(file=out, highlight=False, soft_wrap=not tty, width=None if tty else 200)


def render(result: RunResult, out: TextIO) -> None:
    con = console_for(out)
    if con.color_system is None and not con.is_terminal:
        _render_plain(result, out)
    else:
        for parts, styles in _lines(result):
            if parts:
                con.print(Text.assemble(*zip(parts, styles)))
            else:
                con.print()
    con.print(summary_table(result))


def _render_plain(result: RunResult, out: TextIO) -> None:
    """The same lines without styles, written at once: off a terminal and without colour,
    rich would print exactly this, at a cost per line that shows on a whole corpus."""
    lines = ["".join(parts) for parts, _ in _lines(result)]
    if lines:
        out.write("\n".join(lines) + "\n")


_PATH, _RELATED = ("bold underline",), ("dim",)


def _lines(result: RunResult) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each line of the findings as its parts and their styles, the one formatting both
    writers print: per file its path, its findings with up to three related places each,
    then a blank line."""
    for path, group in groupby(result.findings, key=lambda f: f.path):
        yield (inert(path),), _PATH
        for f in group:
            loc = f"{f.line}" if f.line else "-"
            yield (("  ", f"{loc:>5} ", f"{f.code} ", f"{f.severity:<7} ", inert(f.message), f"  [{f.name}]"),
                   ("", "dim", "bold", STYLE.get(f.severity, ""), "", "dim"))
            for rel in f.related[:3]:
                yield (inert(f"          see {rel.path}:{rel.line or '-'}  {rel.message}"),), _RELATED
        yield (), ()


def summary_table(result: RunResult) -> Table:
    s = result.summary()
    t = Table(title="rulelint summary", show_header=True, header_style="bold")
    t.add_column("")
    t.add_column("count", justify="right")
    t.add_row("files", str(s["files"]))
    for vendor, n in sorted(s["by_vendor"].items()):
        t.add_row(f"{vendor} rules", str(n))
    if s["corpus_rules"] != s["rules"]:
        t.add_row("corpus rules (context)", str(s["corpus_rules"]))
    if s.get("reference"):
        t.add_row("reference index", escape(s["reference"]))
    for name, n in s["by_check"].items():
        t.add_row(escape(name), str(n))
    sev = s["by_severity"]
    t.add_row("findings", f"{s['findings']} ({plural(sev['error'], 'error')}, "
                          f"{plural(sev['warning'], 'warning')}, {sev['info']} info)")
    if s["corpus_parse_errors"]:
        t.add_row("corpus files not loaded", str(s["corpus_parse_errors"]))
    t.add_row("common-indicator threshold", f"reach >= {s['common_threshold']}")
    t.add_row("time", f"{s['seconds']:.2f} s")
    return t
