"""The registry of checks: one module per check, named by code and name."""

from __future__ import annotations

from . import rl001_parse_error, rl002_no_query_logic, rl003_unused_suppression, rl101_noisy_standalone_indicator, rl102_missing_common_exclusion
from .base import Check, Context, Option

CHECKS: tuple[Check, ...] = (
    rl001_parse_error.CHECK,
    rl002_no_query_logic.CHECK,
    rl003_unused_suppression.CHECK,
    rl101_noisy_standalone_indicator.CHECK,
    rl102_missing_common_exclusion.CHECK,
)
BY_CODE = {c.code: c for c in CHECKS}
BY_NAME = {c.name: c for c in CHECKS}


def lookup(token: str) -> Check | None:
    """A check by code (RL101) or name (noisy-standalone-indicator), any case."""
    t = token.strip()
    return BY_CODE.get(t.upper()) or BY_NAME.get(t.lower())


def matches(check: Check, token: str) -> bool:
    """--select/--ignore tokens: a code, a name, or a code prefix such as RL1."""
    t = token.strip()
    return check.name == t.lower() or check.code.startswith(t.upper()) or t.upper() == "ALL"


__all__ = ["CHECKS", "BY_CODE", "BY_NAME", "Check", "Context", "Option", "lookup", "matches"]
