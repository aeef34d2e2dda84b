"""What the overlap checks (RL201 duplicate-logic, RL202 subsumed-rule) share: the
run's overlap, prepared once before rules are judged, and the shape of their finding."""

from __future__ import annotations



from ..analysis.run_state import Analysis
from ..findings import Finding, Related
from ..model.rule import IndexedRule, NormalizedRule
from .base import Check


class OverlapCheck(Check, register=False):
    def prepare(self, judged: list[NormalizedRule], ctx: Analysis) -> None:
        ctx.prepare_overlap(judged)

    def overlap_finding(self, rule: NormalizedRule, ctx: Analysis, message: str, others: list[IndexedRule],
                        data_key: str, label: str) -> Finding:
        """The other rules in the finding's data and, up to `max_related`, as related
        locations labelled `label: 'title'`."""
        f = self.finding(rule, message, rule.logic_line or rule.line,
                         **{data_key: [{"key": o.key, "path": o.path, "vendor": o.vendor} for o in others]})
        limit = ctx.option(self, "max_related")
        f.related = [Related(o.path, o.logic_line or o.line, f"{label}: {o.title!r}") for o in others[:limit]]
        return f



