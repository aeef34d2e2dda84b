"""`--format markdown`: findings as a Markdown report for a PR comment or a job summary.

A summary table by check and severity, then the findings grouped by file. Everything
taken from rules (paths, messages, related rules) goes through rulelint.renderers.escape,
so it shows as text: no HTML, links, mentions or table breaks. A PR comment holds at
most 65,536 characters: past `budget` the listing stops and says how much it left out.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import TextIO

from ..checks import BY_CODE
from ..run_result import RunResult
from ..findings import SEVERITIES, Finding
from ..model.predicate import plural
from .escape import md_code, md_text

BUDGET = 60_000  # characters of finding listing; GitHub rejects comments over 65,536
ICONS = {"error": "🔴", "warning": "🟡", "info": "🔵"}


def summary_lines(result: RunResult) -> list[str]:
    s = result.summary()
    sev = s["by_severity"]
    head = (f"**{plural(s['findings'], 'finding')}** ({plural(sev['error'], 'error')}, "
            f"{plural(sev['warning'], 'warning')}, {sev['info']} info) in {plural(s['files'], 'file')}, "
            f"{plural(s.get('rules', 0), 'rule')} judged against {plural(s.get('corpus_rules', 0), 'corpus rule')}.")
    lines = ["## rulelint", "", head, ""]
    if not result.findings:
        return lines
    counts = Counter((f.code, f.name, f.severity) for f in result.findings)
    by_check: dict[tuple[str, str], Counter[str]] = {}
    for (code, name, severity), n in counts.items():
        by_check.setdefault((code, name), Counter())[severity] += n
    lines += ["| check | name | what it flags | " + " | ".join(reversed(SEVERITIES)) + " |",
              "|---|---|---|" + "---:|" * len(SEVERITIES)]
    for (code, name), sev_counts in sorted(by_check.items()):
        cells = " | ".join(str(sev_counts.get(level, 0)) for level in reversed(SEVERITIES))
        what = BY_CODE[code].summary if code in BY_CODE else ""
        lines.append(f"| {md_text(code)} | {md_text(name)} | {md_text(what)} | {cells} |")
    lines.append("")
    return lines


def finding_lines(f: Finding, with_path: bool = False) -> list[str]:
    """One finding as a list item, with its related rules below."""
    where = f"line {f.line}" if f.line else "file"
    if with_path:
        where = f"{md_code(f.path)}, {where}"
    lines = [f"- {ICONS.get(f.severity, '')} **{f.severity}** {md_code(f.code)} {md_text(f.name)} "
             f"({where}): {md_text(f.message)}"]
    for r in f.related[:5]:
        loc = f"{r.path}:{r.line}" if r.line else r.path
        lines.append(f"  - see {md_code(loc)}: {md_text(r.message)}")
    if len(f.related) > 5:
        lines.append(f"  - and {plural(len(f.related) - 5, 'more related rule')}")
    return lines


def render_findings(findings: list[Finding], budget: int = BUDGET) -> list[str]:
    """Findings grouped by file, until `budget` characters are used."""
    lines: list[str] = []
    used = 0
    files = [(path, list(group)) for path, group in groupby(findings, key=lambda f: f.path)]
    for n, (path, group) in enumerate(files):
        block = ["", f"### {md_code(path or '(no file)')}", ""]
        for f in group:
            block += finding_lines(f)
        size = sum(len(line) + 1 for line in block)
        if used + size > budget and lines:
            left = sum(len(g) for _, g in files[n:])
            lines += ["", f"_{plural(left, 'more finding')} in {plural(len(files) - n, 'more file')} "
                          "not shown here; `--format json` or `--format sarif` lists them all._"]
            break
        lines += block
        used += size
    return lines


def render(result: RunResult, out: TextIO, budget: int = BUDGET) -> None:
    lines = summary_lines(result) + render_findings(result.findings, budget)
    out.write("\n".join(lines).rstrip("\n") + "\n")
