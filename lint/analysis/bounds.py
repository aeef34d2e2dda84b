"""Bounds on the work analyses that compare rules with each other may spend.

A rule compared with its peers costs in proportion to its values times theirs. The
largest real rules (SigmaHQ's vulnerable-driver list: about 4,400 hashes and 220 KB
of values; the longest real value is under 1 KB) sit well inside the defaults; a
crafted rule past them is left out of the pairwise analyses, and the run says so
(`analysis-skipped`) instead of stalling CI or staying silent.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

RuleSize = tuple[int, int, int]  # values, characters of all values, characters of the longest


@dataclass(frozen=True, slots=True)
class Bounds:
    max_values: int = 10_000  # values in one rule's predicates
    max_value_chars: int = 1 << 20  # characters of those values together
    max_one_value: int = 16_384  # characters of a single value
    # Characters scanned for one pair's plausibility test (the broader rule's values
    # searched in the narrower rule's): rules inside the bounds above can still cost more.
    max_pair_work: int = 50_000_000
    # Pairs one rule takes part in past the cheap filters (candidates share a rare
    # indicator and a log source): a corpus of near-copies gives every rule hundreds.
    max_rule_pairs: int = 1_000  # the real corpora's most: 192

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "Bounds":
        return cls(**{f.name: int(options[f.name]) for f in fields(cls) if f.name in options})

    def too_large(self, size: RuleSize) -> str:
        """Why a rule of this size is compared with no other ("" when it is not too large)."""
        values, chars, longest = size
        if values > self.max_values:
            return f"it holds {values:,} values, over the bound of {self.max_values:,} (option max_values)"
        if longest > self.max_one_value:
            return (f"one of its values is {longest:,} characters long, over the bound of "
                    f"{self.max_one_value:,} (option max_one_value)")
        if chars > self.max_value_chars:
            return (f"its values hold {chars:,} characters, over the bound of {self.max_value_chars:,} "
                    "(option max_value_chars)")
        return ""


def size_of(rule: Any) -> RuleSize:
    values = chars = longest = 0
    for p in rule.predicates:
        values += len(p.values)
        for v in p.values:
            n = len(v) if isinstance(v, str) else 0
            chars += n
            if n > longest:
                longest = n
    return values, chars, longest


class OverBudget(Exception):
    """A pair's comparison would pass `Bounds.max_pair_work`."""
