"""RL204 dead-branch: an OR-alternative that never matches, or that the rest of the rule covers."""

from __future__ import annotations

from typing import Iterator

from ..analysis.dead_logic import describe_contradiction, line_of
from ..analysis.implication import Atom
from ..analysis.logic_text import describe_atoms
from ..analysis.logic_view import LogicView
from ..findings import Finding
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option


def _alt_atoms(view: LogicView, leaves) -> list[Atom]:
    return [view.atoms[i] for i in sorted(leaves)]


class DeadBranch(Check):
    code = "RL204"
    name = "dead-branch"
    severity = "warning"
    summary = "An OR-alternative of the rule never matches, or matches nothing the rest of the rule does not."
    what_it_does = (
        "Expands the rule into its AND-branches and judges each alternative of an OR as written "
        "(a Sigma selection in `1 of`, a value of a list, an `or` operand of a query). An "
        "alternative is dead when every branch through it contradicts itself (the tests of "
        "`contradictory-logic`) while the rule as a whole can still match. It is redundant when "
        "every branch through it is implied by a branch that does not take it, with operator "
        "semantics (`Image|endswith: '\\\\cmd.exe'` covers `Image|endswith: '\\\\cmd.exe'` with "
        "`CommandLine|contains: '/c'`; `contains 'apt'` covers `contains 'apt-get'`); of two "
        "equal alternatives the later is reported. A combination that only the expansion creates "
        "(`(A or B) and (C or D)` gives `B and C`) is never reported alone: each written "
        "alternative that still matches another way is alive. Rules with more than 128 branches "
        "are not compared pairwise.")
    why_it_matters = (
        "A dead or covered alternative is logic a reviewer reads and trusts but that changes "
        "nothing: often a mistake (a selection meant to be ANDed, a value meant for another "
        "field) and always noise that hides what the rule really tests.")
    example = (
        "detection:\n"
        "  selection_img:\n"
        "    Image|endswith: '\\\\rundll32.exe'\n"
        "  selection_cli:\n"
        "    Image|endswith: '\\\\rundll32.exe'\n"
        "    CommandLine|contains: 'javascript:'\n"
        "  condition: 1 of selection_*")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\rundll32.exe'\n"
        "    CommandLine|contains: 'javascript:'\n"
        "  condition: selection")
    options = (
        Option("max_per_rule", 3, "report at most this many alternatives of one rule"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        dead = ctx.dead_logic_of(rule)
        if dead is None or dead.never_matches:  # a rule dead as a whole is contradictory-logic's finding
            return
        if not dead.dead and not dead.redundant:  # most rules: no need to build their view
            return
        view = ctx.logic_view(rule)
        out: list[tuple[int | None, str, dict]] = []
        for d in dead.dead:
            what = describe_atoms(_alt_atoms(view, d.alt.leaves)) if d.alt.leaves else "only exclusions"
            out.append((line_of(rule, d.alt.leaves), f"The OR-alternative requiring {what} can never match: "
                        f"{describe_contradiction(rule, view, d.contradiction, 'with the rest of the rule it')}.",
                        {"kind": d.contradiction.kind}))
        for r in dead.redundant:
            mine, theirs = view.branches[r.branch], view.branches[r.by]
            what = describe_atoms(_alt_atoms(view, r.alt.leaves)) if r.alt.leaves else "only exclusions"
            if r.same:
                why = "another alternative tests the same"
            elif r.sibling is not None and r.sibling.leaves:
                sib = _alt_atoms(view, r.sibling.leaves)
                outside = mine.atoms - set(_alt_atoms(view, r.alt.leaves))  # what the rest of the rule requires
                anyway = ", and the rule requires that anyway" if set(sib) <= outside else ""
                why = (f"the alternative requiring {describe_atoms(sib, evidence=mine.atoms)} already matches "
                       f"every event it matches{anyway}")
            else:
                extra = theirs.atoms - mine.atoms
                why = (f"the alternative requiring {describe_atoms(extra, evidence=mine.atoms)} instead already "
                       f"matches every event it matches"
                       if extra else "the rest of the rule already matches every event it matches without it")
            out.append((line_of(rule, r.alt.leaves), f"The OR-alternative requiring {what} adds nothing: {why}.",
                        {"kind": "repeated" if r.same else "covered"}))
        out = sorted({o[1]: o for o in out}.values(), key=lambda o: (o[0] or 0, o[1]))  # one per message
        for line, msg, data in out[: ctx.option(self, "max_per_rule")]:
            yield self.finding(rule, msg, line, **data)
