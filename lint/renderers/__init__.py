"""Output formats: each a separate renderer over one RunResult; none analyzes."""

from __future__ import annotations

from typing import Callable, TextIO

from ..run_result import RunResult
from . import github, json_out, markdown, sarif, text

Renderer = Callable[[RunResult, TextIO], None]

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_out.render,
    "sarif": sarif.render,
    "github": github.render,
    "markdown": markdown.render,
}
