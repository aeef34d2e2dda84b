"""RL405 sigma-modifier-combination: pySigma's validator of modifier combinations."""

from .pysigma import PySigmaCheck


class SigmaModifierCombination(PySigmaCheck):
    code = "RL405"
    name = "sigma-modifier-combination"
    severity = "warning"
    summary = "pySigma's modifier validator: `base64offset` without `contains`, `windash` with `all`, a modifier applied twice."
    what_it_does = (
        "Runs pySigma's own `invalid_modifier_combinations` validator on every Sigma rule as it loads and "
        "reports its issues: `base64offset` without `contains`, `windash` combined with `all`, and a "
        "modifier applied twice in one key (`base64` excepted). The line is the key. Its fourth issue, "
        "`all` without `contains`, is left to RL203 contradictory-logic, which reports it where the field "
        "holds one value per event (and so can never equal two values) and not on multi-valued fields.")
    why_it_matters = (
        "Each of these is a rule that cannot match what its author meant: `base64offset` values are "
        "fragments cut from a longer encoded string, found only with `contains`, and `windash` with `all` "
        "ANDs the dash variants of one flag, which no command line holds all at once.")
    example = (
        "detection:\n"
        "    selection:\n"
        "        Image|endswith: '\\\\powershell.exe'\n"
        "        CommandLine|base64offset: 'Net.WebClient).DownloadString('\n"
        "    condition: selection")
    use_instead = (
        "detection:\n"
        "    selection:\n"
        "        Image|endswith: '\\\\powershell.exe'\n"
        "        CommandLine|base64offset|contains: 'Net.WebClient).DownloadString('\n"
        "    condition: selection")
