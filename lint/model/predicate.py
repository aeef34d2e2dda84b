"""Predicates: one (field, operator, value) test of a rule, vendor-neutral."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# Canonical operators (docs/json-format.md: a predicate's `op`). `fieldref` compares two fields of one event.
OPERATORS = (
    "eq", "contains", "starts_with", "ends_with", "wildcard", "regex_match", "cidr",
    "exists", "is_null", "gt", "ge", "lt", "le", "in", "fieldref",
)

# Field name used for keyword (field-less) detections.
KEYWORD_FIELD = "(keyword)"


class IndicatorKey(NamedTuple):
    """What makes two predicates the same indicator, whoever wrote them."""

    field: str
    op: str
    value: str

    def display(self) -> str:
        return f"{self.field} {self.op} {quote(self.value)}"


def quote(value: str) -> str:
    """A value as messages show it: quoted, backslashes as written in the rule."""
    return "'" + value.replace("'", "\\'") + "'"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(slots=True)
class Predicate:
    """One atomic test. `values` are OR-linked alternatives of one detection item
    (a Sigma value list), each an indicator in its own right."""

    field: str
    op: str
    values: tuple[str, ...]
    line: int | None = None
    native_field: str = ""
    case_sensitive: bool = False
    transform: str = ""  # base64, base64offset, utf16le, windash, ... (already folded into values)
    notes: tuple[str, ...] = field(default_factory=tuple)
    # As the rule wrote it, one per value (set when fields are made canonical):
    # `Image ends_with '\cmd.exe'` for the canonical `process.name eq 'cmd.exe'`.
    native: tuple[IndicatorKey, ...] = ()
    _keys: tuple[IndicatorKey, ...] | None = field(default=None, repr=False, compare=False)

    # Rules cross process boundaries by the thousand: a plain tuple pickles smaller and
    # faster than the per-object slot dict, and the cached keys are rebuilt on demand.
    def __getstate__(self) -> tuple:
        return (self.field, self.op, self.values, self.line, self.native_field, self.case_sensitive,
                self.transform, self.notes, tuple(tuple(k) for k in self.native))

    def __setstate__(self, state: tuple) -> None:
        (self.field, self.op, self.values, self.line, self.native_field, self.case_sensitive,
         self.transform, self.notes, native) = state
        self.native = tuple(IndicatorKey(*k) for k in native)
        self._keys = None

    def keys(self) -> tuple[IndicatorKey, ...]:
        if self._keys is None:
            self._keys = tuple(IndicatorKey(self.field, self.op, v) for v in self.values)
        return self._keys

    def native_keys(self) -> tuple[IndicatorKey, ...]:
        return self.native or self.keys()

    def describe(self, i: int = 0) -> str:
        """One value as the rule wrote it, for messages: `Image ends_with '\\cmd.exe'`."""
        return self.native_keys()[i].display()


def normalize_value(value: str, case_sensitive: bool) -> str:
    """Fold case where the match is case-insensitive, so equal indicators compare equal."""
    return value if case_sensitive else value.casefold()


class Wild(str):
    """A wildcard inside a pattern (as opposed to a literal `*` or `?`)."""


STAR = Wild("*")
QMARK = Wild("?")

PatternPart = str  # a literal chunk, or STAR / QMARK


def classify_pattern(parts: list[PatternPart] | tuple[PatternPart, ...]) -> tuple[str, str]:
    """Turn a parsed wildcard pattern into the most precise (op, value).

    `*x*` is contains, `*x` ends_with, `x*` starts_with, no wildcard is eq;
    wildcards anywhere else keep the whole pattern as `wildcard` (wildcards shown
    as `*`/`?`, literal ones escaped with a backslash).
    """
    parts = [p for p in parts if p != ""]
    if not any(isinstance(p, Wild) for p in parts):
        return "eq", "".join(parts)
    lead = bool(parts) and parts[0] is STAR
    trail = len(parts) > 1 and parts[-1] is STAR
    core = parts[1 if lead else 0: len(parts) - 1 if trail else len(parts)]
    if not core:
        return "exists", ""
    if not any(isinstance(p, Wild) for p in core):
        text = "".join(core)
        if lead and trail:
            return "contains", text
        return ("ends_with", text) if lead else ("starts_with", text)
    return "wildcard", render_pattern(parts)


def render_pattern(parts: list[PatternPart] | tuple[PatternPart, ...]) -> str:
    """Wildcards as `*`/`?`; literal `*`/`?` escaped; a literal backslash doubled only
    where a wildcard follows it, so `\\*` (literal star) and `\\\\*` differ."""
    out = []
    for i, p in enumerate(parts):
        if isinstance(p, Wild):
            out.append(str(p))
            continue
        text = p.replace("*", "\\*").replace("?", "\\?")
        if text.endswith("\\") and i + 1 < len(parts) and isinstance(parts[i + 1], Wild):
            text += "\\"
        out.append(text)
    return "".join(out)


_STRING_OPS = ("eq", "contains", "starts_with", "ends_with")


def _network(value: str):
    import ipaddress
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def value_passes(value: str, op: str, operand: str) -> bool:
    """Whether one concrete value passes a string test."""
    if op == "eq":
        return value == operand
    if op == "contains":
        return operand in value
    if op == "starts_with":
        return value.startswith(operand)
    return value.endswith(operand)


def could_overlap(op_a: str, val_a: str, op_b: str, val_b: str) -> bool:
    """Whether some value can satisfy both tests (same field, values case-folded alike).

    Exact for eq/contains/starts_with/ends_with and for cidr against cidr or an
    address; other operators are assumed to overlap.
    """
    if op_a == "cidr" or op_b == "cidr":
        # eq of an address is a /32 (or /128) network.
        net_a = _network(val_a) if op_a in ("cidr", "eq") else None
        net_b = _network(val_b) if op_b in ("cidr", "eq") else None
        if net_a is None or net_b is None:
            return True
        return net_a.version == net_b.version and net_a.overlaps(net_b)
    if op_a not in _STRING_OPS or op_b not in _STRING_OPS:
        return True
    if op_b == "eq" and op_a != "eq":
        op_a, val_a, op_b, val_b = op_b, val_b, op_a, val_a
    if op_a == "eq":
        return value_passes(val_a, op_b, val_b)
    if op_a == op_b == "ends_with":
        return val_a.endswith(val_b) or val_b.endswith(val_a)
    if op_a == op_b == "starts_with":
        return val_a.startswith(val_b) or val_b.startswith(val_a)
    return True


def implies(op_a: str, val_a: str, op_b: str, val_b: str) -> bool:
    """Whether every value passing test A also passes test B (string operators only)."""
    if op_a == "eq":
        return op_b in _STRING_OPS and value_passes(val_a, op_b, val_b)
    if op_a == op_b and op_a in ("contains", "starts_with", "ends_with"):
        return {
            "contains": val_b in val_a,
            "starts_with": val_a.startswith(val_b),
            "ends_with": val_a.endswith(val_b),
        }[op_a]
    if op_b == "contains" and op_a in ("starts_with", "ends_with"):
        return val_b in val_a
    return False
