"""RL102 missing-common-exclusion: benign software that peer rules of the same behaviour
filter out and this rule does not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..analysis.benign_filters import (Filter, benign_reason, bypassable, field_role, prior_share, rooted_path,
                                       rule_filters, with_names)
from ..analysis.peers import shared_behaviour
from ..analysis.run_state import Analysis
from ..findings import Finding, Related
from ..model.fields import aliases
from ..model.predicate import IndicatorKey, could_overlap
from ..model.rule import NormalizedRule
from .base import Check, Option


def peers(rule: NormalizedRule, ctx: Analysis) -> list[NormalizedRule]:
    """Rules on the same log source about the same activity (`analysis.peers`)."""
    return [ctx.index.rules[key] for key in sorted(ctx.peer_keys(rule))]


@dataclass(slots=True)
class Suggestion:
    """One benign filter the rule lacks: its forms as peers write them with a full path,
    and the peers that apply it (in any form, a bare name too)."""

    signature: frozenset
    forms: dict[tuple[IndicatorKey, ...], Filter] = field(default_factory=dict)  # sturdy forms, by keys
    peers: dict[str, NormalizedRule] = field(default_factory=dict)
    share: float = 0.0  # the prior's benign evidence
    reason: str = ""

    @property
    def key(self) -> IndicatorKey:
        """The filter's leading program identity (its path, signer, hash), for reports."""
        f = self.first
        ids = [k for k in f.keys if field_role(k.field) == "identity"]
        return (ids or list(f.keys))[0]

    @property
    def first(self) -> Filter:
        return sorted(self.forms.values(), key=lambda f: (sum(len(k.value) for k in f.keys), f.keys))[0]

    def written_field(self) -> str:
        f = self.first
        i = f.keys.index(self.key) if self.key in f.keys else 0
        return f.written[i].field


def _positive_tests(rule: NormalizedRule) -> tuple[dict[str, list[IndicatorKey]], frozenset[str]]:
    """The rule's positive tests by field (a path also as its name), and the fields every
    AND-branch tests (pinned)."""
    by_field: dict[str, list[IndicatorKey]] = {}
    for k in rule.positive_keys():
        for kk in with_names(k):
            by_field.setdefault(kk.field, []).append(kk)
    pinned: set[str] | None = None
    for b in rule.branch_view()[0]:
        here: set[str] = set()
        for i in b.positive:
            for k in rule.predicates[i].keys()[:1]:
                here.update(kk.field for kk in with_names(k))
        pinned = here if pinned is None else pinned & here
    return by_field, frozenset(pinned or ())


def _fits(f: Filter, tests: dict[str, list[IndicatorKey]], pinned: frozenset[str]) -> bool:
    """Whether the filter could quiet this rule without undoing it: it tests something the
    rule does not already select on (a program of its own), and nothing the rule pins to
    values the filter cannot meet (excluding `\\\\chrome.exe` is moot for a rule on
    `\\\\anydesk.exe`; excluding the rule's own `\\\\rundll32.exe` undoes it)."""
    new_identity = False
    for k in f.keys:
        same = False
        for kk in with_names(k):
            own = tests.get(kk.field)
            if own:
                if any(could_overlap(o.op, o.value, kk.op, kk.value) for o in own):
                    same = True
                elif kk.field in pinned:
                    return False  # moot: the rule never sees that value
        if not same and field_role(k.field) == "identity":
            new_identity = True
    return new_identity


def _expressible(f: Filter, peer: NormalizedRule, rule: NormalizedRule) -> bool:
    """Whether the rule's language has the filter's fields: an Elastic signer test means
    nothing to a Sigma rule on Sysmon, which logs no signer for a process."""
    if peer.vendor == rule.vendor or rule.vendor == "elastic":
        return True
    return all(k.field != w.field or aliases(k.field) for k, w in zip(f.keys, f.written))


def _handled(f: Filter, excluded: dict[str, list[IndicatorKey]]) -> bool:
    """The rule already excludes something on one of the filter's fields that meets the
    filter's value (`contains ':\\\\program files\\\\'`, `!=*$`, or the program's bare name)."""
    for k in f.keys:
        for kk in with_names(k):
            if any(could_overlap(o.op, o.value, kk.op, kk.value) for o in excluded.get(kk.field, ())):
                return True
    return False


_FILTERS: dict[tuple[int, str, str], list[tuple[Filter, bool]]] = {}


def _peer_filters(peer: NormalizedRule, source: str, ctx: Analysis) -> list[tuple[Filter, bool]]:
    """The peer's filters that name a program or a value the prior knows (bare names
    too, which count for the program), each with whether it may be suggested as written:
    benign, with a full path, and accepted by RL103. Kept per rule: read by dozens of rules."""
    memo = (id(peer), peer.key, source)
    found = _FILTERS.get(memo)
    if found is None:
        from .rl103_bypassable_exclusion import BypassableExclusion, _options
        opts = _options(BypassableExclusion(), ctx)
        found = []
        for f in rule_filters(peer):
            if any(field_role(k.field) in ("outcome", "generic") for k in f.keys):
                continue
            ok = f.sturdy and benign_reason(f, source) is not None and not bypassable(f, opts, frozenset())
            if ok or any(field_role(k.field) == "identity" for k in f.keys):
                found.append((f, ok))
        if len(_FILTERS) > 50_000:
            _FILTERS.clear()
        _FILTERS[memo] = found
    return found


