"""RL203 contradictory-logic: every AND-branch of the rule contradicts itself, so it never matches."""

from __future__ import annotations

from typing import Iterator

from ..analysis.dead_logic import describe_contradiction, line_of
from ..findings import Finding
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check


class ContradictoryLogic(Check):
    code = "RL203"
    name = "contradictory-logic"
    severity = "error"
    summary = "No event can satisfy the rule's logic: every AND-branch contradicts itself."
    what_it_does = (
        "Expands the rule into its AND-branches and looks in each for two tests no single event "
        "passes together, or for a test the branch selects that implies one it excludes. Two tests "
        "of one field contradict when no value passes both (`eq 'a.exe'` and `eq 'b.exe'`, "
        "`starts_with 'C:\\\\Windows\\\\'` and `eq 'D:\\\\x.exe'`, `gt 10` and `lt 5`, a missing "
        "field and a value), with case folding where a test ignores case; this is judged only on "
        "fields that hold one value per event. Array fields such as Elastic's `process.args` or "
        "`event.type` may equal two values at once, so they never contradict. The fields treated "
        "as single-valued are listed in `rulelint.analysis.implication`: the ECS process, file, "
        "registry, network and identity fields (`process.name`, `process.executable`, "
        "`process.command_line`, `file.path`, `registry.path`, `destination.ip`, `user.name`, "
        "`event.code`, ...) and Windows event fields that keep their own name "
        "(`EventID`, `LogonType`, `TargetObject`, ...). Steps of an EQL sequence are separate "
        "events and never contradict each other. When only some branches are dead the finding is "
        "`dead-branch` instead.")
    why_it_matters = (
        "A rule that can never match is a silent gap: it passes review and deployment, and its "
        "technique looks covered while nothing will ever alert. It is usually a typo: `and` meant "
        "`or`, a filter copied over the selection.")
    example = (
        "detection:\n"
        "  selection_img:\n"
        "    Image|endswith: '\\\\wscript.exe'\n"
        "  selection_other:\n"
        "    Image|endswith: '\\\\cscript.exe'\n"
        "  condition: selection_img and selection_other")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith:\n"
        "      - '\\\\wscript.exe'\n"
        "      - '\\\\cscript.exe'\n"
        "  condition: selection")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        dead = ctx.dead_logic_of(rule)
        if dead is None or not dead.never_matches:
            return
        c = dead.contradictions[0]
        view = ctx.logic_view(rule)
        if dead.total == 1:
            msg = f"No event can match this rule: {describe_contradiction(rule, view, c)}."
        else:
            msg = (f"No event can match any of this rule's {dead.total} AND-branches: "
                   f"{describe_contradiction(rule, view, c, 'the first')}.")
        line = line_of(rule, view.branches[0].preds)
        yield self.finding(rule, msg, line, branches=dead.total,
                            tests=[c.selected.field, c.other.field], kind=c.kind)
