"""RL101 noisy-standalone-indicator: an AND-branch built only of indicators the corpus shows are everywhere."""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from ..analysis.exclusions import drops_only_empty
from ..analysis.intent import intent
from ..analysis.noise import RuleJudge, narrow
from ..analysis.prior import Evidence
from ..findings import Finding
from ..model.predicate import IndicatorKey, plural
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option


# Evidence that a value is common in ordinary activity (not a guess from its form).
# Lab recordings a parent-child pair needs to count as background: the recordings hold
# simulated attacks, and their pairs (`powershell.exe` starting `whoami.exe`) repeat.
PAIR_RECORDINGS = 10
GENERIC_BASES = frozenset(("event-type", "presence"))
HIGH_VOLUME = frozenset(("process_creation", "network_connection", "dns_query", "file_event", "image_load",
                         "registry_event", "registry_set", "process_access"))
KNOWN_COMMON = frozenset(("lab", "native", "logging-excluded", "peer-filtered", "event-type", "presence"))


def _describe(rule: NormalizedRule, key: IndicatorKey, ev: Evidence, ctx: Analysis) -> str:
    """`Image ends_with '\\cmd.exe' (a native Windows binary; runs on 54 of 115 lab
    recordings; 131 rules use process.name eq 'cmd.exe')`: the indicator as written, the
    prior's evidence, then its reach under its canonical form when that differs."""
    n = ctx.index.reach(key)
    written = rule.written(key)
    what = "it" if written == key else key.display()
    reach = f"{plural(n, 'rule')} {'uses' if n == 1 else 'use'} {what}"
    return f"{written.display()} ({ev.text}; {reach})"


def _common(judge: RuleJudge, i: int, min_share: float, native_reach: int) -> bool:
    """Common by evidence: seen on lab hosts, dropped from logging or filtered by peers as
    benign, an event-type or presence test; a native binary nobody saw run only when
    `native_reach` rules use it too (the Windows directory holds hundreds nobody runs)."""
    judge.predicate(i)
    share, _, ev, reach, _ = judge.preds[i]
    if share < min_share or ev.basis not in KNOWN_COMMON:
        return False
    return ev.basis != "native" or reach >= native_reach


def _pair_seen(judge: RuleJudge, keys: list[IndicatorKey]) -> bool | None:
    """For a parent and a child process name in one branch: whether the lab saw the parent
    start the child (None: not such a pair)."""
    parents = [k.value for k in keys if k.field == "process.parent.name" and k.op == "eq"]
    children = [k.value for k in keys if k.field == "process.name" and k.op == "eq"]
    if not parents or not children:
        return None
    return any(judge.prior.pair_recordings(p, c) >= PAIR_RECORDINGS for p in parents for c in children)


def anchors(rule: NormalizedRule, key: IndicatorKey, ctx: Analysis, own: set[str]) -> tuple[str, int, int]:
    """(field, rules, of) the field other rules using `key` most often test beside it: what
    peers anchor the same indicator on."""
    u = ctx.index.usage.get(key)
    if u is None:
        return "", 0, 0
    counts: Counter[str] = Counter()
    users = [k for k in u.positive if k != rule.key]
    for k in users:
        fields = {x.field for x in ctx.index.rules[k].positive_keys()
                  if not ctx.common.is_generic(x) and x.field not in own}
        counts.update(fields)
    if not counts:
        return "", 0, len(users)
    field, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return field, n, len(users)


def noisy_branches(rule: NormalizedRule, ctx: Analysis, min_share: float, native_reach: int = 5
                   ) -> Iterator[tuple[list[tuple[IndicatorKey, Evidence]], int, int | None]]:
    """(commonest keys with their evidence, rules using the specific ones together, line) of
    each AND-branch whose positive logic rests only on values common in the log source."""
    judge = RuleJudge(rule, ctx.common, detail=False)
    branches, _ = rule.branch_view()
    seen: set[frozenset[IndicatorKey]] = set()
    judged: dict[int, bool] = {}
    for b in branches:
        if not b.positive:
            continue
        # An allow-list (`\\whoami.exe` but not from a shell) makes an anomaly rule, not a
        # bare indicator: left to the noise score. Dropping empty values does not count.
        if any(not drops_only_empty(rule, x) for x in b.exclusions):
            continue
        preds = [rule.predicates[i] for i in sorted(b.positive)]
        # A test on an aggregate (`count >= 5` after STATS) narrows the branch in a way
        # the prior cannot judge.
        if any("computed" in p.notes for p in preds):
            continue
        ok = True
        for i in b.positive:
            c = judged.get(i)
            if c is None:
                c = judged[i] = _common(judge, i, min_share, native_reach)
            if not c:
                ok = False
                break
        if not ok:
            continue
        found = [(rule.predicates[i].keys()[judge.preds[i][1]], judge.preds[i][2]) for i in sorted(b.positive)
                 if judge.preds[i][1] >= 0]
        keys = list(dict.fromkeys(k for k, _ in found))
        ident = frozenset(keys)
        if not keys or ident in seen or narrow([judge.preds[i][0] for i in b.positive]) < min_share:
            continue
        seen.add(ident)
        evidence = dict(found)
        # Event-type and presence tests alone: every event of that kind, which is a flood for
        # process starts or connections and a trickle for account creation.
        if all(ev.basis in GENERIC_BASES for _, ev in found) and judge.source not in HIGH_VOLUME:
            continue
        specific = [k for k in keys if not ctx.common.is_broad(k)]
        together = ctx.common.together(specific, rule.key) if len(specific) > 1 else 0
        if len({k.field for k in specific}) > 1:
            # Common values on different fields narrow each other unless the lab saw them
            # together (a parent starting a child) or the corpus pairs them often.
            pair = _pair_seen(judge, specific)
            if not pair and together < ctx.common.threshold:
                continue
        line = min((p.line for p in preds if p.line), default=rule.line)
        yield [(k, evidence[k]) for k in keys], together, line


