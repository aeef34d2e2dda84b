"""What the Sigma loader notes about how a rule is written, for the checks that judge it:
values whose wildcards a modifier would state (wildcard-instead-of-modifier), modifiers
that do nothing to their values (inapplicable-modifier), and detections the condition
never uses (unused-detection-item).

The notes are plain tuples in the rule's `extra` (cached with the load), only when
there is something to note:

- `extra["wildcard_notes"]`: (line, field as written, modifier to use, first value)
- `extra["modifier_notes"]`: (line, field as written, modifier, why it does nothing)
- `extra["unused_detections"]`: (line, name) of detections no condition names
- `extra["empty_selectors"]`: (line, `1 of filter_*`) selectors matching no detection
"""

from __future__ import annotations

import re
from typing import Any

from sigma.types import SigmaString, SpecialChars

# What pySigma's windash modifier rewrites: a dash or slash starting a word.
_WINDASH = re.compile(r"\B[-/]\b")
_POSITION = ("contains", "startswith", "endswith")
# Modifiers after which a wildcard is not a position (a regex, a network, an encoding...).
_NOT_PLAIN = {"re", "cidr", "exists", "gt", "gte", "lt", "lte", "fieldref", "base64", "base64offset", "wide",
              "utf16", "utf16le", "utf16be", "expand", "minute", "hour", "day", "week", "month", "year"}


def _edges(value: Any) -> str | None:
    """The modifier a value's wildcards stand for: `*x*` contains, `*x` endswith, `x*`
    startswith; None when a wildcard is inside (or `?`), or there is none."""
    if not isinstance(value, SigmaString) or len(value.s) < 2:
        return None
    parts = value.s
    lead = parts[0] is SpecialChars.WILDCARD_MULTI
    trail = parts[-1] is SpecialChars.WILDCARD_MULTI
    inner = parts[1 if lead else 0: len(parts) - 1 if trail else len(parts)]
    if not inner or any(not isinstance(p, str) for p in inner):
        return None  # only wildcards, or another wildcard / placeholder inside
    if lead and trail:
        return "contains"
    return "endswith" if lead else "startswith" if trail else None


def _raw(value: Any) -> str:
    return value.original if getattr(value, "original", None) is not None else str(value)


def wildcard_note(item: Any, mods: list[str], line: int | None) -> tuple | None:
    """A field's values that all carry wildcards at their edges only, where one modifier
    (contains, startswith, endswith) says the same."""
    if item.field is None or any(m in _POSITION or m in _NOT_PLAIN for m in mods):
        return None
    values = item.original_value
    if not values:
        return None
    forms = {_edges(v) for v in values}
    if len(forms) != 1 or None in forms:
        return None
    return (line, _written(item.field, mods), forms.pop(), _raw(values[0]))


def modifier_notes(item: Any, mods: list[str], line: int | None) -> list[tuple]:
    """Modifiers of one detection item that change nothing, each with why."""
    out: list[tuple] = []
    field = _written(item.field, mods) if item.field is not None else "keywords"
    values = [v for v in item.original_value]
    strings = [_raw(v) for v in values if isinstance(v, SigmaString)]
    if "windash" in mods and strings and not any(_WINDASH.search(s) for s in strings):
        out.append((line, field, "windash",
                    f"no value has a '-' or '/' starting a word ({_show(strings)}), so it expands nothing"))
    pos = [m for m in _POSITION if m in mods]
    if len(pos) > 1:
        out.append((line, field, "|".join(pos),
                    f"together they put a wildcard at both ends of the value, which is `contains` alone"))
    if "expand" in mods and strings and not any("%" in s for s in strings):
        out.append((line, field, "expand", f"no value holds a %placeholder% ({_show(strings)}) to expand"))
    if "all" in mods and len(values) == 1:
        out.append((line, field, "all", f"there is one value ({_show(strings or [str(values[0])])}), "
                                        f"so there is nothing to AND"))
    return out


def _show(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:3])
    return shown + (f" and {len(values) - 3} more" if len(values) > 3 else "")


def _written(field: str, mods: list[str]) -> str:
    return "|".join([field, *mods])


def detection_key_lines(nodes: list[Any]) -> dict[str, int | None]:
    """Each detection name's key line, from the rule's own document first."""
    import yaml

    from .yamlnodes import line_of, mapping_get

    out: dict[str, int | None] = {}
    for n in nodes:
        _, det = mapping_get(n, "detection")
        if isinstance(det, yaml.MappingNode):
            for k, _v in det.value:
                if isinstance(k, yaml.ScalarNode) and k.value != "condition":
                    out.setdefault(k.value, line_of(k))
    return out


def rule_notes(rule: Any, used: set[str], empty: list[str], wildcards: list[tuple], modifiers: list[tuple],
               nodes: list[Any], cond_line: int | None) -> dict[str, list]:
    """The `extra` entries of one loaded Sigma rule (only those with something in them)."""
    out: dict[str, list] = {}
    names = [n for n in rule.detection.detections if n not in used]
    if names:
        lines = detection_key_lines(nodes)
        out["unused_detections"] = [(lines.get(n), n) for n in names]
    if empty:
        out["empty_selectors"] = [(cond_line, e) for e in dict.fromkeys(empty)]
    if wildcards:
        out["wildcard_notes"] = wildcards
    if modifiers:
        out["modifier_notes"] = modifiers
    return out
