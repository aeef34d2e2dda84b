"""RL101 noisy-standalone-indicator: an AND-branch built only of indicators the corpus shows are everywhere."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..model.predicate import IndicatorKey
from ..model.rule import NormalizedRule
from .base import Check, Context, Option


def _describe(key: IndicatorKey, ctx: Context, rule: NormalizedRule) -> str:
    reach = ctx.index.reach(key)
    if ctx.common.is_generic(key):
        what = "a presence test" if key.op in ("exists", "is_null") else "an event-type field"
        return f"{key.field} {key.op} {key.value!r} ({what}, {reach} rules use it)"
    return f"{key.field} {key.op} {key.value!r} ({reach} rules use it)"


def run(check: Check, rule: NormalizedRule, ctx: Context) -> Iterator[Finding]:
    if rule.kind != "rule":
        return
    branches, _ = rule.branch_view()
    seen: set[frozenset[IndicatorKey]] = set()
    reported = 0
    limit = ctx.option(check, "max_per_rule")
    for b in branches:
        if not b.positive:
            continue
        preds = [rule.predicates[i] for i in sorted(b.positive)]
        if not all(ctx.common.predicate_is_common(p, rule.key) for p in preds):
            continue
        keys = [ctx.common.loosest_key(p, rule.key) for p in preds]
        ident = frozenset(keys)
        if ident in seen:
            continue
        seen.add(ident)
        parts = [_describe(k, ctx, rule) for k in keys]
        line = min((p.line for p in preds if p.line), default=rule.line)
        if len(parts) == 1:
            msg = (f"{parts[0][0].upper()}{parts[0][1:]} stands alone in an AND-branch, so this rule "
                   f"fires on every event it matches; add a specific condition beside it.")
        else:
            msg = (f"An AND-branch holds only indicators common in the corpus: {', '.join(parts)}; "
                   f"add a specific condition beside them.")
        yield check.finding(
            rule, msg, line,
            indicators=[{"field": k.field, "op": k.op, "value": k.value, "reach": ctx.index.reach(k)} for k in keys],
            threshold=ctx.common.threshold,
        )
        reported += 1
        if reported >= limit:
            return


CHECK = Check(
    code="RL101",
    name="noisy-standalone-indicator",
    severity="warning",
    summary="An AND-branch rests only on indicators that are common across the corpus.",
    what_it_does=(
        "Expands the rule's condition into its AND-branches and flags a branch whose positive "
        "predicates are all common: used by many other rules of the corpus (reach at or above "
        "the threshold), or tests of routing fields such as `event.type`, `EventID` or "
        "`Provider_Name`, or mere presence tests. Exclusions do not make a branch specific."
    ),
    why_it_matters=(
        "`Image` ending in `\\cmd.exe` or `event.type == start` describes a large share of all "
        "events. A branch that needs nothing more fires on normal activity and buries real alerts; "
        "the corpus reach is the evidence that the indicator means little alone."
    ),
    example=(
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "  condition: selection"
    ),
    use_instead=(
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "    CommandLine|contains: 'vssadmin delete shadows'\n"
        "  condition: selection"
    ),
    options=(
        Option("min_reach", 3, "an indicator is common when at least this many other rules use it (floor of the threshold)"),
        Option("common_share", 0.005, "... or when this share of the corpus uses it, whichever is larger"),
        Option("max_per_rule", 3, "report at most this many branches of one rule"),
    ),
    run=run,
)
