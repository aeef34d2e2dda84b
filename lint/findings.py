"""Findings: what checks report and renderers show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


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

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
