"""Findings: what checks report and renderers show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def exit_code(findings: "list[Finding]", fail_on: str) -> int:
    """1 when a finding reaches `fail_on`, else 0 (2, usage and internal errors, is the CLI's)."""
    limit = severity_rank(fail_on)
    return 1 if any(severity_rank(f.severity) >= limit for f in findings) else 0


@dataclass(slots=True)
class Related:
    path: str
    line: int | None
    message: str


@dataclass(slots=True)
class Finding:
    code: str
    name: str
    severity: str
    message: str
    path: str
    line: int | None = None
    rule_id: str = ""
    rule_key: str = ""
    related: list[Related] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # 1-based column of `line` where the finding points (parse errors: where the parser
    # stopped), in characters; None where only the line is known.
    column: int | None = None

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
