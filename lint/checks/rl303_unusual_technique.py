"""RL303 unusual-technique: a technique no rule sharing this rule's specific indicators uses,
while those rules agree on another."""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from ..analysis.field_roles import names_event
from ..findings import Finding, Related
from ..model.attack import attack, family
from ..model.predicate import IndicatorKey
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option


# Analysis rather than behaviour: many unrelated rules share these values.
_CONTEXT_OPS = frozenset(("gt", "ge", "lt", "le", "exists", "is_null", "fieldref"))


def specific_keys(rule: NormalizedRule, ctx: Analysis, max_reach: int) -> list[IndicatorKey]:
    """The rule's own evidence: positive indicators few other rules use (at most
    `max_reach`), on fields that describe the activity rather than route or classify it."""
    judged = ctx.specific_reach
    index = ctx.index
    out = []
    for k in rule.positive_keys():
        reach = judged.get(k)
        if reach is None:
            ok = not (k.op in _CONTEXT_OPS or len(k.value.strip("*?")) < 3 or ctx.common.is_generic(k)
                      or names_event(k.field))
            reach = judged[k] = index.reach(k) if ok else -1
        if reach < 0 or reach > max_reach + 1:
            continue
        if reach <= max_reach or index.reach(k, exclude=rule.key) <= max_reach:
            out.append(k)
    return out


def sharing_rules(rule: NormalizedRule, rare: dict[IndicatorKey, set[str]]) -> set[str]:
    """Other rules selecting on at least two of the rule's rare indicators (on one, when the
    rule has only one that someone else uses). A rule that excludes a value is no peer."""
    # Set operations, in C: a rule has many positive keys, and its rare keys many rules.
    hits = rare.keys() & rule.positive_keys()
    seen: set[str] = set()
    twice: set[str] = set()
    for k in hits:
        rules = rare[k]
        if len(hits) > 1:
            twice |= seen & rules
        seen |= rules
    out = twice if len(hits) > 1 else seen
    out.discard(rule.key)
    return out


def indicator_peers(rule: NormalizedRule, keys: list[IndicatorKey], candidates: set[str], ctx: Analysis,
                    max_reach: int, min_similarity: float) -> list[NormalizedRule]:
    """Candidates that test nearly the same specific indicators (Jaccard similarity of the
    two rules' specific indicators at least `min_similarity`, two shared when either has
    two): in practice the same detection written again, often for another product."""
    own = set(keys)
    memo = ctx.specific_keys
    out = []
    for key in sorted(candidates):  # peers in a stable order, whatever the hash seed
        other = ctx.index.rules[key]
        if other.kind != "rule" or not other.techniques or (rule.id and other.id == rule.id):
            continue
        theirs = memo.get(key)
        if theirs is None:
            theirs = memo[key] = frozenset(specific_keys(other, ctx, max_reach))
        shared = len(own & theirs)
        if shared < min(2, len(own), len(theirs)) or shared < min_similarity * len(own | theirs):
            continue
        out.append(other)
    return out


