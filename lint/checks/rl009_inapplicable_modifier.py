"""RL009 inapplicable-modifier: a Sigma modifier that changes nothing of its values."""

from __future__ import annotations

from typing import Iterator

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check


class InapplicableModifier(Check):
    code = "RL009"
    name = "inapplicable-modifier"
    severity = "warning"
    scope = "rule"
    summary = "A Sigma value modifier that cannot apply to its values, so it changes nothing."
    what_it_does = (
        "Reports, on the key line, a Sigma modifier that leaves its values as they are: `|windash` "
        "where no value has a `-` or `/` starting a word (`'start/b'` is not rewritten), `|expand` "
        "where no value holds a `%placeholder%`, `|all` on a single value, and two position modifiers "
        "together (`|startswith|endswith` puts a wildcard at both ends: it is `|contains`). What pySigma "
        "already refuses while loading is a `parse-error` (`|cidr` on a value that is no network, "
        "`|re` with an invalid expression, `|gt` on text); what its `invalid_modifier_combinations` "
        "validator reports is `sigma-modifier-combination` (`|base64offset` without `|contains`, "
        "`|windash` with `|all`), and `|all` without `|contains` on a field holding one value per "
        "event is `contradictory-logic`.")
    why_it_matters = (
        "A modifier that does nothing tells the reader the rule covers more than it does: the author "
        "of `CommandLine|contains|windash: 'start/b'` believes `start -b` is caught too, and it is "
        "not. Conflicting modifiers mean the author wanted one of them and the backend picked another.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "    CommandLine|contains|windash: 'start/b'   # '/' follows a letter: nothing to rewrite\n"
        "  condition: selection")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "    CommandLine|contains|windash: 'start /b'\n"
        "  condition: selection")

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if rule.vendor != "sigma":
            return
        for line, written, modifier, why in rule.extra.get("modifier_notes", ()):
            yield self.finding(rule, f"The modifier `{modifier}` of `{written}` does nothing: {why}.", line,
                               field=written.split("|")[0], modifier=modifier)
