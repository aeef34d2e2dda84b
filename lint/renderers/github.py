"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

`::warning file=rules/x.yml,line=12,title=RL101 noisy-standalone-indicator::message`.
GitHub's toolkit escapes `%`, CR and LF in the message, and also `:` and `,` in
property values (which those characters would otherwise end); the same is done here,
after dropping terminal escapes and control characters from rule text.
"""

from __future__ import annotations

import os
from typing import TextIO

from ..run_result import RunResult
from ..findings import Finding
from .escape import strip_controls

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return strip_controls(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(path: str) -> str:
    """Annotations name files relative to the workspace (the job's working folder)."""
    try:
        rel = os.path.relpath(os.path.abspath(path))
    except ValueError:  # another drive
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def annotation(f: Finding) -> str:
    props = []
    if f.path:
        props.append(f"file={escape_property(_relative(f.path))}")
    if f.line:
        props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
    props.append(f"title={escape_property(f'{f.code} {f.name}')}")
    message = f.message
    if f.related:
        message += "\n" + "\n".join(f"see {r.path}:{r.line or '-'} {r.message}" for r in f.related[:3])
    return f"::{COMMANDS.get(f.severity, 'warning')} {','.join(props)}::{escape_data(message)}"


def render(result: RunResult, out: TextIO) -> None:
    for f in result.findings:
        out.write(annotation(f))
        out.write("\n")
