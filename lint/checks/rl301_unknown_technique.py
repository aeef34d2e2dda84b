"""RL301 unknown-technique: ATT&CK ids that do not exist, or that ATT&CK revoked or deprecated."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..model.attack import VERSION, attack
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option
from .tag_lines import tag_line


class UnknownTechnique(Check):
    code = "RL301"
    name = "unknown-technique"
    severity = "error"
    scope = "rule"
    summary = "An ATT&CK technique id that does not exist (error), or that ATT&CK revoked or deprecated (warning)."
    what_it_does = (f"Looks up every technique id the rule carries (Sigma `attack.tNNNN` tags, Elastic "
        f"`[[rule.threat]]` techniques and sub-techniques, Splunk `mitre_attack_id`) in the ATT&CK "
        f"Enterprise data shipped with rulelint (release v{VERSION}, generated from MITRE's STIX bundle "
        f"by `tools/gen_attack.py`; nothing is fetched at run time). An id the release does not hold is "
        f"an error; a revoked id is a warning naming the technique that replaced it; a deprecated id is "
        f"a warning. Ids numbered past the release's last technique (or past the last sub-technique "
        f"of their parent) may come from a later ATT&CK release and are not reported.")
    why_it_matters = (
        "Coverage maps, ATT&CK Navigator layers and technique reports are built from these tags. A "
        "typo (`T1059.01`, `T1509`) or a revoked id silently drops the rule from the technique it "
        "covers, and a reader who follows the id lands on the wrong page.")
    example = (
        "tags:\n"
        "  - attack.execution\n"
        "  - attack.t1086   # PowerShell, revoked: now T1059.001")
    use_instead = (
        "tags:\n"
        "  - attack.execution\n"
        "  - attack.t1059.001")
    options = (
        Option("deprecated", True, "also report deprecated techniques (they have no replacement)"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        data = attack()
        flag_deprecated = ctx.option(self, "deprecated")
        for tid in rule.techniques:
            t = data.technique(tid)
            if t is None:
                # A later release may have added it: say nothing rather than call it wrong.
                if data.maybe_newer(tid):
                    continue
                parent = data.technique(tid.split(".")[0]) if "." in tid else None
                hint = (f"; {parent.label()} exists, check the sub-technique number" if parent
                        else "; look the id up on attack.mitre.org")
                yield self.finding(rule, f"Technique {tid} is not in ATT&CK Enterprise v{data.version}{hint}.",
                                    tag_line(rule, tid), technique=tid, status="unknown")
            elif t.revoked:
                new = data.technique(t.replaced_by) if t.replaced_by else None
                use = f"; use {new.label()} instead" if new else "; ATT&CK names no replacement"
                f = self.finding(rule, f"Technique {t.label()} was revoked in ATT&CK{use}.",
                                  tag_line(rule, tid), technique=tid, status="revoked",
                                  replaced_by=t.replaced_by)
                f.severity = "warning"
                yield f
            elif t.deprecated and flag_deprecated:
                f = self.finding(rule, f"Technique {t.label()} is deprecated in ATT&CK v{data.version} and has no "
                                        f"replacement; tag the technique the rule actually detects.",
                                  tag_line(rule, tid), technique=tid, status="deprecated")
                f.severity = "warning"
                yield f
