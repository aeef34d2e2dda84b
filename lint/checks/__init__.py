"""The registry of checks: one module per check, named by code and name."""

from __future__ import annotations

from . import rl001_parse_error, rl002_no_query_logic, rl003_unused_suppression, rl101_noisy_standalone_indicator, rl102_missing_common_exclusion
from . import rl201_duplicate_logic, rl202_subsumed_rule, rl203_contradictory_logic, rl204_dead_branch
from . import rl103_bypassable_exclusion, rl301_unknown_technique, rl302_tactic_mismatch, rl303_unusual_technique
from .base import Check, Context, Option

CHECKS: tuple[Check, ...] = (
    rl001_parse_error.CHECK,
    rl002_no_query_logic.CHECK,
    rl003_unused_suppression.CHECK,
    rl101_noisy_standalone_indicator.CHECK,
    rl102_missing_common_exclusion.CHECK,
    rl103_bypassable_exclusion.CHECK,
    rl201_duplicate_logic.CHECK,
    rl202_subsumed_rule.CHECK,
    rl203_contradictory_logic.CHECK,
    rl204_dead_branch.CHECK,
    rl301_unknown_technique.CHECK,
    rl302_tactic_mismatch.CHECK,
    rl303_unusual_technique.CHECK,
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
