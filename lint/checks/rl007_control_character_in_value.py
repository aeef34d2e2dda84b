"""RL007 control-character-in-value: emitted by the loaders (lint/loaders/escapes.py)."""

from .base import Check


class ControlCharacterInValue(Check):
    code = "RL007"
    name = "control-character-in-value"
    severity = "warning"
    scope = "load"
    summary = "A value holds a tab, line break or other control character made by an escape in double quotes."
    what_it_does = (
        "Reads back, from the source, every double-quoted string of a rule's logic (Sigma detection "
        "values, a Splunk `search`, an Elastic `[rule]` query in a TOML basic string) whose value holds "
        "a control character, and reports the backslash escape that made it, on its line: `\"C:\\temp\"` "
        "holds a tab (`\\t`), `\"\\new.exe\"` a line break (`\\n`), `\"\\b\"`, `\"\\a\"`, `\"\\x01\"` likewise. "
        "In a Splunk search or an Elastic query, whose text may hold line breaks and tabs as spacing, "
        "`\\t`, `\\n` and `\\r` count only inside a word (`C:\\temp`), not between words. Sigma values "
        "are all reported, as pySigma's `control_character` validator does.")
    why_it_matters = (
        "The author typed a backslash path; the rule matches a tab. YAML's and TOML's double quotes "
        "read `\\t`, `\\n`, `\\b`, `\\a`, `\\e`, `\\0`, `\\v`, `\\f`, `\\r` as escapes without a word of "
        "warning, so the value never matches the event and the rule is silently blind. Single quotes "
        "(YAML) or literal strings (TOML `'...'`, `'''...'''`) keep a backslash as it is typed.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "    CommandLine|contains: \"C:\\temp\"   # \\t is a tab here\n"
        "  condition: selection")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\cmd.exe'\n"
        "    CommandLine|contains: 'C:\\temp'\n"
        "  condition: selection")
