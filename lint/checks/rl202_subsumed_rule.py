"""RL202 subsumed-rule: every event the rule matches, a broader rule of the corpus matches too."""

from __future__ import annotations

from typing import Iterator

from ..analysis.implication import Atom
from ..analysis.logic_text import describe_atoms, rule_label
from ..analysis.logic_view import BranchView, is_logsource_atom
from ..analysis.overlap import Subsumer, anchor_keys, covers_all
from ..findings import Finding
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Option
from .overlap_check import OverlapCheck


def _specific(atoms: frozenset[Atom], owner: str, ctx: Analysis) -> bool:
    """The branch holds an indicator the corpus does not show everywhere."""
    return any(not a.opaque and not is_logsource_atom(a) and a.op not in ("exists", "is_null")
               and not any(ctx.common.is_common(k, owner) for k in anchor_keys(a))
               for a in atoms)


def _counts(s: Subsumer, ctx: Analysis, skip_common: bool) -> bool:
    if not skip_common:
        return True
    broad = ctx.logic_view(ctx.index.rules[s.key]).merged()
    return all(_specific(broad[j].atoms, s.key, ctx) for _, j in s.pairs)


def _narrowing(rule: NormalizedRule, mine: BranchView, theirs: BranchView, alternatives: int) -> str:
    """What this rule's branch adds to the broader one's, in words."""
    extra = [a for a in mine.atoms if a not in theirs.atoms and not is_logsource_atom(a)]
    sigs = theirs.exclusion_sigs()
    excl = sum(1 for x in mine.exclusions if x.sig not in sigs)
    parts = []
    if extra:
        parts.append(describe_atoms(extra, 2, evidence=()))
    if excl:
        parts.append("an exclusion" if excl == 1 else f"{excl} exclusions")
    if parts:
        return "where this rule adds " + " and ".join(parts)
    if alternatives:
        return f"where this rule leaves out {alternatives} of its alternatives"
    if not covers_all(rule):
        return "where this rule tests nothing more before its `stats` aggregation"
    return "where this rule's values are narrower"


class SubsumedRule(OverlapCheck):
    code = "RL202"
    name = "subsumed-rule"
    severity = "info"
    summary = "A broader rule of the corpus matches every event this rule matches."
    what_it_does = (
        "Compares the rule with the rules that share an indicator and read the same kind of event. "
        "The rule is subsumed by a broader one when each of its AND-branches implies an AND-branch "
        "of the other: every test of that branch is implied by one of this rule's tests, with "
        "operator semantics (`contains 'apt'` covers `contains 'apt-get'`, `ends_with '\\\\x.exe'` "
        "covers `eq 'C:\\\\...\\\\x.exe'`, a value list covers a shorter one, a case-insensitive "
        "test covers a case-sensitive one, `exists` covers any test of the field), and the broader "
        "branch's exclusions remove nothing this rule keeps (this rule excludes the same, or "
        "cannot meet it). A broader rule whose branch holds only indicators common across the "
        "corpus (`\\\\cmd.exe` alone) does not count by default. Rules deciding beyond their query "
        "(threshold, new terms), sequences, aggregations and deprecated rules are not compared.")
    why_it_matters = (
        "Whatever this rule alerts on, the broader rule already alerted on: the narrower rule adds "
        "triage load but no detection. Often it is deliberate, a high-severity specialization of a "
        "hunting rule, so this is information to review rather than a defect; hence the `info` "
        "severity.")
    example = (
        "# the broader rule:   CommandLine|contains: 'apt'\n"
        "logsource: {product: linux, category: process_creation}\n"
        "detection:\n"
        "  selection:\n"
        "    CommandLine|contains: 'apt-get install'\n"
        "  condition: selection")
    use_instead = (
        "Drop the narrower rule, or raise the broader rule's precision so the two stop overlapping, "
        "or keep both on purpose and suppress this finding with a reason.")
    options = (
        Option("skip_common_broader", True,
               "ignore broader rules whose matching branch holds only indicators common in the corpus"),
        Option("max_related", 10, "how many broader rules are listed as related locations"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        found = ctx.overlap_of(rule).subsumed.get(rule.key)
        if not found:
            return
        skip_common = ctx.option(self, "skip_common_broader")
        subsumers = [s for s in found if _counts(s, ctx, skip_common)]
        if not subsumers:
            return
        first = subsumers[0]
        broad_rule = ctx.index.rules[first.key]
        mine, theirs = ctx.logic_view(rule).merged(), ctx.logic_view(broad_rule).merged()
        i, j = first.pairs[0]
        also = f" (and {len(subsumers) - 1} more rules)" if len(subsumers) > 1 else ""
        used = {j for _, j in first.pairs}
        msg = (f"Every event it matches also matches {rule_label(broad_rule)}{also}, which requires only "
               f"{describe_atoms(theirs[j].atoms, evidence=mine[i].atoms)}, "
               f"{_narrowing(rule, mine[i], theirs[j], len(theirs) - len(used))}.")
        others = [ctx.index.rules[s.key] for s in subsumers]
        yield self.overlap_finding(rule, ctx, msg, others, "broader", "broader rule")
