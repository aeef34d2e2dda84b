"""RL401 sigma-metadata: pySigma's validators of a rule's id, references, keys and file name."""

from .pysigma import PySigmaCheck


class SigmaMetadata(PySigmaCheck):
    code = "RL401"
    name = "sigma-metadata"
    severity = "warning"
    # A SigmaHQ repository convention rather than a property of the rule: on where asked.
    excluded = ("filename_length",)
    summary = "pySigma's metadata validators: a missing id, a reference listed twice, a misspelt key, a file name too short or long."
    what_it_does = (
        "Runs pySigma's own metadata validators on every Sigma rule as it loads and reports their issues: "
        "`identifier_existence` (the rule has no `id`), `duplicate_references` (one URL twice under "
        "`references`), `custom_attributes` (a top-level key such as `realted` or `reference` that is a "
        "misspelt `related` or `references`), `filename_length` (a file name under 10 or over 90 "
        "characters, against SigmaHQ's naming convention; excluded by default, so set `exclude = []` to "
        "have it). Each message names the validator; the line is "
        "the offending key or list entry. Uniqueness of ids and titles across the corpus is RL005 and "
        "RL006; docs/pysigma-validators.md maps every pySigma validator to its check.")
    why_it_matters = (
        "A rule without an id cannot be referenced by correlations and filters or followed across "
        "renames; a misspelt key is kept as an unknown attribute, so the relation or reference it was "
        "meant to record is silently lost. These are the checks SigmaHQ's own CI runs, so a rule that "
        "fails them is sent back in review.")
    example = (
        "title: Certutil Decodes a Payload\n"
        "references:\n"
        "    - https://lolbas-project.github.io/lolbas/Binaries/Certutil/\n"
        "    - https://lolbas-project.github.io/lolbas/Binaries/Certutil/\n"
        "realted:\n"
        "    - id: 0b6c1d7e-0a57-4a44-9d0e-3c1f1a9b1a01\n"
        "      type: derived")
    use_instead = (
        "title: Certutil Decodes a Payload\n"
        "references:\n"
        "    - https://lolbas-project.github.io/lolbas/Binaries/Certutil/\n"
        "related:\n"
        "    - id: 0b6c1d7e-0a57-4a44-9d0e-3c1f1a9b1a01\n"
        "      type: derived")
