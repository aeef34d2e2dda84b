"""Which events a rule judges: those of its log source, as its SIEM would feed it.

- Sigma: the product, then the category (a Sysmon event id and channel, or Security 4688 for
  process_creation) and the service (a channel); a rule whose log source says nothing more
  judges every event of its product.
- Elastic: the index patterns (an event lands in `winlogbeat-*`, `logs-windows.sysmon_operational-*`,
  ...) and an EQL query's event type (`process where` is `event.category == "process"`).
- Splunk: the CIM data model a `tstats`/`datamodel` search reads; a raw search scopes itself
  with its own `source`/`sourcetype`/`EventCode` tests.
An event that does not say its product (an ECS export without `host.os.type`) is judged by
rules of every product: unknown is not "other".
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Callable

from ..model.rule import NormalizedRule
from .event import Event

Scope = Callable[[Event], bool]


def rule_scope(rule: NormalizedRule) -> Scope:
    if rule.vendor == "sigma":
        return _sigma(rule)
    if rule.vendor == "elastic":
        return _elastic(rule)
    return _splunk(rule)


def _always(ev: Event) -> bool:
    return True


def _sigma(rule: NormalizedRule) -> Scope:
    ls = rule.logsource
    product, category, service = ls.product.casefold(), ls.category.casefold(), ls.service.casefold()

    def test(ev: Event) -> bool:
        if product and ev.product and ev.product != product:
            return False
        if category and category not in ev.categories:
            return False
        if service and service not in ev.services:
            return False
        return True
    return test if product or category or service else _always


def _elastic(rule: NormalizedRule) -> Scope:
    patterns = tuple(str(p) for p in (rule.extra.get("index") or ()) if p)
    event_types = elastic_event_types(rule)
    if not patterns and not event_types:
        return _always
    matcher = _index_matcher(patterns) if patterns else None

    def test(ev: Event) -> bool:
        if matcher is not None and ev.indices and not matcher(ev.indices):
            return False
        if event_types:
            cats = ev.folded("event.category")
            if not cats or event_types.isdisjoint(cats):
                return False
        return True
    return test


def elastic_event_types(rule: NormalizedRule) -> frozenset[str]:
    """The event categories an EQL query's steps name (`process where`); empty for `any`."""
    steps = getattr(rule, "steps", ()) or ()
    types = {s.event_type for s in steps if s.event_type not in ("", "any", "*")}
    if len(types) != len(steps) or not steps:
        return frozenset()  # a step of any type: the scope cannot narrow
    return frozenset(types)


@lru_cache(maxsize=4096)
def _index_matcher(patterns: tuple[str, ...]) -> Callable[[tuple[str, ...]], bool]:
    wanted = [p.split(":", 1)[-1] for p in patterns if not p.startswith("-")]  # remote cluster prefixes
    regex = re.compile("|".join(fnmatch.translate(p) for p in wanted) or "(?!)")
    memo: dict[tuple[str, ...], bool] = {}

    def match(indices: tuple[str, ...]) -> bool:
        hit = memo.get(indices)
        if hit is None:
            hit = memo[indices] = any(regex.match(i) for i in indices)
        return hit
    return match


def _splunk(rule: NormalizedRule) -> Scope:
    model = str(rule.extra.get("datamodel") or "")
    if not model:
        return _always
    # `Endpoint.Processes` also reads `Endpoint.Processes.*` child datasets; a bare model reads all its datasets.
    def test(ev: Event) -> bool:
        return any(m == model or m.startswith(model + ".") or model.startswith(m + ".") for m in ev.datamodels)
    return test