class UnusualTechnique(Check):
    code = "RL303"
    name = "unusual-technique"
    severity = "info"
    summary = "A technique that no rule sharing this rule's specific indicators uses, while they agree on another."
    what_it_does = (
        "Takes the rule's specific indicators (positive values at most `max_reach` other rules use, "
        "not on event-type or routing fields, not numeric comparisons) and finds its peers: rules "
        "whose own specific indicators are nearly the same set (Jaccard similarity at least "
        "`min_similarity`, two shared when both have two), in practice the same detection written "
        "again, often for another product. When at least `min_peers` peers all tag one technique "
        "family (a technique with its sub-techniques) that this rule lacks, rules of at least "
        "`min_vendors` vendors among them, and a technique family this rule tags appears in none of "
        "them and shares no tactic with theirs, the tag is reported. Umbrella families that a large "
        "share of the corpus carries (T1059) and ids the bundled ATT&CK release does not hold are "
        "no evidence. Only a hint: the rule may be right and its peers wrong.")
    why_it_matters = (
        "Rules that test the same files, command lines or registry keys detect the same behaviour. "
        "When every Sigma, Elastic and Splunk rule watching the cron folders says T1053 Scheduled "
        "Task/Job and one says T1070.004 File Deletion, the odd one out is usually a copy-paste "
        "leftover, and it hides the rule from everyone looking for T1053.")
    example = (
        "tags:\n"
        "  - attack.t1070.004   # peers watching the cron folders tag T1053\n"
        "logsource: {product: linux, category: file_event}\n"
        "detection:\n"
        "  selection:\n"
        "    TargetFilename|startswith: ['/etc/cron.d/', '/etc/cron.daily/', '/etc/cron.hourly/']\n"
        "  condition: selection")
    use_instead = (
        "tags:\n"
        "  - attack.t1053.003\n"
        "logsource: {product: linux, category: file_event}\n"
        "detection:\n"
        "  selection:\n"
        "    TargetFilename|startswith: ['/etc/cron.d/', '/etc/cron.daily/', '/etc/cron.hourly/']\n"
        "  condition: selection")
    options = (
        Option("max_reach", 15, "an indicator is specific when at most this many other rules use it"),
        Option("min_similarity", 0.5, "how alike two rules' specific indicators must be (shared / all, Jaccard) to be peers"),
        Option("min_peers", 3, "the fewest peers (rules sharing the specific indicators) to judge at all"),
        Option("min_agreement", 1.0, "the share of peers that must tag the technique the rule lacks"),
        Option("min_vendors", 2, "the fewest vendors (sigma, elastic, splunk) among the agreeing peers"),
        Option("max_share", 0.05, "a technique family tagged by more than this share of the corpus is an umbrella, not evidence"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if rule.kind != "rule" or not rule.techniques:
            return
        max_reach, min_peers = ctx.option(self, "max_reach"), ctx.option(self, "min_peers")
        candidates = sharing_rules(rule, ctx.rare_positive(max_reach))
        if len(candidates) < min_peers:
            return
        # Peers are a subset of the candidates: unless enough candidates of enough vendors agree
        # on a technique this rule lacks, no peer group can.
        own = ctx.technique_families(rule)
        backing: dict[str, set[str]] = {}
        rules = ctx.index.rules
        for k in candidates:
            other = rules[k]
            for f in ctx.technique_families(other) - own:
                backing.setdefault(f, set()).add(other.vendor)
        min_vendors = ctx.option(self, "min_vendors")
        if not any(len(v) >= min_vendors for v in backing.values()):
            return
        keys = specific_keys(rule, ctx, max_reach)
        if not keys:
            return
        peers = indicator_peers(rule, keys, candidates, ctx, max_reach, ctx.option(self, "min_similarity"))
        if len(peers) < min_peers:
            return
        votes: Counter[str] = Counter()
        for p in peers:
            votes.update(ctx.technique_families(p))
        agreed = min(votes, key=lambda f: (-votes[f], f))  # ties: the lowest id, not set order
        n = votes[agreed]
        if agreed in own or n < ctx.option(self, "min_agreement") * len(peers):
            return
        # Independent authors (another vendor's collection) agreeing is the evidence.
        vendors = {p.vendor for p in peers if agreed in ctx.technique_families(p)}
        if len(vendors) < min_vendors:
            return
        data = attack()
        agreed_t = data.technique(agreed)
        # Only a distinctive technique of the bundled release is evidence (not an umbrella
        # such as T1059, nor an id of a later release whose old equivalent the rule may carry).
        if agreed_t is None or agreed in ctx.umbrellas(ctx.option(self, "max_share")):
            return
        agreed_tactics = set(data.tactics_of(agreed))
        odd = []
        for tid in sorted(own):
            t = data.technique(tid)
            # Unrelated: unused by every peer and under none of the agreed technique's tactics.
            if t is None or votes[tid] or agreed_tactics & set(data.tactics_of(tid)):
                continue
            odd.extend(x for x in rule.techniques if family(x) == tid)
        if not odd:
            return
        shown = ", ".join(data.technique(t).label() if data.technique(t) else t for t in odd)
        sample = ", ".join(ctx.index.display(k).display() for k in sorted(keys)[:2])
        f = self.finding(
            rule, f"{shown} is tagged, but none of the {len(peers)} rules sharing its specific indicators "
                  f"({sample}) uses it, while {n} of them tag {agreed_t.label()}.",
            techniques=odd, peers=len(peers), agreed=agreed, agreeing=n)
        f.related = [Related(p.path, p.logic_line or p.line, f"peer rule tags {', '.join(p.techniques)}")
                     for p in peers if agreed in ctx.technique_families(p)][:5]
        yield f
