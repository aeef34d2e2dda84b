"""RL101 noisy-standalone-indicator: an AND-branch built only of indicators the corpus shows are everywhere."""

from __future__ import annotations

from typing import Iterator

from ..analysis.exclusions import drops_only_empty
from ..findings import Finding
from ..model.predicate import IndicatorKey, plural
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option


def _describe(rule: NormalizedRule, key: IndicatorKey, ctx: Analysis) -> str:
    """`Image ends_with '\\cmd.exe' (131 rules use process.name eq 'cmd.exe')`: the
    indicator as written, the evidence under its canonical form when that differs."""
    n = ctx.index.reach(key)
    written = rule.written(key)
    what = "it" if written == key else key.display()
    evidence = f"{plural(n, 'rule')} {'uses' if n == 1 else 'use'} {what}"
    if ctx.common.is_broad(key):
        kind = "a presence test" if key.op in ("exists", "is_null") else "an event-type field"
        evidence = f"{kind}; {evidence}"
    return f"{written.display()} ({evidence})"


def _all_common(rule: NormalizedRule, positive: frozenset[int], ctx: Analysis, memo: dict[int, bool]) -> bool:
    """Every predicate of a branch is common, each judged once per rule (`memo`): branches
    share predicates (`a and (x1 or ... or x40)`)."""
    for i in positive:
        c = memo.get(i)
        if c is None:
            c = memo[i] = ctx.common.predicate_is_common(rule.predicates[i], rule.key)
        if not c:
            return False
    return True


def noisy_branches(rule: NormalizedRule, ctx: Analysis) -> Iterator[tuple[list[IndicatorKey], int, int | None]]:
    """(loosest keys, rules using the specific ones together, line) of each noisy AND-branch."""
    branches, _ = rule.branch_view()
    seen: set[frozenset[IndicatorKey]] = set()
    judged: dict[int, bool] = {}
    for b in branches:
        if not b.positive or not _all_common(rule, b.positive, ctx, judged):
            continue
        preds = [rule.predicates[i] for i in sorted(b.positive)]
        # A test on an aggregate (`count >= 5` after STATS) narrows the branch in a way
        # reach cannot judge.
        if any("computed" in p.notes for p in preds):
            continue
        keys = list(dict.fromkeys(ctx.common.loosest_key(p, rule.key) for p in preds))
        ident = frozenset(keys)
        if ident in seen:
            continue
        seen.add(ident)
        specific = [k for k in keys if not ctx.common.is_broad(k)]
        together = ctx.common.together(specific, rule.key) if len(specific) > 1 else 0
        # Two common indicators on different fields narrow each other, unless
        # the corpus shows the pair is itself common.
        if len({k.field for k in specific}) > 1 and together < ctx.common.threshold:
            continue
        # An allow-list (`\\whoami.exe` but not from a shell, `\\msiexec.exe` but not
        # under System32) makes an anomaly rule, not a bare indicator; only
        # exclusions of empty or missing values leave the branch standing alone.
        if any(not drops_only_empty(rule, x) for x in b.exclusions):
            continue
        line = min((p.line for p in preds if p.line), default=rule.line)
        yield keys, together, line


class NoisyStandaloneIndicator(Check):
    code = "RL101"
    name = "noisy-standalone-indicator"
    severity = "warning"
    summary = "An AND-branch rests only on indicators that are common across the corpus."
    what_it_does = (
        "Expands the rule's condition into its AND-branches and flags a branch whose positive "
        "predicates are all common: used by many other rules of the corpus (reach at or above "
        "the threshold), tests of event-type fields such as `event.type` or `event.category`, "
        "or mere presence tests. Two common indicators on different fields (a parent and a "
        "child process) narrow each other, so such a branch is flagged only when the corpus "
        "shows the pair itself is common. A branch with an allow-list exclusion (`\\whoami.exe` "
        "not started by a shell, `\\msiexec.exe` not under `C:\\Windows\\System32\\`) is an "
        "anomaly rule and is left to the noise score; exclusions that only drop empty or "
        "missing values do not count.")
    why_it_matters = (
        "`Image` ending in `\\cmd.exe` or `event.type == start` describes a large share of all "
        "events. A branch that needs nothing more fires on normal activity and buries real alerts; "
        "the corpus reach is the evidence that the indicator means little alone.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "  condition: selection")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "    CommandLine|contains: 'vssadmin delete shadows'\n"
        "  condition: selection")
    options = (
        Option("min_reach", 3, "an indicator is common when at least this many other rules use it (floor of the threshold)"),
        Option("common_share", 0.005, "... or when this share of the corpus uses it, whichever is larger"),
        Option("max_per_rule", 3, "report at most this many branches of one rule"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        # A new-terms, threshold or indicator-match rule fires on what it adds to its query.
        if rule.kind != "rule" or rule.beyond_query:
            return
        limit = ctx.option(self, "max_per_rule")
        for n, (keys, together, line) in enumerate(noisy_branches(rule, ctx)):
            if n >= limit:
                return
            parts = [_describe(rule, k, ctx) for k in keys]
            if len(parts) == 1:
                msg = (f"{parts[0]} stands alone in an AND-branch, so the rule fires on every event it "
                       f"matches; add a specific condition beside it.")
            else:
                pair = f" and {plural(together, 'other rule')} use them together" if together else ""
                msg = (f"An AND-branch holds only indicators common in the corpus, {', '.join(parts)}{pair}; "
                       f"add a specific condition beside them.")
            yield self.finding(
                rule, msg, line,
                indicators=[{"field": k.field, "op": k.op, "value": k.value, "reach": ctx.index.reach(k),
                             "generic": ctx.common.is_broad(k)} for k in keys],
                together=together, threshold=ctx.common.threshold,
            )
