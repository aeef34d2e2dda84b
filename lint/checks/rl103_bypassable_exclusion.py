"""RL103 bypassable-exclusion: exclusions an attacker meets at will (a name, a command-line
substring, a user-writable folder)."""

from __future__ import annotations

from typing import Iterator

from ..analysis.exclusions import (DEFAULT_COMMAND_FIELDS, DEFAULT_NAME_FIELDS, DEFAULT_PATH_FIELDS,
                                   DEFAULT_WRITABLE, ExclusionOptions, exclusion_weaknesses, has_candidates,
                                   pinned_fields, weak_values)
from ..findings import Finding
from ..model.predicate import plural
from ..model.rule import NormalizedRule
from ..analysis.run_state import Analysis
from .base import Check, Option

# What an exclusion should rest on instead.
STURDY = ("what the attacker does not choose: a full path from the drive root under a protected folder "
          "(eq, or starts_with 'C:\\Program Files\\'), a signer or a hash")
STURDY_COMMAND = "the program's full path or signer beside the command-line test"


def _options(check: Check, ctx: Analysis) -> ExclusionOptions:
    def build() -> ExclusionOptions:
        return ExclusionOptions(
            command_fields=tuple(ctx.option(check, "command_fields")),
            name_fields=tuple(ctx.option(check, "name_fields")),
            path_fields=tuple(ctx.option(check, "path_fields")),
            writable=tuple(v.lower() for v in ctx.option(check, "writable_folders")))
    return ctx.exclusion_options(build)


class BypassableExclusion(Check):
    code = "RL103"
    name = "bypassable-exclusion"
    severity = "warning"
    scope = "rule"
    summary = "An exclusion that an attacker can meet on purpose: a bare name, a command-line substring, a user-writable folder."
    what_it_does = (
        "Looks at every exclusion (predicates under a NOT, such as Sigma's `filter_*` in "
        "`selection and not filter`) and expands it into its alternatives. An alternative is "
        "reported when every predicate in it can be met by whoever starts the process (a predicate "
        "is met through any one of its values): "
        "a process or parent name without a path (`Image|endswith: '\\\\teams.exe'`, "
        "`process.parent.name`), text inside the command line (`contains`, a leading wildcard, an "
        "`ends_with`) or an argument, a path suffix without a drive (`contains '\\\\Program Files\\\\'` "
        "also matches `C:\\\\Users\\\\me\\\\Program Files\\\\`), or a folder unprivileged users can "
        "write to (`\\\\AppData\\\\`, `\\\\Temp\\\\`, `C:\\\\ProgramData\\\\`, `/tmp/`). An alternative "
        "with one sturdy predicate (a full path under a protected folder, a signer, a hash, a user, a "
        "whole command line) is not reported, nor is a name or path on a field the rule's own "
        "selection pins (renaming would escape the selection too), nor a name in a rule about "
        "renamed binaries (one titled so, or selecting on the original file name or a hash).")
    why_it_matters = (
        "An exclusion is an allow-list. If it allows by name, a renamed or copied binary walks "
        "through it; if it allows by a command-line substring, the attacker appends that substring; "
        "if it allows a folder users write to, the attacker drops the tool there. Each is a known, "
        "cheap bypass of a rule that otherwise catches the behaviour.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    QueryName|endswith: '.anydesk.com'\n"
        "  filter_browsers:\n"
        "    Image|endswith: '\\\\chrome.exe'\n"
        "  condition: selection and not filter_browsers")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    QueryName|endswith: '.anydesk.com'\n"
        "  filter_browsers:\n"
        "    Image:\n"
        "      - 'C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe'\n"
        "      - 'C:\\\\Program Files (x86)\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe'\n"
        "  condition: selection and not filter_browsers")
    options = (
        Option("command_fields", list(DEFAULT_COMMAND_FIELDS),
               "canonical fields holding a command line or its arguments: a substring test on them is attacker-controlled"),
        Option("name_fields", list(DEFAULT_NAME_FIELDS),
               "canonical fields holding a bare file name: any test on them is attacker-controlled"),
        Option("path_fields", list(DEFAULT_PATH_FIELDS),
               "canonical fields holding a full path: weak when tested by suffix/substring without a drive, or under a writable folder"),
        Option("writable_folders", list(DEFAULT_WRITABLE),
               "path fragments (lower case) of folders unprivileged users can write to"),
        Option("max_listed", 3, "how many weak exclusions the message names"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if rule.kind != "rule" or rule.tree is None:
            return
        opts = _options(self, ctx)
        if not has_candidates(rule, opts):
            return
        weak = exclusion_weaknesses(rule, opts, pinned_fields(rule, opts))
        if not weak:
            return
        limit = ctx.option(self, "max_listed")
        parts = []
        for w in weak[:limit]:
            tests = []
            for i in w.preds:
                p = rule.predicates[i]
                weak_at = weak_values(p, opts) or [0]
                more_values = f" or {plural(len(weak_at) - 1, 'other value')}" if len(weak_at) > 1 else ""
                tests.append(p.describe(weak_at[0]) + more_values)
            parts.append(f"{' and '.join(tests)} ({', '.join(dict.fromkeys(w.reasons))})")
        more = f" and {len(weak) - limit} more" if len(weak) > limit else ""
        what = "An exclusion rests" if len(weak) == 1 else f"{len(weak)} exclusions rest"
        line = min((rule.predicates[i].line for w in weak for i in w.preds if rule.predicates[i].line),
                   default=rule.logic_line or rule.line)
        kinds = {opts.kind(rule.predicates[i].field) for w in weak for i in w.preds}
        advice = STURDY_COMMAND if kinds == {"command"} else STURDY
        yield self.finding(
            rule, f"{what} only on values an attacker chooses: {'; '.join(parts)}{more}; anchor "
                  f"{'it' if len(weak) == 1 else 'them'} on {advice}.", line,
            exclusions=[{"predicates": [{"field": rule.predicates[i].field, "op": rule.predicates[i].op,
                                         "values": list(rule.predicates[i].values)} for i in w.preds],
                         "reasons": list(w.reasons)} for w in weak])
