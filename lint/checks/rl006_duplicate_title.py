"""RL006 duplicate-title: two rules of one vendor in the corpus carry the same title."""

from __future__ import annotations

from typing import Iterator

from ..analysis.duplicates import is_deprecated, key_line, where
from ..analysis.run_state import Analysis
from ..findings import Finding, Related
from ..model.rule import NormalizedRule
from .base import Check

_TITLE_NAME = {"sigma": "title", "elastic": "`rule.name`", "splunk": "`name`"}


class DuplicateTitle(Check):
    code = "RL006"
    name = "duplicate-title"
    severity = "warning"
    summary = "Another rule of the same vendor in the corpus carries the same title."
    what_it_does = (
        "Compares every rule's title (Sigma `title`, Elastic `rule.name`, Splunk `name`) with the "
        "titles of the other rules of the same vendor in the corpus the run reads, without case and "
        "with any run of spaces as one, and reports each rule whose title another rule also carries, "
        "naming the other file and the line of its title. A deprecated rule (Sigma or Splunk "
        "`status: deprecated`, Elastic `maturity = \"deprecated\"`) sharing the title of the rule that "
        "replaced it is not reported: that is how retired rules are kept. Rules of the reference index "
        "do not count.")
    why_it_matters = (
        "The title is what an analyst sees in the alert queue and what a reviewer searches for. Two "
        "rules with one title make alerts ambiguous (which logic fired?) and are usually a copy whose "
        "title was not changed, or two authors writing the same rule twice. SigmaHQ's own tests refuse "
        "duplicate titles.")
    example = (
        "# sigma/.../proc_creation_win_certutil_decode.yml   (the older rule)\n"
        "title: Certutil Decode\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: ' -decode '\n"
        "  condition: selection\n"
        "# sigma/.../proc_creation_win_certutil_encode.yml   (copied from it: the title was not changed)\n"
        "title: Certutil  decode\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: ' -encode '\n"
        "  condition: selection")
    use_instead = (
        "title: Certutil Encode\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains: ' -encode '\n"
        "  condition: selection")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        keys = ctx.duplicates().same_title(rule)
        if not keys or is_deprecated(rule):
            return
        others = sorted((ctx.index.rules[k] for k in keys), key=lambda o: (o.path, o.line or 0))
        others = [o for o in others if not is_deprecated(o)]
        if not others:
            return
        places = [where(o, "title") for o in others]
        shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        label = _TITLE_NAME.get(rule.vendor, "title")
        f = self.finding(rule, f"The rule's {label} '{rule.title}' is also the title of {shown}: "
                               f"name what this rule detects differently.",
                         key_line(rule, "title"), duplicates=places)
        f.related = [Related(o.path, key_line(o, "title"), "the same title") for o in others]
        yield f