class NoisyStandaloneIndicator(Check):
    code = "RL101"
    name = "noisy-standalone-indicator"
    severity = "warning"
    summary = "An AND-branch rests only on values that are common in ordinary activity of its log source."
    what_it_does = (
        "Expands the rule's condition into its AND-branches and flags a branch whose positive "
        "predicates all test values the prevalence prior knows as common in that log source: a "
        "native Windows binary, a process the lab hosts run every day, a value logging "
        "configurations drop as benign noise, a value several rules exclude as benign, an "
        "event-type field or a mere presence test. Each value is named with its evidence and "
        "its reach (how many rules use it). Two common values on different fields narrow each "
        "other, so such a branch is flagged only when the lab saw them together (a parent "
        "starting that child) or many rules pair them. A branch with an allow-list exclusion "
        "is an anomaly rule and is left to the noise score; exclusions that only drop empty "
        "values do not count. Values the prior does not know are never called common here: "
        "unknown is not rare, but it is not evidence either. Hunting content (Splunk "
        "`type: Hunting`, SigmaHQ `rules-threat-hunting/`) gets `info`: it is meant to be broad.")
    why_it_matters = (
        "`hostname.exe`, `Image` ending in `\\cmd.exe` or `event.type == start` describe "
        "ordinary activity on every host: logon scripts, inventory tools and administrators run "
        "them all day. A branch that needs nothing more fires on that activity and buries real "
        "alerts.")
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
        Option("min_share", 0.04, "a value is common when the prior estimates at least this share of hosts "
               "run into it in a working period (and so is the branch as a whole)"),
        Option("native_reach", 5, "a native Windows binary the lab hosts were not seen running counts as common "
               "only when at least this many other rules use it"),
        Option("min_reach", 3, "reach: two common values on different fields count as a common pair when "
               "at least this many other rules use them together (floor of the threshold)"),
        Option("common_share", 0.005, "... or this share of the corpus, whichever is larger"),
        Option("max_per_rule", 3, "report at most this many branches of one rule"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        # A new-terms, threshold or indicator-match rule fires on what it adds to its query.
        if rule.kind != "rule" or rule.beyond_query:
            return
        # A test the tree leaves out (a subsearch filter, an EQL function) may be what narrows it.
        if rule.unmodelled:
            return
        what = intent(rule)
        if not what.static:
            return
        # Hunting searches and building blocks are broad by design: worth knowing, not a defect.
        severity = "info" if what.hunting or what.building_block else None
        limit = ctx.option(self, "max_per_rule")
        source = rule.logsource.key()
        if source == "(any)":
            source = "its log source"
        found_branches = noisy_branches(rule, ctx, ctx.option(self, "min_share"), ctx.option(self, "native_reach"))
        for n, (found, together, line) in enumerate(found_branches):
            if n >= limit:
                return
            keys = [k for k, _ in found]
            parts = [_describe(rule, k, ev, ctx) for k, ev in found]
            field, users, of = anchors(rule, keys[0], ctx, {k.field for k in keys})
            advice = (f"peers that use it anchor on {field} ({users} of {plural(of, 'rule')}), so add such a "
                      f"condition" if field and users * 2 >= of else "add a condition only the behaviour has")
            if len(parts) == 1:
                msg = (f"{parts[0]} stands alone in an AND-branch and is common in {source}, so the rule fires "
                       f"on ordinary activity; {advice}.")
            else:
                pair = f", and {plural(together, 'other rule')} use them together" if together else ""
                msg = (f"An AND-branch holds only values common in {source}, {', '.join(parts)}{pair}; "
                       f"{advice}.")
            yield self.finding(
                rule, msg, line, severity=severity,
                indicators=[{"field": k.field, "op": k.op, "value": k.value, "reach": ctx.index.reach(k),
                             "generic": ctx.common.is_broad(k), "share": round(ev.share, 4),
                             "evidence": ev.text} for k, ev in found],
                together=together, threshold=ctx.common.threshold, hunting=what.hunting,
            )
