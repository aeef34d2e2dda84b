"""RL008 wildcard-instead-of-modifier: `'*\\cmd.exe'` where `|endswith` says it."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check

_SHAPE = {"contains": "at both ends", "endswith": "at the start", "startswith": "at the end"}


class WildcardInsteadOfModifier(Check):
    code = "RL008"
    name = "wildcard-instead-of-modifier"
    severity = "info"
    scope = "rule"
    summary = "A Sigma value with `*` at its edge where `|contains`, `|startswith` or `|endswith` says the same."
    what_it_does = (
        "Reports a Sigma field whose values all carry a `*` at the same edge and no other wildcard "
        "(`'*\\\\cmd.exe'`, `'*-enc *'`, `'C:\\\\Temp\\\\*'`) and that has no position modifier yet, "
        "on its key line, naming the modifier that says the same: `|endswith` for a leading `*`, "
        "`|startswith` for a trailing one, `|contains` for both. Values after `|re`, `|cidr`, an "
        "encoding or a comparison modifier, keywords, a lone `*`, and fields whose values mix "
        "shapes are left alone. pySigma's validator `wildcards_instead_of_modifiers` is this check.")
    why_it_matters = (
        "SigmaHQ's style asks for modifiers: they say what the author means, every backend converts "
        "them the same way, and a reviewer sees `|endswith` where a `*` is easy to miss or to drop "
        "when a value is copied. A value written with wildcards also escapes differently (`*` and "
        "`?` in the value itself need escaping once the wildcard is meant).")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image: '*\\\\certutil.exe'\n"
        "    CommandLine:\n"
        "      - '*-urlcache*'\n"
        "      - '*/urlcache*'\n"
        "  condition: selection")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\certutil.exe'\n"
        "    CommandLine|contains:\n"
        "      - '-urlcache'\n"
        "      - '/urlcache'\n"
        "  condition: selection")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if rule.vendor != "sigma":
            return
        for line, written, modifier, first in rule.extra.get("wildcard_notes", ()):
            field = written.split("|")[0]
            yield self.finding(
                rule, f"`{written}` values such as '{first}' carry `*` {_SHAPE[modifier]} only: write "
                      f"`{written}|{modifier}` with the value without it.", line,
                field=field, modifier=modifier)
