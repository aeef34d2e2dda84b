"""pySigma's own rule validators, run on each Sigma rule while it loads.

The Sigma loader calls `validate` once per rule it built, so the issues are cached with
the file's load result and a warm run pays nothing for them. Each issue is noted in the
rule's `extra["pysigma_issues"]` as a plain tuple (code, validator, issue class, severity,
line, message), only when there is one; the RL4xx checks (`GROUPS`) report them, each
named after the pySigma validator that raised it and pointing at the YAML line of the
offending key, tag or value.

Validators that another rulelint check already covers, that judge the whole corpus
(uniqueness of ids, titles, file names), or that would fetch data from the network are
not run (`COVERED`, `NOT_RUN`): the ATT&CK tag validator reads rulelint's bundled
ATT&CK data instead of downloading MITRE's bundle, and leaves technique ids to RL301.
docs/pysigma-validators.md lists the whole mapping; a test keeps it complete.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .yamlnodes import line_of, mapping_get

# code -> (name, severity, pySigma validator identifiers run for it)
GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "RL401": ("sigma-metadata", "warning",
              ("identifier_existence", "duplicate_references", "custom_attributes", "filename_length")),
    "RL402": ("sigma-detection-style", "warning",
              ("all_of_them_condition", "them_condition_with_single_detection", "double_wildcard",
               "number_as_string", "escaped_wildcard")),
    "RL403": ("sigma-tag", "warning",
              ("tag_format", "namespace_tag", "duplicate_tag", "attacktag", "tlptag", "cartag", "cvetag",
               "detection_tag", "stptag")),
    "RL404": ("sigma-logsource", "warning", ("fieldname_logsource", "specific_instead_of_generic_logsource")),
    "RL405": ("sigma-modifier-combination", "warning", ("invalid_modifier_combinations",)),
}
GROUP_OF = {ident: code for code, (_n, _s, idents) in GROUPS.items() for ident in idents}

# Validators another rulelint check covers: identifier -> (code, why).
COVERED: dict[str, tuple[str, str]] = {
    "identifier_uniqueness": ("RL005", "duplicate-id compares ids across the whole corpus"),
    "duplicate_title": ("RL006", "duplicate-title compares titles across the whole corpus"),
    "control_character": ("RL007", "control characters in values"),
    "wildcards_instead_of_modifiers": ("RL008", "wildcards where contains/startswith/endswith would do"),
    "dangling_detection": ("RL205", "a detection the condition never uses"),
    "dangling_condition": ("RL001", "a condition naming an undefined detection does not load; a pattern "
                                    "matching none is RL205's"),
}
# Issues of a validator we run that another check reports better: issue class -> (code, why).
COVERED_ISSUES: dict[str, tuple[str, str]] = {
    "AllWithoutContainsModifierIssue": (
        "RL203", "contradictory-logic reports `all` without `contains` where the field holds one value per "
        "event, and stays quiet on multi-valued fields where it can match"),
}
# Validators not run at all: identifier -> why.
NOT_RUN: dict[str, str] = {
    "duplicate_filename": ("judges the whole collection; one file name in two folders is common when several "
                           "repositories are linted together, and RL005/RL006 report duplicated rules"),
    "d3_fendtag": ("downloads MITRE's D3FEND ontology at run time; rulelint ships no D3FEND data and never "
                   "touches the network"),
    "tlpv1_tag": "tlptag accepts the TLP 1.0 and 2.0 labels both; the version-specific variants would contradict it",
    "tlpv2_tag": "tlptag accepts the TLP 1.0 and 2.0 labels both; the version-specific variants would contradict it",
}
# attacktag is run on rulelint's bundled ATT&CK data, for the tags RL301 does not judge.
ATTACK_NOTE = ("run on rulelint's bundled ATT&CK data (no download): tactic names are judged here, technique "
               "ids by RL301 unknown-technique and RL302 tactic-mismatch; group, software, campaign, data source "
               "and mitigation ids are not judged (the bundled data holds no such objects)")

_SEVERITY_LOW = "info"
_TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$", re.I)
_OTHER_ATTACK_ID = re.compile(r"^(g|s|c|ds|m)\d{4}$", re.I)
_validators: list[tuple[str, Any]] | None = None


def _make_validators() -> dict[str, Any]:
    """One instance of every validator we run, per process (none of them keeps state
    across rules: the corpus-wide ones are not run)."""
    from sigma.validators.core import validators
    from sigma.validators.core.tags import ATTACKTagValidator

    from ..model.attack import attack

    class BundledAttackTags(ATTACKTagValidator):
        """pySigma's ATT&CK tag validator, fed the tactics of rulelint's bundled data."""

        def _load_allowed_tags(self) -> set[str]:
            data = attack()
            return set(data.tactics) | set(data.later)

        def validate_tag(self, tag):  # type: ignore[override]
            if tag.namespace == "attack" and (_TECHNIQUE.match(tag.name) or _OTHER_ATTACK_ID.match(tag.name)):
                return []  # RL301/RL302 judge techniques; no data for the others
            return super().validate_tag(tag)

    out: dict[str, Any] = {}
    for ident in GROUP_OF:
        cls = BundledAttackTags if ident == "attacktag" else validators.get(ident)
        if cls is not None:
            out[ident] = cls()
    return out


NOTES = "pysigma_issues"


def validate(path: str, rule: Any, out: Any, nodes: list[yaml.Node], det_nodes: dict[str, Any] | None = None) -> None:
    """Note in `out.extra` (the NormalizedRule built from `rule`, a SigmaRule or a
    SigmaCorrelationRule) what pySigma's validators find in it. `nodes` are the YAML
    documents merged into the rule, in merge order; `det_nodes` the loader's detection
    sections. A validator that fails is skipped; nothing here can fail the load."""
    try:
        notes = _validate(path, rule, out.line, nodes, det_nodes)
    except Exception:
        return
    if notes:
        out.extra[NOTES] = notes


def _validate(path: str, rule: Any, rule_line: int | None, nodes: list[yaml.Node],
              det_nodes: dict[str, Any] | None) -> tuple[tuple, ...]:
    global _validators
    if _validators is None:
        _validators = list(_make_validators().items())
    if getattr(rule, "source", None) is None:
        from pathlib import Path

        from sigma.exceptions import SigmaRuleLocation

        rule.source = SigmaRuleLocation(Path(path))
    issues: list[tuple[str, Any]] = []
    for ident, validator in _validators:
        try:
            found = validator.validate(rule)
        except Exception:  # a validator that trips over an unusual rule says nothing of it
            continue
        issues.extend((ident, i) for i in found if type(i).__name__ not in COVERED_ISSUES)
    if not issues:
        return ()
    try:
        where = _Where(rule, rule_line, nodes, det_nodes or {})
    except Exception:  # lines are a nicety: never let them cost the rule its load
        where = _Where(None, rule_line, [], {})
    out: list[tuple] = []
    for ident, issue in issues:
        code = GROUP_OF[ident]
        severity = GROUPS[code][1]
        try:
            line, text = _describe(ident, issue, rule, where)
        except Exception:
            line, text = rule_line, str(getattr(issue, "description", ident)).rstrip(".")
        low = getattr(getattr(issue, "severity", None), "name", "") == "LOW"
        note = (code, ident, type(issue).__name__, _SEVERITY_LOW if low else severity, line or rule_line,
                f"{text} (pySigma validator {ident}).")
        if note not in out:
            out.append(note)
    return tuple(out)


class _Where:
    """Lines of a rule's keys, tags, detection items and values (built only for a rule
    with issues)."""

    def __init__(self, rule: Any, rule_line: int | None, nodes: list[yaml.Node], det_nodes: dict[str, Any]):
        self.rule_line = rule_line
        self.nodes = nodes
        self.det_nodes = det_nodes
        self.items: dict[int, tuple[int | None, str]] = {}  # id(detection item) -> (line, key text)
        self.values: dict[int, tuple[int | None, Any, Any]] = {}  # id(value) -> (line, item, as written)
        detections = getattr(getattr(rule, "detection", None), "detections", None) or {}
        for dname, det in detections.items():
            section = det_nodes.get(dname)
            self._walk(det, section.node if section is not None else None, section)

    def key(self, key: str) -> tuple[yaml.Node | None, yaml.Node | None]:
        """The key and value nodes of a top-level key, from the document that sets it last."""
        for n in reversed(self.nodes):
            k, v = mapping_get(n, key)
            if k is not None:
                return k, v
        return None, None

    def key_line(self, key: str) -> int | None:
        return line_of(self.key(key)[0])

    def list_item_line(self, key: str, index: int, count: int) -> int | None:
        k, v = self.key(key)
        if isinstance(v, yaml.SequenceNode) and len(v.value) == count and 0 <= index < count:
            return line_of(v.value[index])
        return line_of(k)

    def condition_line(self) -> int | None:
        return line_of(self.det_nodes.get("\0condition"))

    def _walk(self, det: Any, node: yaml.Node | None, section: Any = None) -> None:
        from sigma.rule import SigmaDetection

        items = det.detection_items
        keys = getattr(section, "keys", None) if section is not None else None
        if keys is not None and len(keys) == len(items):
            knodes = [k for k, _ in keys.values()]
            vnodes = [v for _, v in keys.values()]
        elif isinstance(node, yaml.MappingNode) and len(node.value) == len(items):
            knodes = [k for k, _ in node.value]
            vnodes = [v for _, v in node.value]
        elif isinstance(node, yaml.SequenceNode) and len(node.value) == len(items) and any(
                isinstance(i, SigmaDetection) for i in items):
            knodes = vnodes = list(node.value)
        else:
            knodes = vnodes = [node] * len(items)
        for item, knode, vnode in zip(items, knodes, vnodes):
            if isinstance(item, SigmaDetection):
                self._walk(item, vnode)
                continue
            text = knode.value if isinstance(knode, yaml.ScalarNode) and knode is not vnode else ""
            kline = line_of(knode)
            self.items[id(item)] = (kline, text)
            originals = item.original_value
            for values in (originals, item.value):
                if isinstance(vnode, yaml.SequenceNode) and len(vnode.value) == len(values):
                    lines = [line_of(v) for v in vnode.value]
                elif isinstance(vnode, yaml.ScalarNode) and len(values) == 1:
                    lines = [line_of(vnode)]
                else:
                    lines = [kline] * len(values)
                # A value as the author wrote it (before modifiers added wildcards), where known.
                written = originals if len(originals) == len(values) else values
                for v, ln, w in zip(values, lines, written):
                    self.values.setdefault(id(v), (ln, item, w))


def _tag_line(where: _Where, rule: Any, tag: Any, last: bool = False) -> int | None:
    tags = list(rule.tags or [])
    same = [i for i, t in enumerate(tags) if t == tag]  # a duplicate: point at its repetition
    hits = same if last else ([i for i, t in enumerate(tags) if t is tag] or same)
    if not hits:
        return where.key_line("tags")
    return where.list_item_line("tags", hits[-1] if last else hits[0], len(tags))


def _field(item: Any) -> str:
    return item.field if item is not None and item.field else "keywords"


def _item_key(where: _Where, item: Any) -> tuple[int | None, str]:
    line, text = where.items.get(id(item), (None, ""))
    if not text:
        mods = "".join(f"|{m.__name__.replace('Sigma', '').replace('Modifier', '').lower()}" for m in item.modifiers)
        text = f"{_field(item)}{mods}"
    return line, text


def _value_text(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _conditions(rule: Any) -> str:
    conds = getattr(getattr(rule, "detection", None), "condition", None) or []
    return " / ".join(f"'{c}'" for c in conds)


def _describe(ident: str, issue: Any, rule: Any, where: _Where) -> tuple[int | None, str]:
    """(line, sentence) of one issue, in a rule author's words."""
    kind = type(issue).__name__
    if kind == "IdentifierExistenceIssue":
        return where.key_line("title") or where.rule_line, (
            "The rule has no `id`; give it a UUID so correlations, filters, suppressions and "
            "reports can name it across renames")
    if kind == "DuplicateReferencesIssue":
        refs = list(rule.references or [])
        idx = max((i for i, r in enumerate(refs) if r == issue.reference), default=-1)
        return where.list_item_line("references", idx, len(refs)), (
            f"`references` lists {issue.reference} more than once")
    if kind == "CustomAttributesIssue":
        meant = "references" if issue.fieldname == "reference" else "related"
        return where.key_line(issue.fieldname), (
            f"Top-level key `{issue.fieldname}` is a misspelt `{meant}`: Sigma keeps it as an unknown "
            f"custom attribute, so the rule has no `{meant}`")
    if kind == "FilenameLengthIssue":
        return where.rule_line, (
            f"File name `{issue.filename}` is {len(issue.filename)} characters long, outside the 10 to 90 "
            f"that Sigma's naming convention allows")
    if kind == "AllOfThemConditionIssue":
        return where.condition_line(), (
            f"Condition {_conditions(rule)} uses `all of them`, which silently takes in every detection "
            f"added later (filters included); name them, e.g. `all of selection_*`")
    if kind == "ThemConditionWithSingleDetectionIssue":
        only = next(iter(rule.detection.detections), "")
        return where.condition_line(), (
            f"Condition {_conditions(rule)} says `of them` but the rule has one detection, "
            f"`{only}`: name it instead")
    if kind in ("DoubleWildcardIssue", "NumberAsStringIssue", "EscapedWildcardIssue"):
        line, item, written = where.values.get(id(issue.string), (None, None, issue.string))
        value = _value_text(written)
        field = _field(item)
        if kind == "DoubleWildcardIssue":
            text = f"`{field}` value '{value}' holds consecutive `*` wildcards, which match no more than one `*`"
        elif kind == "NumberAsStringIssue":
            text = (f"`{field}` value '{value}' is a number written as a quoted string; write it unquoted "
                    f"if the field holds numbers (a string field such as a user agent may keep it quoted)")
        else:
            text = (f"`{field}` value '{value}' holds an escaped wildcard (`\\*` or `\\?`), matched as a "
                    f"literal character; make sure the escape is meant")
        return line, text
    if kind in ("InvalidTagFormatIssue", "InvalidNamespaceTagIssue", "InvalidPatternTagIssue",
                "InvalidTLPTagIssue", "InvalidATTACKTagIssue", "DuplicateTagIssue"):
        tag = issue.tag
        line = _tag_line(where, rule, tag, last=kind == "DuplicateTagIssue")
        return line, _tag_text(ident, kind, tag)
    if kind == "FieldnameLogsourceIssue":
        _k, ls = where.key("logsource")
        k, _v = mapping_get(ls, issue.fieldname)
        return line_of(k) or line_of(_k), (
            f"`logsource` key `{issue.fieldname}` is not one Sigma defines (category, product, service, "
            f"definition); backends and pipelines ignore it")
    if kind == "SpecificInsteadOfGenericLogsourceIssue":
        line = None
        for vid, (ln, item, _w) in where.values.items():
            if item is not None and item.field == "EventID" and any(
                    id(v) == vid and getattr(v, "number", None) == issue.event_id for v in item.value):
                line = ln
                break
        ls = issue.logsource
        source = "/".join(x for x in (ls.product, ls.service) if x)
        category = issue.generic_logsource.category
        return line or where.key_line("logsource"), (
            f"`EventID: {issue.event_id}` on the `{source}` log source is what the generic `category: "
            f"{category}` stands for; write the rule on that category so it converts for every backend")
    if kind in ("AllWithoutContainsModifierIssue", "Base64OffsetWithoutContainsModifierIssue",
                "WindowsDashCombinedWithAllModifierIssue", "ModifierAppliedMultipleIssue"):
        line, key = _item_key(where, issue.detection_item)
        if kind == "AllWithoutContainsModifierIssue":
            text = (f"`{key}` uses `all` without `contains`: the field must equal every value at once, "
                    f"which no event does")
        elif kind == "Base64OffsetWithoutContainsModifierIssue":
            text = (f"`{key}` uses `base64offset` without `contains`: the encoded forms are cut from a longer "
                    f"string, so they only match inside one")
        elif kind == "WindowsDashCombinedWithAllModifierIssue":
            text = (f"`{key}` combines `windash` with `all`: the dash variants of each value are ANDed, so "
                    f"the item matches only a command line that holds every variant at once")
        else:
            mods = ", ".join(sorted(m.__name__.replace("Sigma", "").replace("Modifier", "").lower()
                                    for m in issue.modifiers))
            text = f"`{key}` applies the modifier {mods} more than once"
        return line, text
    # A validator this module does not know how to word: pySigma's own description.
    return where.rule_line, f"{issue.description.rstrip('.')}"


