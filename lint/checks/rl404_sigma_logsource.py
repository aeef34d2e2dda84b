"""RL404 sigma-logsource: pySigma's log source validators."""

from .pysigma import PySigmaCheck


class SigmaLogsource(PySigmaCheck):
    code = "RL404"
    name = "sigma-logsource"
    severity = "warning"
    summary = "pySigma's log source validators: an unknown `logsource` key, a Sysmon or Security event id where a generic category exists."
    what_it_does = (
        "Runs pySigma's own log source validators on every Sigma rule as it loads and reports their "
        "issues: `fieldname_logsource` (a `logsource` key other than category, product, service and "
        "definition) and `specific_instead_of_generic_logsource` (a `windows/sysmon` rule selecting an "
        "`EventID` that a generic category stands for, such as 1 for `process_creation`, or "
        "`windows/security` 4688). The line is the key or the event id value.")
    why_it_matters = (
        "Backends and processing pipelines choose indexes and field mappings from the log source: an "
        "unknown key is ignored, and a rule written on Sysmon event 1 instead of `process_creation` "
        "converts only where Sysmon is the process source, missing EDR and Security 4688 data that the "
        "generic category maps to.")
    example = (
        "logsource:\n"
        "    product: windows\n"
        "    service: sysmon\n"
        "detection:\n"
        "    selection:\n"
        "        EventID: 1\n"
        "        Image|endswith: '\\\\certutil.exe'\n"
        "        CommandLine|contains: ' -decode '\n"
        "    condition: selection")
    use_instead = (
        "logsource:\n"
        "    category: process_creation\n"
        "    product: windows\n"
        "detection:\n"
        "    selection:\n"
        "        Image|endswith: '\\\\certutil.exe'\n"
        "        CommandLine|contains: ' -decode '\n"
        "    condition: selection")
