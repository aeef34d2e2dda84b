"""RL003 unused-suppression: emitted by inline suppression (rulelint.suppression), documented here like every check."""

from .base import Check


class UnusedSuppression(Check):
    code = "RL003"
    name = "unused-suppression"
    severity = "warning"
    scope = "load"
    summary = "A `# rulelint: disable=...` comment suppresses nothing, or names a check that does not exist."
    what_it_does = (
        "Reports every inline suppression comment (`# rulelint: disable=CHECKS` for one line, "
        "`# rulelint: disable-file=CHECKS` for the whole file) that hid no finding in this run, "
        "naming the file, the line of the comment and the checks it names to no effect. It also "
        "reports a comment naming an unknown check, and a `# rulelint:` comment that is not a "
        "directive at all. Checks that did not run (`--select`, `--ignore`) are never reported as "
        "unused, and `all` is not meant to hide these reports.")
    why_it_matters = (
        "A suppression outlives the finding it was written for: once the rule or the corpus "
        "changes, a stale comment silently hides the next, different finding on that line. A "
        "misspelled check name suppresses nothing while looking like a reviewed exception.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\rustdesk.exe'   # rulelint: disable=noisy-standalone-indicator\n"
        "  condition: selection   # rulelint: disable=RL999")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\rustdesk.exe'\n"
        "  condition: selection")
