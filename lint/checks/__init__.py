"""The registry of checks: every module `rlNNN_name.py` of this package defines one
`Check` subclass, which registers itself when the module is imported."""

from __future__ import annotations

import importlib
import pkgutil
import re

from ..findings import Finding
from .base import REGISTRY, Check, Option

for _module in pkgutil.iter_modules(__path__):
    if re.fullmatch(r"rl\d{3}_\w+", _module.name):
        importlib.import_module(f"{__package__}.{_module.name}")

CHECKS: tuple[Check, ...] = tuple(sorted(REGISTRY, key=lambda c: c.code))
BY_CODE = {c.code: c for c in CHECKS}
BY_NAME = {c.name: c for c in CHECKS}
if len(BY_CODE) != len(CHECKS) or len(BY_NAME) != len(CHECKS):
    raise RuntimeError("two checks share a code or a name")


def lookup(token: str) -> Check | None:
    """A check by code (RL101) or name (noisy-standalone-indicator), any case."""
    t = token.strip()
    return BY_CODE.get(t.upper()) or BY_NAME.get(t.lower())


def token_matches(code: str, name: str, token: str) -> bool:
    """--select/--ignore, configuration and suppression tokens: a code, a name, a code
    prefix such as RL1, or ALL. An empty token matches nothing."""
    t = token.strip()
    return bool(t) and (name == t.lower() or code.startswith(t.upper()) or t.upper() == "ALL")


def matches(check: Check, token: str) -> bool:
    return token_matches(check.code, check.name, token)


def finding_matches(finding: Finding, token: str) -> bool:
    return token_matches(finding.code, finding.name, token)


def token_known(token: str) -> bool:
    """A code, name, code prefix or `all` that selects at least one check."""
    return any(matches(c, token) for c in CHECKS)


__all__ = ["CHECKS", "BY_CODE", "BY_NAME", "Check", "Option", "lookup", "matches", "token_matches",
           "finding_matches", "token_known"]
