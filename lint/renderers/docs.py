"""Check documentation: `rulelint rule CODE` and `rulelint rules`."""

from __future__ import annotations

import json
from typing import Iterable, TextIO

from rich.markdown import Markdown
from rich.table import Table

from ..checks.base import Check
from .text import console_for


def check_markdown(check: Check) -> str:
    parts = [f"# {check.code} {check.name}", "", check.summary, "",
             f"Default severity: **{check.severity}**.", ""]
    for section, body in check.doc().items():
        parts.append(f"## {section.capitalize()}")
        parts.append("")
        if section in ("example", "use instead"):
            # Examples are Sigma YAML, Elastic TOML (tables open with `[`), or prose.
            lang = "toml" if body.startswith("[") else "yaml" if ":" in body.split("\n", 1)[0] else "text"
            parts.extend([f"```{lang}", body, "```"])
        else:
            parts.append(body)
        parts.append("")
    return "\n".join(parts)


def render_check_doc(check: Check, out: TextIO) -> None:
    if out.isatty():
        console_for(out).print(Markdown(check_markdown(check)))
    else:
        out.write(check_markdown(check))


def render_check_list(checks: Iterable[Check], out: TextIO, as_json: bool = False) -> None:
    checks = list(checks)
    if as_json:
        json.dump([{"code": c.code, "name": c.name, "severity": c.severity, "summary": c.summary,
                    "doc": c.doc()} for c in checks], out, indent=1)
        out.write("\n")
        return
    t = Table(header_style="bold")
    for col in ("code", "name", "severity", "summary"):
        t.add_column(col)
    for c in checks:
        t.add_row(c.code, c.name, c.severity, c.summary)
    console_for(out).print(t)
