"""RL102 missing-common-exclusion: exclusions that several peer rules apply and this rule lacks."""

from __future__ import annotations

from collections import Counter
from itertools import chain
from typing import Iterator

from ..findings import Finding, Related
from ..model.predicate import IndicatorKey, could_overlap, implies
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option


def peers(rule: NormalizedRule, ctx: Analysis) -> list[NormalizedRule]:
    """Rules on the same log source about the same activity (`analysis.peers`)."""
    return [ctx.index.rules[key] for key in sorted(ctx.peer_keys(rule))]


def pinned_values(rule: NormalizedRule) -> dict[str, list[IndicatorKey]]:
    """Fields every AND-branch tests positively, with the values tested: an event the
    rule matches carries one of them."""
    branches, _ = rule.branch_view()
    fields: set[str] | None = None
    for b in branches:
        here = {rule.predicates[i].field for i in b.positive}
        fields = here if fields is None else fields & here
    out: dict[str, list[IndicatorKey]] = {}
    for f in fields or ():
        out[f] = [k for k in rule.positive_keys() if k.field == f]
    return out


def relevant(key: IndicatorKey, pinned: dict[str, list[IndicatorKey]]) -> bool:
    """On a field the rule itself pins, only an exclusion narrower than one of its
    values matters: `eq 'c:\\windows\\system32\\rundll32.exe'` refines a rule on
    `ends_with '\\rundll32.exe'`; excluding `\\chrome.exe` is moot for a rule on
    `\\anydesk.exe`, and excluding `c:\\users\\` would undo a rule on `\\appdata\\`."""
    own = pinned.get(key.field)
    if not own:
        return True
    return any(implies(key.op, key.value, k.op, k.value) for k in own)


def handled(key: IndicatorKey, rule: NormalizedRule) -> bool:
    """The rule already excludes something on that field that meets the peers' value
    (`contains ':\\program files\\'` handles `starts_with 'c:\\program files\\'`)."""
    return any(k.field == key.field and could_overlap(k.op, k.value, key.op, key.value)
               for k in rule.excluded_keys())


def missing_exclusions(rule: NormalizedRule, ctx: Analysis) -> tuple[list[NormalizedRule], list[tuple[IndicatorKey, int]]]:
    """The rule's peers, and the exclusions enough of them apply that the rule does not
    handle, with how many peers apply each, most used first (reports reuse it)."""
    if rule.kind != "rule" or rule.tree is None:
        return [], []
    min_peers, min_share = ctx.option(MissingCommonExclusion, "min_peers"), ctx.option(MissingCommonExclusion, "min_share")
    keys = ctx.peer_keys(rule)
    group = [ctx.index.rules[key] for key in sorted(keys)]
    if len(group) < min_peers:
        return group, []
    rules = ctx.index.rules
    excluding = keys & ctx.peer_sets(rule).excluding
    need = max(min_peers, min_share * len(group))
    if len(excluding) < need:  # fewer peers exclude anything than an exclusion needs
        return group, []
    counts = Counter(chain.from_iterable(rules[k].excluded_keys() for k in excluding))
    frequent = [(k, n) for k, n in counts.items() if n >= need]
    if not frequent:
        return group, []
    own = rule.positive_keys() | rule.excluded_keys()
    pinned = pinned_values(rule)
    missing = [
        (k, n) for k, n in sorted(frequent, key=lambda kn: (-kn[1], kn[0]))
        if k not in own and not ctx.common.is_generic(k) and relevant(k, pinned) and not handled(k, rule)
    ]
    return group, missing


class MissingCommonExclusion(Check):
    code = "RL102"
    name = "missing-common-exclusion"
    severity = "warning"
    summary = "Peer rules exclude known false-positive sources that this rule does not."
    what_it_does = (
        "Finds the rule's peers: rules on the same log source that share a specific (not "
        "common) positive indicator with it, or an ATT&CK technique and a field both test (routing fields such "
        "as `EventID` do not count). It counts the exclusions (predicates under a NOT) the "
        "peers apply, and lists those used by several peers that this rule does not handle: "
        "it neither selects nor excludes them, excludes nothing on that field that meets them, "
        "and could match an event that carries them (excluding `\\\\chrome.exe` is moot for "
        "a rule that selects `\\\\anydesk.exe`).")
    why_it_matters = (
        "Exclusions are what authors learned the hard way: browsers resolve remote-access domains, "
        "installers run from Program Files, agents spawn shells. A new rule without the exclusions "
        "its peers carry will fire on the same benign activity they already filter out.")
    example = (
        "tags: [attack.t1219.002]\n"
        "logsource: {product: windows, category: dns_query}\n"
        "detection:\n"
        "  selection:\n"
        "    QueryName|endswith: '.anydesk.com'\n"
        "  condition: selection")
    use_instead = (
        "tags: [attack.t1219.002]\n"
        "logsource: {product: windows, category: dns_query}\n"
        "detection:\n"
        "  selection:\n"
        "    QueryName|endswith: '.anydesk.com'\n"
        "  filter_browsers:\n"
        "    Image|endswith: ['\\\\chrome.exe', '\\\\firefox.exe', '\\\\msedge.exe']\n"
        "  condition: selection and not filter_browsers")
    options = (
        Option("min_peers", 2, "the fewest peers using an exclusion for it to be reported (and the fewest peers to judge at all)"),
        Option("min_share", 0.5, "the smallest share of the peers that must use an exclusion"),
        Option("max_listed", 5, "how many missing exclusions the message names"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        group, missing = missing_exclusions(rule, ctx)
        if not missing:
            return
        shown = missing[: ctx.option(self, "max_listed")]
        listed = "; ".join(f"{ctx.index.display(k).display()} ({n} peers)" for k, n in shown)
        more = f" and {len(missing) - len(shown)} more" if len(missing) > len(shown) else ""
        msg = (f"{len(group)} peer rules on {rule.logsource.key()} exclude what this rule does not: "
               f"{listed}{more}.")
        related_rules: dict[str, NormalizedRule] = {}
        for k, _ in shown:
            for p in (peer for peer in group if k in peer.excluded_keys()):
                related_rules.setdefault(p.key, p)
        f = self.finding(
            rule, msg, rule.logic_line or rule.line,
            peers=len(group),
            missing=[{"field": k.field, "op": k.op, "value": k.value, "peers": n} for k, n in missing],
        )
        f.related = [Related(p.path, p.logic_line or p.line,
                             f"peer rule {p.title!r} excludes it" if p.title else "reference rule excludes it")
                     for p in list(related_rules.values())[:10]]
        yield f