def suggestions(rule: NormalizedRule, ctx: Analysis) -> tuple[list[NormalizedRule], list[Suggestion], IndicatorKey | None]:
    """The rule's same-behaviour peers, the benign filters enough of them apply that the rule
    lacks (most peers first, then the prior's evidence), and the indicator the peers share."""
    if rule.kind != "rule" or rule.tree is None:
        return [], [], None
    from ..analysis.prior import shared_prior
    min_peers, min_share = ctx.option(MissingCommonExclusion, "min_peers"), ctx.option(MissingCommonExclusion, "min_share")
    keys = ctx.peer_keys(rule)
    excluding = sorted(keys & ctx.peer_sets(rule).excluding)
    if len(excluding) < min_peers:
        return [], [], None
    prior = shared_prior()
    source = prior.source_of(rule.logsource.category, tuple(s.event_type for s in rule.steps))
    tests, pinned = _positive_tests(rule)
    excluded: dict[str, list[IndicatorKey]] = {}
    for k in rule.excluded_keys():
        for kk in with_names(k):
            excluded.setdefault(kk.field, []).append(kk)
    # First the filters alone (cheap, cached per peer): most rules stop here.
    found: dict[frozenset, Suggestion] = {}
    for key in excluding:
        p = ctx.index.rules[key]
        if not getattr(p, "has_logic", False) or p.tree is None:
            continue
        for f, ok in _peer_filters(p, source, ctx):
            if not _fits(f, tests, pinned) or _handled(f, excluded) or not _expressible(f, p, rule):
                continue
            s = found.get(f.signature)
            if s is None:
                s = found[f.signature] = Suggestion(f.signature)
            s.peers[p.key] = p
            if ok and f.keys not in s.forms:
                s.forms[f.keys] = f
                s.share = max(s.share, prior_share(f, source))
    found = {sig: s for sig, s in found.items() if s.forms and len(s.peers) >= min_peers}
    if not found:
        return [], [], None
    # Then the peers that could match the rule's very events: those applying a filter
    # first (most rules stop here), then the rest, which only count toward the share.
    group: list[NormalizedRule] = []
    shared: dict[IndicatorKey, int] = {}
    behaving: dict[str, bool] = {}

    def judge(key: str) -> bool:
        if key not in behaving:
            p = ctx.index.rules[key]
            k = shared_behaviour(rule, p, ctx.common) if getattr(p, "has_logic", False) and p.tree is not None else None
            behaving[key] = k is not None
            if k is not None:
                group.append(p)
                shared[k] = shared.get(k, 0) + 1
        return behaving[key]

    for key in sorted({k for s in found.values() for k in s.peers}):
        judge(key)
    if not any(sum(behaving[k] for k in s.peers) >= min_peers for s in found.values()):
        return [], [], None
    for key in sorted(keys):
        judge(key)
    group.sort(key=lambda p: p.key)
    members = {p.key for p in group}
    need = max(min_peers, min_share * len(group))
    out = []
    for s in found.values():
        s.peers = {k: p for k, p in s.peers.items() if k in members}
        if len(s.peers) >= need:
            out.append(s)
    out.sort(key=lambda s: (-len(s.peers), -s.share, s.first.keys))
    top = min(shared.items(), key=lambda kv: (-kv[1], -len(kv[0].value), kv[0]))[0] if shared else None
    return group, out, top


def missing_exclusions(rule: NormalizedRule, ctx: Analysis) -> tuple[list[NormalizedRule], list[tuple[IndicatorKey, int]]]:
    """The rule's peers, and the benign filters enough of them apply that the rule lacks,
    each by its leading program identity with how many peers apply it (reports reuse it)."""
    group, found, _ = suggestions(rule, ctx)
    if not group and rule.kind == "rule" and rule.tree is not None:  # nothing to suggest: the peers still count
        group = [p for p in (ctx.index.rules[k] for k in sorted(ctx.peer_keys(rule)))
                 if getattr(p, "has_logic", False) and p.tree is not None and shared_behaviour(rule, p, ctx.common)]
    return group, [(s.key, len(s.peers)) for s in found]


def _written(f: Filter, known: str = "") -> str:
    """A filter as its peer wrote it (`Image` `C:\\...\\chrome.exe`), a field already named left out."""
    return " and ".join(("" if w.field == known and len(f.written) == 1 else f"`{w.field}` ")
                        + f"{'' if w.op == 'eq' else w.op + ' '}`{w.value}`" for w in f.written)


