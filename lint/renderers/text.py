"""Terminal output with rich: findings grouped by file, then a summary table."""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Iterator, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..run_result import RunResult
from ..model.predicate import plural

if TYPE_CHECKING:
    from ..findings import Finding

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
    if result.compact:
        con.print(escape(summary_line(result)))
    else:
        con.print(summary_table(result))


def _render_plain(result: RunResult, out: TextIO) -> None:
    """The same lines without styles, written at once: off a terminal and without colour,
    rich would print exactly this, at a cost per line that shows on a whole corpus."""
    lines = ["".join(parts) for parts, _ in _lines(result)]
    if lines:
        out.write("\n".join(lines) + "\n")


_RELATED = ("dim",)


def location(path: str, line: int | None, column: int | None = None) -> str:
    """`path:line:col`, as compilers and ruff print it, so editors and terminals jump there
    (a finding of a whole file points at its first line)."""
    return f"{path}:{line or 1}:{column or 1}"


def _column(f: "Finding") -> int | None:
    return f.column if isinstance(f.column, int) and f.column > 0 else None


def _lines(result: RunResult) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each line of the findings as its parts and their styles, the one formatting both
    writers print: `path:line:col: CODE severity: message [name]`, up to three related
    places indented below as `path:line`, and a blank line after each file."""
    for _path, group in groupby(result.findings, key=lambda f: f.path):
        for f in group:
            yield ((inert(location(f.path, f.line, _column(f))), ": ", f"{f.code} ", f"{f.severity}: ",
                    inert(f.message), f"  [{f.name}]"),
                   ("bold", "", "bold", STYLE.get(f.severity, ""), "", "dim"))
            for rel in f.related[:3]:
                where = f"{rel.path}:{rel.line}" if rel.line else rel.path
                yield (inert(f"    see {where}  {rel.message}"),), _RELATED
        yield (), ()


def summary_line(result: RunResult) -> str:
    """The summary in one line, for the pre-commit hook and `--target` runs, where a table
    would outweigh the one finding it counts."""
    s = result.summary()
    sev = s["by_severity"]
    counts = ", ".join(plural(sev[k], k) if k != "info" else f"{sev[k]} info"
                       for k in ("error", "warning", "info") if sev[k])
    found = f"{plural(s['findings'], 'finding')} ({counts})" if s["findings"] else "no findings"
    context = f"against {s['corpus_rules']:,} corpus rules" if s.get("corpus_rules") else "alone"
    return (f"rulelint: {found} in {plural(s['rules'], 'rule')} ({plural(s['files'], 'file')} read), "
            f"judged {context}, in {s['seconds']:.2f} s")


def summary_table(result: RunResult) -> Table:
    s = result.summary()
    t = Table(title="rulelint summary", show_header=True, header_style="bold")
    t.add_column("")
    # Wide values (the reference index's sources) wrap: the table fits 100 columns.
    t.add_column("count", justify="right", max_width=64)
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
