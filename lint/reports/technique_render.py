"""Each output format of the technique catalog: a page per technique and an index page."""

from __future__ import annotations

import json
from typing import Callable

from .technique import TechniqueReport


def page_name(technique: str, fmt: str) -> str:
    return f"{technique}.{ {'markdown': 'md', 'html': 'html', 'json': 'json'}[fmt] }"


def _json(report: TechniqueReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _json_index(reports: list[TechniqueReport]) -> str:
    return json.dumps({"techniques": [
        {"technique": r.technique, "name": r.name, "tactics": r.tactics, "rules": r.rules,
         "page": page_name(r.technique, "json")} for r in reports]}, indent=2, ensure_ascii=False) + "\n"


def _markdown(report: TechniqueReport) -> str:
    from .technique_markdown import render

    return render(report)


def _markdown_index(reports: list[TechniqueReport]) -> str:
    from .technique_markdown import render_index

    return render_index(reports)


def _html(report: TechniqueReport) -> str:
    from .technique_html import render

    return render(report)


def _html_index(reports: list[TechniqueReport]) -> str:
    from .technique_html import render_index

    return render_index(reports)


RENDER: dict[str, Callable[[TechniqueReport], str]] = {"markdown": _markdown, "html": _html, "json": _json}
INDEX: dict[str, Callable[[list[TechniqueReport]], str]] = {
    "markdown": _markdown_index, "html": _html_index, "json": _json_index}
