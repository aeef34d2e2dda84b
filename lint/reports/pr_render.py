"""The PR report in the format asked for: a Markdown PR comment (pr_markdown) or JSON (pr_json)."""

from __future__ import annotations

from . import pr_json, pr_markdown
from .pr import PRReport


def render(report: PRReport, fmt: str = "markdown") -> str:
    """The report as text: `markdown` (a PR comment) or `json`."""
    return pr_json.render(report) if fmt == "json" else pr_markdown.render(report)
