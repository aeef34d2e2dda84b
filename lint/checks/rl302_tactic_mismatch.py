"""RL302 tactic-mismatch: a tactic the rule claims that none of its techniques belongs to."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..model.attack import VERSION, Attack, attack
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check
from .tag_lines import tag_line


# ATT&CK v19 split Defense Evasion and re-filed its techniques; the bundled release predates
# that, so a former Defense Evasion technique may now sit under these too (SigmaHQ, on v19,
# tags Execution on every rule with T1574 Hijack Execution Flow, T1127 or T1197).
SPLIT_TACTIC = "defense-evasion"
REFILED_UNDER = ("execution",)


def _placed(data: Attack, tid: str) -> str:
    """`T1059.001 Command and Scripting Interpreter: PowerShell (execution)`."""
    t = data.technique(tid)
    return f"{t.label()} ({', '.join(data.tactics_of(tid)) or 'no tactic'})" if t else tid


def _judgeable(data: Attack, ids: list[str] | tuple[str, ...]) -> bool:
    """Every technique is in the bundled release (an id from a later one may sit elsewhere)."""
    return bool(ids) and all(data.technique(t) is not None for t in ids)


def _threat_entries(check: Check, rule: NormalizedRule, data: Attack) -> Iterator[Finding]:
    """Elastic: each `[[rule.threat]]` entry files techniques under one tactic."""
    for tactic_id, tactic_name, ids in rule.extra.get("threat") or ():
        tactic = data.tactic(tactic_id) if tactic_id else None
        tactic = tactic or (data.tactic(tactic_name) if tactic_name else None)
        if tactic is None or not ids:
            continue
        wrong = [t for t in ids if data.technique(t) is not None and tactic not in data.tactics_of(t)]
        # A sub-technique whose parent is listed right beside it counts once.
        wrong = [t for t in wrong if "." not in t or t.split(".")[0] not in wrong]
        if not wrong:
            continue
        shown = "; ".join(_placed(data, t) for t in wrong)
        label = f"{tactic_id} {tactic_name}".strip()
        yield check.finding(
            rule, f"The threat entry for tactic {label} lists {shown}, which ATT&CK v{data.version} does not "
                  f"place under {tactic}; move it to the entry of its own tactic.",
            tag_line(rule, wrong[0]), tactic=tactic, techniques=wrong)


class TacticMismatch(Check):
    code = "RL302"
    name = "tactic-mismatch"
    severity = "warning"
    scope = "rule"
    summary = "A tactic tag that none of the rule's techniques belongs to."
    what_it_does = (f"Compares the rule's tactics with the tactics its techniques sit under in the bundled ATT&CK "
        f"Enterprise data (v{VERSION}). For Sigma (and any rule with tactic tags), a tactic that no tagged "
        f"technique belongs to is reported. For Elastic, each `[[rule.threat]]` entry is judged on its "
        f"own: a technique listed under a tactic ATT&CK does not place it under is reported. Tactic names "
        f"are compared by shortname (`defense_evasion`, `Defense Evasion` and `TA0005` are one tactic). "
        f"Tactics of a later ATT&CK release (v19's `stealth` and `defense-impairment`, split from "
        f"Defense Evasion) are judged as the tactic they refine. A rule with a technique the bundled "
        f"release does not hold is not judged.")
    why_it_matters = (
        "Coverage per tactic (the columns of an ATT&CK matrix) is counted from these tags. A rule that "
        "claims Credential Access while detecting only a PowerShell execution inflates one column and "
        "leaves the right one looking uncovered; in Elastic, a technique filed under the wrong tactic "
        "also shows up in the wrong place of every threat report built from the rule.")
    example = (
        "tags:\n"
        "  - attack.credential-access\n"
        "  - attack.t1059.001")
    use_instead = (
        "tags:\n"
        "  - attack.execution\n"
        "  - attack.t1059.001")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        data = attack()
        if rule.extra.get("threat"):
            yield from _threat_entries(self, rule, data)
            return
        if not rule.tactics or not _judgeable(data, rule.techniques):
            return
        covered: set[str] = set()
        for tid in rule.techniques:
            covered.update(data.tactics_of(tid))
            if SPLIT_TACTIC in data.tactics_of(tid):
                covered.update(REFILED_UNDER)
        for written in rule.tactics:
            tactic = data.tactic(written)
            if tactic is None or tactic in covered:
                continue
            later = f" (which ATT&CK v{data.version} files under {tactic})" if data.is_later_tactic(written) else ""
            shown = "; ".join(_placed(data, t) for t in rule.techniques)
            yield self.finding(
                rule, f"Tactic {written}{later} is tagged but none of the rule's techniques belongs to it: {shown}; "
                      f"add the technique that achieves it or drop the tactic.",
                tag_line(rule, written), tactic=tactic, written=written, techniques=list(rule.techniques))
