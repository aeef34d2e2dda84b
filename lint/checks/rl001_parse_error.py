"""RL001 parse-error: emitted by the loaders, documented here like every check."""

from .base import Check


class ParseError(Check):
    code = "RL001"
    name = "parse-error"
    severity = "error"
    scope = "load"
    summary = "A file that looks like a rule cannot be loaded."
    what_it_does = (
        "Reports every rule file that cannot be read, parsed or understood: invalid YAML or TOML, "
        "binary or non-UTF-8 content, unknown Sigma modifiers, a condition naming a selection that "
        "does not exist, values of the wrong type, unsupported query syntax. The message gives the "
        "file, the line where it is known, and the reason. The run goes on with every other file.")
    why_it_matters = (
        "A rule that does not load does not detect anything, and every backend that converts it "
        "will fail or, worse, silently drop part of it. It also drops out of the corpus context "
        "every other rule is judged against.")
    example = (
        "detection:\n"
        "  selection:\n"
        "    Image|endwith: '\\\\evil.exe'   # unknown modifier 'endwith'\n"
        "  condition: selection and not filter   # 'filter' is not defined")
    use_instead = (
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\evil.exe'\n"
        "  filter:\n"
        "    ParentImage|endswith: '\\\\trusted.exe'\n"
        "  condition: selection and not filter")
