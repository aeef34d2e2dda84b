"""RL005 duplicate-id: two rules of the corpus carry the same id."""

from __future__ import annotations

from typing import Iterator

from ..analysis.duplicates import key_line, where
from ..analysis.run_state import Analysis
from ..findings import Finding, Related
from ..model.rule import NormalizedRule
from .base import Check, Option

_ID_NAME = {"sigma": "`id`", "elastic": "`rule_id`", "splunk": "`id`"}


class DuplicateId(Check):
    code = "RL005"
    name = "duplicate-id"
    severity = "error"
    summary = "Another rule of the corpus carries the same id."
    what_it_does = (
        "Compares every rule's id (Sigma `id`, Elastic `rule.rule_id`, Splunk `id`; without case or "
        "surrounding space) with the ids of every other rule of the corpus the run reads, and reports "
        "each rule whose id another rule also carries, naming the other file and the line of its id. "
        "Over a whole corpus both rules of a pair are reported and both are judged. A `--target` (or "
        "pre-commit) rule takes the place of the corpus rule with its id, so it is never its own peer; "
        "when that rule lives in a file of another name, the target is a copy whose id was not changed "
        "and is reported with the original's file and line. "
        "Rules of different vendors are compared only with `cross_vendor` (an Elastic rule ported from "
        "Sigma may keep the Sigma rule's UUID on purpose). Rules of the reference index do not count.")
    why_it_matters = (
        "An id is how tools name a rule: correlations and filters reference it, SIEMs deploy and update "
        "by it, alerts carry it, and rulelint judges an edited file against the corpus by it. A rule "
        "copied to start a new one and whose id was not changed overwrites or hides the original when "
        "deployed, and every reference to the id now means two rules. SigmaHQ's own tests refuse "
        "duplicate ids.")
    example = (
        "# sigma/.../proc_creation_win_certutil_decode.yml   (the older rule)\n"
        "title: Certutil Decode\n"
        "id: 5b0a6c4e-7a43-4d6e-9d39-2a8f3c7b1d10\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: ' -decode '\n"
        "  condition: selection\n"
        "# sigma/.../proc_creation_win_certutil_encode.yml   (copied from it: the id was not changed)\n"
        "title: Certutil Encode\n"
        "id: 5b0a6c4e-7a43-4d6e-9d39-2a8f3c7b1d10\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: ' -encode '\n"
        "  condition: selection")
    use_instead = (
        "title: Certutil Encode\n"
        "id: 0f3d1c52-86a1-4f0e-b7a5-6c3e9e2d4a77   # a fresh UUID (python -c 'import uuid; print(uuid.uuid4())')\n"
        "logsource:\n"
        "  category: process_creation\n"
        "  product: windows\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: ' -encode '\n"
        "  condition: selection")
    options = (
        Option("cross_vendor", False, "also report a Sigma, Elastic or Splunk rule sharing its id with a rule of "
                                       "another vendor"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if not rule.id:
            return
        others = [ctx.index.rules[k] for k in ctx.duplicates().same_id(rule)] + ctx.copies.get(rule.key, [])
        if not ctx.option(self, "cross_vendor"):
            others = [o for o in others if o.vendor == rule.vendor]
        if not others:
            return
        others.sort(key=lambda o: (o.path, o.line or 0))
        places = [where(o, "id") for o in others]
        shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        label = _ID_NAME.get(rule.vendor, "`id`")
        f = self.finding(
            rule, f"The rule's {label} {rule.id} is also the id of {shown}: give one of them a new id.",
            key_line(rule, "id"), duplicates=places)
        f.related = [Related(o.path, key_line(o, "id"), f"the same id: {o.title or o.key}") for o in others]
        yield f
