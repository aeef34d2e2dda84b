"""What loading a file yields: rules, and parse-error findings for what failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding
from ..model.rule import NormalizedRule

PARSE_ERROR = ("RL001", "parse-error")
NO_LOGIC = ("RL002", "no-query-logic")


@dataclass(slots=True)
class LoadResult:
    rules: list[NormalizedRule] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def extend(self, other: "LoadResult") -> None:
        self.rules.extend(other.rules)
        self.findings.extend(other.findings)


def parse_error(path: str, line: int | None, reason: str, column: int | None = None) -> Finding:
    """The one way loaders report a file they could not load. `column` (1-based, in
    characters) is where on `line` the parser stopped, where it knows; the reason says
    it in words too."""
    where = f"{path}:{line}" if line else path
    return Finding(
        code=PARSE_ERROR[0], name=PARSE_ERROR[1], severity="error",
        message=f"{where} cannot be loaded: {_sentence(reason)}",
        path=path, line=line, data={"reason": reason}, column=column if line and column and column > 0 else None,
    )


def _sentence(reason: str) -> str:
    reason = reason.rstrip()
    return reason if reason.endswith(("?", "!", ".")) and not reason.endswith("..") else f"{reason}."


def no_logic(path: str, line: int | None, rule_id: str, why: str) -> Finding:
    """A rule that loads but has nothing for the analysis to look at."""
    return Finding(
        code=NO_LOGIC[0], name=NO_LOGIC[1], severity="info",
        message=f"The rule has no query logic to analyze: {why}.",
        path=path, line=line, rule_id=rule_id, rule_key=rule_id or f"{path}#0", data={"reason": why},
    )
