"""What the RL4xx checks share: each reports the issues of a few of pySigma's own rule
validators, which the Sigma loader runs while a rule loads and notes in the rule
(lint/loaders/sigma_validation.py); the check documents them, and its `exclude` option
drops the validators a team does not want."""

from __future__ import annotations

from typing import Any, ClassVar, Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..loaders.sigma_validation import GROUPS, NOTES
from ..model.rule import NormalizedRule
from .base import Check, Option


class PySigmaCheck(Check, register=False):
    scope = "rule"
    validators: ClassVar[tuple[str, ...]] = ()
    excluded: ClassVar[tuple[str, ...]] = ()  # validators off unless a team's `exclude` leaves them out

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "code" in cls.__dict__:
            name, severity, cls.validators = GROUPS[cls.code]
            assert cls.name == name and cls.severity == severity, f"{cls.code}: out of step with GROUPS"
            cls.options = (Option(
                "exclude", list(cls.excluded),
                "pySigma validator identifiers whose issues this check does not report (of "
                + ", ".join(f"`{v}`" for v in cls.validators) + ")"),)
        super().__init_subclass__(**kwargs)

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        notes = rule.extra.get(NOTES)
        if not notes:
            return
        exclude = ctx.option(self, "exclude")
        skip = {exclude} if isinstance(exclude, str) else set(exclude or ())
        for code, validator, issue, severity, line, message in notes:
            if code == self.code and validator not in skip:
                yield self.finding(rule, message, line, severity=severity, validator=validator, issue=issue)
