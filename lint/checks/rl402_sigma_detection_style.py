"""RL402 sigma-detection-style: pySigma's validators of how a detection is written."""

from .pysigma import PySigmaCheck


class SigmaDetectionStyle(PySigmaCheck):
    code = "RL402"
    name = "sigma-detection-style"
    severity = "warning"
    # Reminders that fire on deliberate literals (a user agent of digits, `\\*\IPC$`): on
    # SigmaHQ nearly all of their findings are intended, so they are on where asked.
    excluded = ("number_as_string", "escaped_wildcard")
    summary = "pySigma's detection-style validators: `all of them`, `of them` over one detection, `**`, numbers as strings, escaped wildcards."
    what_it_does = (
        "Runs pySigma's own detection-style validators on every Sigma rule as it loads and reports their "
        "issues: `all_of_them_condition` (a condition with `all of them`; a warning), and as info, pySigma "
        "grading them low: `them_condition_with_single_detection` (`1 of them` with one detection), "
        "`double_wildcard` (`**` in a value), `number_as_string` (a number written as a quoted string), "
        "`escaped_wildcard` (`\\*` or `\\?` in a value, matched literally). The line is the condition or "
        "the value. The last two are excluded by default: they cannot know a field's type or the author's "
        "intent, and on SigmaHQ's rules nearly every one of their findings is a deliberate literal (user "
        "agents made of digits, the share name `\\\\*\\IPC$`); set `exclude = []` to have them. Wildcards instead of modifiers, control characters and detections the condition never "
        "uses are RL008, RL007 and RL205; a condition naming a missing detection is RL001.")
    why_it_matters = (
        "`all of them` takes in every detection added later, so the next author who adds a `filter` turns "
        "it into a required match and the rule stops firing; the low-graded issues are readability and "
        "intent: an escaped wildcard that was meant as a wildcard never matches, a quoted number does "
        "not compare as a number in every backend.")
    example = (
        "detection:\n"
        "    selection_img:\n"
        "        Image|endswith: '\\\\certutil.exe'\n"
        "    selection_cli:\n"
        "        CommandLine|contains: ' -decode '\n"
        "    condition: all of them")
    use_instead = (
        "detection:\n"
        "    selection_img:\n"
        "        Image|endswith: '\\\\certutil.exe'\n"
        "    selection_cli:\n"
        "        CommandLine|contains: ' -decode '\n"
        "    condition: all of selection_*")