class MissingCommonExclusion(Check):
    code = "RL102"
    name = "missing-common-exclusion"
    severity = "warning"
    summary = "Peer rules of the same behaviour filter out benign software that this rule does not."
    what_it_does = (
        "Finds the rule's peers: rules on the same log source that could match the same events "
        "(on every field both test positively, some value meets both, and they share an activity "
        "field such as the image or the query, not merely a technique or an event id). Field names "
        "are compared through the canonical (ECS) map, and a path is also read as the program name "
        "it ends with. It then reads the peers' filters: each alternative of an exclusion (a NOT-ed "
        "subtree) kept whole with its AND-ed tests, and keeps only benign ones: those naming a program "
        "by what the attacker does not choose (a full path from the drive root outside user-writable "
        "folders, a signer, a hash), or values the prevalence prior knows as ordinary activity of the "
        "log source. It never suggests an exclusion of a user, SID, logon id or machine account on its "
        "own, of an outcome, status or event id, one that only drops empty values, one the rule's own "
        "selection already tests (excluding the program the rule detects undoes it; excluding "
        "`\\\\chrome.exe` is moot for a rule on `\\\\anydesk.exe`), nor one the rule already handles "
        "(an exclusion on the same field that meets it, `!=*$` or a bare name included). Peers writing "
        "a program by bare name count for it, but it is suggested only in the full-path form some peer "
        "writes, and only when RL103 would accept that form. Filters used by enough peers are ranked by "
        "how many peers apply them, then by the prior's evidence, and listed per field.")
    why_it_matters = (
        "Exclusions are what authors learned the hard way: browsers resolve remote-access domains, "
        "installers run from Program Files, agents spawn shells. A new rule without the filters "
        "its peers carry will fire on the same benign activity they already filter out. Only "
        "filters of software are worth copying: excluding SYSTEM or an outcome would blind the rule.")
    example = (
        "tags: [attack.t1219.002]\n"
        "logsource: {product: windows, category: dns_query}\n"
        "detection:\n"
        "  selection:\n"
        "    QueryName|endswith: '.rustdesk.com'\n"
        "  condition: selection")
    use_instead = (
        "tags: [attack.t1219.002]\n"
        "logsource: {product: windows, category: dns_query}\n"
        "detection:\n"
        "  selection:\n"
        "    QueryName|endswith: '.rustdesk.com'\n"
        "  filter_browsers:\n"
        "    Image:\n"
        "      - 'C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe'\n"
        "      - 'C:\\\\Program Files\\\\Mozilla Firefox\\\\firefox.exe'\n"
        "      - 'C:\\\\Program Files (x86)\\\\Microsoft\\\\Edge\\\\Application\\\\msedge.exe'\n"
        "  condition: selection and not filter_browsers")
    options = (
        Option("min_peers", 2, "the fewest peers applying a filter for it to be reported (and the fewest peers to judge at all)"),
        Option("min_share", 0.5, "the smallest share of the peers that must apply a filter"),
        Option("max_listed", 5, "how many missing filters the message names"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        group, found, top = suggestions(rule, ctx)
        if not found:
            return
        shown = found[: ctx.option(self, "max_listed")]
        lead = shown[0]
        lead_field = lead.written_field()
        same_field = [s for s in found if s.written_field() == lead_field]
        others = len(same_field) - 1
        by_field: dict[str, list[Suggestion]] = {}
        for s in shown:
            by_field.setdefault(s.written_field(), []).append(s)
        parts = []
        for fname, items in by_field.items():
            vals = []
            for s in items:
                forms = sorted(s.forms.values(), key=lambda f: (sum(len(k.value) for k in f.keys), f.keys))
                extra = f" (or {len(forms) - 1} other form{'s' if len(forms) > 2 else ''})" if len(forms) > 1 else ""
                evidence = f"{len(s.peers)} peers" + (", benign per the prior" if s.share else "")
                vals.append(f"{_written(forms[0], fname)}{extra} ({evidence})")
            single = all(len(s.first.keys) == 1 for s in items)
            parts.append((f"`{fname}` " if single else "") + ", ".join(vals))
        matching = f" that match the same {rule.written(top).display()} events" if top is not None else ""
        more_here = f" (and {others} more on this field)" if others else ""
        rest = len(found) - len(shown)
        more = f"; and {rest} more" if rest > 0 else ""
        msg = (f"{len(lead.peers)} of {len(group)} peer rules on {rule.logsource.key()}{matching} exclude "
               f"{_written(lead.first)}{more_here}, benign software this rule lacks a filter for: "
               f"{'; '.join(parts)}{more}.")
        related_rules: dict[str, NormalizedRule] = {}
        for s in shown:
            for p in s.peers.values():
                related_rules.setdefault(p.key, p)
        f = self.finding(
            rule, msg, rule.logic_line or rule.line,
            peers=len(group),
            missing=[{"field": s.key.field, "op": s.key.op, "value": s.key.value, "peers": len(s.peers),
                      "filters": [[{"field": w.field, "op": w.op, "value": w.value} for w in form.written]
                                  for form in sorted(s.forms.values(), key=lambda f: f.keys)]}
                     for s in found],
        )
        f.related = [Related(p.path, p.logic_line or p.line,
                             f"peer rule {p.title!r} excludes it" if p.title else "reference rule excludes it")
                     for p in list(related_rules.values())[:10]]
        yield f