_PATTERNS = {
    "cartag": "`car.YYYY-MM-NNN` (a CAR analytic id such as car.2016-04-005)",
    "cvetag": "`cve.YYYY-NNNN` (such as cve.2021-44228)",
    "detection_tag": "`detection.dfir`, `detection.emerging-threats` or `detection.threat-hunting`",
    "stptag": "`stp.` and a score from 1 to 5 with an optional a, u or k (such as stp.3a)",
}


def _tag_text(ident: str, kind: str, tag: Any) -> str:
    text = f"`{tag}`"
    if kind == "DuplicateTagIssue":
        return f"Tag {text} is listed more than once"
    if kind == "InvalidTagFormatIssue":
        return (f"Tag {text} is not of the form `namespace.name` in lowercase letters, digits, `-`, `_` "
                f"and `.`")
    if kind == "InvalidNamespaceTagIssue":
        return (f"Tag {text} uses the namespace `{tag.namespace}`, which Sigma does not define (attack, car, "
                f"cve, d3fend, detection, stp, tlp)")
    if kind == "InvalidTLPTagIssue":
        return f"Tag {text} is no TLP label (clear, white, green, amber, amber-strict, red)"
    if kind == "InvalidATTACKTagIssue":
        from ..model.attack import attack

        data = attack()
        short = re.sub(r"[\s_]+", "-", tag.name.strip().lower())
        known = short if short in data.tactics or short in data.later else data.tactic(tag.name)
        if known:
            return f"Tag {text} is not how ATT&CK names the tactic: write `attack.{known}`"
        return (f"Tag {text} is neither an ATT&CK Enterprise v{data.version} tactic (such as "
                f"`attack.defense-evasion`) nor a technique, group or software id")
    if kind == "InvalidPatternTagIssue":
        return f"Tag {text} does not follow the pattern of its namespace: {_PATTERNS.get(ident, 'see the Sigma tag spec')}"
    return f"Tag {text}: invalid"
