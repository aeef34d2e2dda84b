"""Check documentation: `rulelint rule CODE` and `rulelint rules`."""

from __future__ import annotations

import json
import re
from typing import Iterable, TextIO

from rich.markdown import Markdown
from rich.table import Table

from ..checks.base import Check
from .text import console_for


# A comment naming a rule file heads each file of an example that shows several
# (`# elastic/.../certutil_decode.toml`); its suffix says the format.
_FILE_HEADER = re.compile(r"^#\s*\S+\.(ya?ml|toml)\b", re.M)
_TOML_LINE = re.compile(r"^(\[|[A-Za-z_][\w.-]*\s*=)")
_YAML_LINE = re.compile(r"^(- |[\w.|-]+:(\s|$))")
SCOPE_TEXT = {"load": "reported while files load", "rule": "judged on the rule alone",
              "corpus": "judged against the corpus"}


def snippet_language(text: str) -> str:
    """`toml` (Elastic), `yaml` (Sigma, Splunk) or "" (prose) for one file of an example:
    by the suffix its heading comment names, else by its first line that is not a comment."""
    m = _FILE_HEADER.match(text)
    if m:
        return "toml" if m.group(1) == "toml" else "yaml"
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    return "toml" if _TOML_LINE.match(first) else "yaml" if _YAML_LINE.match(first) else ""


def example_blocks(text: str) -> list[tuple[str, str]]:
    """An `example` or `use_instead` as (language, text) blocks, one per rule file it shows
    (a heading comment naming a file starts the next); language "" is prose."""
    starts = sorted({0, *(m.start() for m in _FILE_HEADER.finditer(text))})
    parts = [text[a:b].strip("\n") for a, b in zip(starts, [*starts[1:], len(text)])]
    return [(snippet_language(p), p) for p in parts if p.strip()]


def check_markdown(check: Check, level: int = 1) -> str:
    """A check's documentation as Markdown, its title at heading `level` (`rulelint rule`,
    SARIF rule help and docs/checks.md share it)."""
    h = "#" * level
    parts = [f"{h} {check.code} {check.name}", "", check.summary, "",
             f"Default severity: **{check.severity}**. Scope: `{check.scope}` "
             f"({SCOPE_TEXT.get(check.scope, check.scope)}).", ""]
    for section, body in check.doc().items():
        parts.extend([f"{h}# {section.capitalize()}", ""])
        if section in ("example", "use instead"):
            for lang, block in example_blocks(body):
                parts.extend([f"```{lang}", block, "```"] if lang else [block])
                parts.append("")
        else:
            parts.extend([body, ""])
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
