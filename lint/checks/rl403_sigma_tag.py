"""RL403 sigma-tag: pySigma's tag validators (ATT&CK tactics read from rulelint's bundled data)."""

from ..model.attack import VERSION
from .pysigma import PySigmaCheck


class SigmaTag(PySigmaCheck):
    code = "RL403"
    name = "sigma-tag"
    severity = "warning"
    summary = "pySigma's tag validators: tag format, namespace, duplicates, ATT&CK tactic names, TLP, CAR, CVE, detection and STP patterns."
    what_it_does = (
        "Runs pySigma's own tag validators on every Sigma rule as it loads and reports their issues: "
        "`tag_format` (not `namespace.name` in lowercase letters, digits, `-`, `_`), `namespace_tag` (a "
        "namespace Sigma does not define), `duplicate_tag`, `tlptag` (no TLP 1.0 or 2.0 label), `cartag`, "
        "`cvetag`, `detection_tag` and `stptag` (a tag not of its namespace's pattern, such as "
        "`cve.2021.44228` for `cve.2021-44228`), and `attacktag`, which here reads the ATT&CK Enterprise "
        f"data shipped with rulelint (v{VERSION}) instead of downloading MITRE's bundle: an `attack.` tag "
        "that is no tactic (`attack.defense_evasion` is written `attack.defense-evasion`). Technique ids "
        "are RL301 unknown-technique's and RL302 tactic-mismatch's. The line is the tag's.")
    why_it_matters = (
        "Coverage maps, ATT&CK layers and search by CVE are built from tags; a tag in the wrong form is "
        "counted nowhere, and a misspelt tactic leaves its column of the matrix looking uncovered.")
    example = (
        "tags:\n"
        "    - attack.defense_evasion\n"
        "    - attack.t1140\n"
        "    - cve.2021.44228")
    use_instead = (
        "tags:\n"
        "    - attack.defense-evasion\n"
        "    - attack.t1140\n"
        "    - cve.2021-44228")
