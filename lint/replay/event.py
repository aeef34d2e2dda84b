"""One event as the evaluator reads it: every field's values as strings, under the
event's own (native) names and the canonical names rules are stated in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A field with no value (JSON null) is present but null: `is_null` holds, `exists` does not.
NULL: tuple[str, ...] = ()


@dataclass(slots=True)
class Event:
    fields: dict[str, tuple[str, ...]]
    # Where it stands for log-source matching (rulelint.replay.scope).
    product: str = ""
    categories: frozenset[str] = frozenset()  # Sigma categories, e.g. process_creation
    services: frozenset[str] = frozenset()  # Sigma services, e.g. security, sysmon
    indices: tuple[str, ...] = ()  # Elastic index names the event would be written to
    datamodels: frozenset[str] = frozenset()  # Splunk CIM datasets, e.g. Endpoint.Processes
    host: str = ""
    when: Any = None  # the event's time as written; `timestamp` reads it when a sequence asks
    native: tuple[str, ...] = ()  # the event's own field names (keywords search these)
    fold: "Folded" = field(default=None, repr=False)  # type: ignore[assignment]
    _text: str | None = field(default=None, repr=False)
    _time: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.fold is None:
            self.fold = Folded(self.fields)
        self._time = _UNSET

    @property
    def timestamp(self) -> float | None:
        """Seconds since the epoch (None: no readable time)."""
        if self._time is _UNSET:
            from .normalize import epoch

            self._time = epoch(self.when)
        return self._time

    def values(self, name: str) -> tuple[str, ...] | None:
        """The field's values (None: the event has no such field)."""
        return self.fields.get(name)

    def folded(self, name: str) -> tuple[str, ...] | None:
        """The field's values case-folded, computed once per field and event."""
        return self.fold[name]

    def text(self) -> str:
        """Every value of the event's own fields, case-folded, one per line: what a
        keyword search looks through."""
        if self._text is None:
            names = self.native or tuple(self.fields)
            fields = self.fields
            # One casefold of the joined text costs a fraction of one per field.
            self._text = "\n".join(v for n in names for v in fields[n]).casefold()
        return self._text


_UNSET = object()


class Folded(dict):
    """Case-folded values per field, made on first use (None for a missing field). A dict
    whose misses fill it: rules read the same fields of an event thousands of times."""

    __slots__ = ("fields", "_same")

    def __init__(self, fields: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.fields = fields
        self._same: dict[int, tuple[str, ...]] = {}  # one value tuple under several names is folded once

    def __missing__(self, name: str) -> tuple[str, ...] | None:
        vals = self.fields.get(name)
        if vals is None:
            hit = None
        else:
            hit = self._same.get(id(vals))
            if hit is None:
                hit = (vals[0].casefold(),) if len(vals) == 1 else tuple(v.casefold() for v in vals)
                self._same[id(vals)] = hit
        self[name] = hit
        return hit


def as_strings(value: Any) -> tuple[str, ...]:
    """A JSON value as the tuple of strings a field holds: lists are multi-valued,
    numbers and booleans read as written (`4688`, `true`), objects as JSON text."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return (value,)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, (int, float)):
        return (_number(value),)
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for v in value:
            out.extend(as_strings(v))
        return tuple(out)
    import json

    return (json.dumps(value, sort_keys=True, ensure_ascii=False),)


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
