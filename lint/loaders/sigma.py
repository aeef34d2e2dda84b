"""Sigma YAML to NormalizedRule, on pySigma's rule model.

pySigma parses and validates; we walk its detections beside the YAML nodes to
keep each predicate's source line, and build the boolean tree from the
unresolved condition so every leaf still knows its modifiers.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from sigma import exceptions as sigma_exc
from sigma.collection import deep_dict_update
from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.filters import SigmaFilter
from sigma.modifiers import reverse_modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SpecialChars,
)

from ..model.predicate import KEYWORD_FIELD, QMARK, STAR, Predicate, classify_pattern, normalize_value
from ..model.rule import LogSource, NormalizedRule
from ..model.tree import MAX_DEPTH, And, Leaf, Node, Not, Or, depth, simplify
from .result import LoadResult, parse_error
from .sigma_validation import validate as validate_rule
from . import sigma_hygiene
from .sigma_errors import condition_error, modifier_error, undefined_hint
from .yamlnodes import InputError, YamlDoc, line_of, load_documents, mapping_get

SIGMA_KEYS = ("detection", "correlation", "filter", "logsource")
_TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$", re.I)
# Groups, software, campaigns, data sources and mitigations (g0016, s0002, c0001, ds0009,
# m1042): ATT&CK objects tagged beside tactics, which are words (`stealth`, `execution`).
_OTHER_ATTACK_ID = re.compile(r"^(g|s|c|ds|m)\d{4}$", re.I)
_TIME_PARTS = {"minute", "hour", "day", "week", "month", "year"}
_ENCODINGS = ("base64", "base64offset", "wide", "utf16", "utf16le", "utf16be")


def looks_like_sigma(data: Any) -> bool:
    """A mapping with a Sigma key, or a list of such mappings (a rule written as a YAML
    list by mistake: it must be reported, not skipped)."""
    if isinstance(data, list):
        return any(isinstance(d, dict) and any(k in d for k in SIGMA_KEYS) for d in data[:5])
    return isinstance(data, dict) and any(k in data for k in SIGMA_KEYS)


def load_sigma(path: str, docs: list[YamlDoc]) -> LoadResult:
    """Every Sigma rule of one file (single or multi-document, with collection actions
    applied as pySigma applies them: `global` merges into each later rule, `repeat`
    builds on the previous rule, `reset` drops the global part)."""
    result = LoadResult()
    global_data: dict = {}
    global_nodes: list[yaml.Node] = []
    prev_data: dict = {}
    prev_nodes: list[yaml.Node] = []
    for index, doc in enumerate(docs):
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            result.findings.append(parse_error(
                path, line_of(doc.node),
                f"document {index + 1} is a {type(data).__name__}, not a Sigma rule mapping"))
            continue
        action = data.get("action")
        body = {k: v for k, v in data.items() if k != "action"}
        try:
            if action == "global":
                global_data, global_nodes = body, [doc.node]
                prev_data, prev_nodes = global_data, global_nodes
                continue
            if action == "reset":
                global_data, global_nodes = {}, []
                continue
            if action == "repeat":
                # Node lists are in merge order: later documents override earlier ones.
                prev_data = deep_dict_update(_copy(prev_data), body)
                prev_nodes = prev_nodes + [doc.node]
            elif action is not None:
                raise InputError(f"unknown Sigma collection action {action!r}", _key_line(doc.node, "action"))
            elif "correlation" in data:
                result.rules.append(_correlation(path, index, data, doc.node))
                continue
            elif "filter" in data:
                result.rules.append(_filter(path, index, data, doc.node))
                continue
            else:
                prev_data = deep_dict_update(_copy(data), global_data) if global_data else data
                prev_nodes = [doc.node] + global_nodes
            result.rules.append(_rule(path, index, _copy(prev_data), prev_nodes, doc.node))
        except InputError as e:
            result.findings.append(parse_error(path, e.line or line_of(doc.node), e.reason, e.column if e.line else None))
        except sigma_exc.SigmaError as e:
            typo = modifier_error(e, doc.node)
            result.findings.append(parse_error(path, typo[0] or line_of(doc.node), typo[2], typo[1]) if typo
                                   else parse_error(path, _error_line(e, doc.node), _sigma_reason(e)))
        except RecursionError:
            result.findings.append(parse_error(
                path, _condition_line(_detection_nodes([doc.node])) or line_of(doc.node),
                f"condition or detection nests too deeply (over Python's recursion limit)"))
        except (ValueError, TypeError, AttributeError, LookupError, NameError) as e:
            # pySigma lets some malformed shapes through as plain Python errors (an empty
            # `correlation:` even as an UnboundLocalError).
            result.findings.append(parse_error(
                path, line_of(doc.node), f"malformed Sigma rule: {type(e).__name__}: {e}"))
    return result


def _copy(d: dict) -> dict:
    return {k: (_copy(v) if isinstance(v, dict) else v) for k, v in d.items()}


# -- rules -------------------------------------------------------------------

def _rule(path: str, index: int, data: dict, nodes: list[yaml.Node], own: yaml.Node) -> NormalizedRule:
    det_nodes = _detection_nodes(nodes)
    _check_bounds(data.get("detection"), det_nodes)
    rule = SigmaRule.from_dict(data, collect_errors=True)
    if rule.errors:
        raise rule.errors[0]
    out = _base(path, index, rule, own, "rule")
    ls = rule.logsource
    out.logsource = LogSource(ls.product or "", ls.category or "", ls.service or "")
    builder = _TreeBuilder(rule, det_nodes)
    trees: list[Node] = []
    cond_line = _condition_line(det_nodes)
    for cond in rule.detection.parsed_condition:
        try:
            parsed = cond.parse(postprocess=False)
        except sigma_exc.SigmaError as e:
            section = det_nodes.get("condition")
            raise condition_error(cond.condition, e, section.node if section else None, cond_line,
                                  _sigma_reason(e)) from None
        trees.append(builder.convert(parsed, cond_line))
    tree = simplify(Or(trees) if len(trees) > 1 else (trees[0] if trees else None))
    if tree is None:
        if builder.empty:  # pySigma drops a selector matching nothing: here nothing is left
            raise InputError(f"'{builder.empty[0]}' matches no detection, and nothing else in the condition "
                             f"selects anything", cond_line)
        raise InputError("detection has no condition that selects anything", cond_line)
    if depth(tree) > MAX_DEPTH:
        raise InputError(f"condition nests deeper than {MAX_DEPTH} levels", cond_line)
    out.tree = tree
    out.predicates = builder.predicates
    out.logic_line = cond_line
    out.extra.update(sigma_hygiene.rule_notes(rule, set(builder._cache), builder.empty, builder.wildcard_notes,
                                              builder.modifier_notes, nodes, cond_line))
    validate_rule(path, rule, out, nodes, det_nodes)  # pySigma's own validators (RL4xx), cached with the load
    return out


def _correlation(path: str, index: int, data: dict, node: yaml.Node) -> NormalizedRule:
    rule = SigmaCorrelationRule.from_dict(data, collect_errors=True)
    if rule.errors:
        raise rule.errors[0]
    out = _base(path, index, rule, node, "correlation")
    out.references = [r.reference for r in (rule.rules or [])]
    out.extra["correlation_type"] = str(rule.type.name).lower() if rule.type else ""
    validate_rule(path, rule, out, [node])
    return out


def _filter(path: str, index: int, data: dict, node: yaml.Node) -> NormalizedRule:
    _, fnode = mapping_get(node, "filter")
    _check_bounds(data.get("filter"), _detection_nodes([fnode], key=None))
    flt = SigmaFilter.from_dict(data, collect_errors=True)
    if flt.errors:
        raise flt.errors[0]
    out = _base(path, index, flt, node, "filter")
    ls = flt.logsource
    out.logsource = LogSource(ls.product or "", ls.category or "", ls.service or "")
    refs = flt.filter.rules
    if isinstance(refs, str):  # `rules: any`
        out.references = [refs]
    else:
        out.references = [getattr(r, "reference", str(r)) for r in (refs or [])]
    builder = _TreeBuilder(flt.filter, _detection_nodes([fnode], key=None))
    trees = []
    for cond in flt.filter.parsed_condition:
        trees.append(builder.convert(cond.parse(postprocess=False), line_of(fnode)))
    # pySigma ANDs the filter's condition onto each rule it names; its own NOTs
    # (`condition: not selection`) make the exclusions.
    trees = [t for t in trees if t is not None]  # a '1 of x*' matching nothing is dropped
    out.tree = simplify(Or(trees) if len(trees) > 1 else (trees[0] if trees else None))
    if out.tree is None and builder.empty:
        raise InputError(f"'{builder.empty[0]}' matches no detection, and nothing else in the filter's "
                         f"condition selects anything", line_of(fnode))
    out.predicates = builder.predicates
    return out


def _base(path: str, index: int, rule: Any, node: yaml.Node, kind: str) -> NormalizedRule:
    rid = str(rule.id) if rule.id else ""
    techniques, tactics = [], []
    for tag in rule.tags or []:
        if tag.namespace != "attack":
            continue
        if _TECHNIQUE.match(tag.name):
            techniques.append(tag.name.upper())
        elif not _OTHER_ATTACK_ID.match(tag.name):
            tactics.append(tag.name)
    return NormalizedRule(
        key=rid or f"{path}#{index}",
        id=rid,
        title=str(rule.title or ""),
        vendor="sigma",
        path=path,
        line=line_of(node),
        techniques=sorted(set(techniques)),
        tactics=sorted(set(tactics)),
        kind=kind,
        level=rule.level.name.lower() if getattr(rule, "level", None) else "",
        status=rule.status.name.lower() if getattr(rule, "status", None) else "",
        extra={"name": rule.name} if getattr(rule, "name", None) else {},
    )


# -- bounds ------------------------------------------------------------------

# pySigma parses conditions with pyparsing (recursive, ~25 µs a character) and builds
# objects per detection item (~120 µs each): bound both before handing a rule over.
# Real rules stay far below: the longest condition in SigmaHQ is under 600 characters.
MAX_CONDITION_CHARS = 10_000
MAX_DETECTION_ITEMS = 10_000  # `field|modifiers: values` entries in one rule's detection


def _check_bounds(detection: Any, det_nodes: dict[str, Any]) -> None:
    if not isinstance(detection, dict):
        return  # pySigma reports the shape
    line = _condition_line(det_nodes)
    conditions = detection.get("condition")
    for cond in conditions if isinstance(conditions, list) else [conditions]:
        if not isinstance(cond, str):
            continue
        if len(cond) > MAX_CONDITION_CHARS:
            raise InputError(f"condition is {len(cond):,} characters long, over the {MAX_CONDITION_CHARS:,} limit", line)
        if _paren_depth(cond) > MAX_DEPTH:
            raise InputError(f"condition nests deeper than {MAX_DEPTH} levels of parentheses", line)
    items = 0
    for name, body in detection.items():
        if name == "condition":
            continue
        for part in body if isinstance(body, list) else [body]:
            if isinstance(part, dict):
                items += len(part)
        if items > MAX_DETECTION_ITEMS:
            raise InputError(f"detection has over {MAX_DETECTION_ITEMS:,} field conditions",
                             line_of(det_nodes[name].node) if name in det_nodes else line)


def _paren_depth(text: str) -> int:
    if "(" not in text:
        return 0
    best = level = 0
    for c in text:
        if c == "(":
            level += 1
            best = max(best, level)
        elif c == ")":
            level -= 1
    return best


# -- detections --------------------------------------------------------------

def _pairs(node: yaml.Node | None) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        return [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
    return []


class _Section:
    """A detection's YAML: its node, and for a mapping each key's (key node, value node),
    merged across documents in the order pySigma merges the data."""

    __slots__ = ("node", "keys")

    def __init__(self, node: yaml.Node):
        self.node = node
        self.keys: dict[str, tuple[yaml.Node, yaml.Node]] | None = (
            {k.value: (k, v) for k, v in _pairs(node)} if isinstance(node, yaml.MappingNode) else None)

    def overlay(self, other: "_Section") -> "_Section":
        if self.keys is None or other.keys is None:
            return other
        merged = _Section(other.node)
        # dict update keeps earlier keys in place and appends new ones, as deep_dict_update does.
        merged.keys = {**self.keys, **other.keys}
        return merged


def _detection_nodes(nodes: list[yaml.Node], key: str | None = "detection") -> dict[str, Any]:
    """Detection name -> _Section, later documents overriding earlier ones."""
    out: dict[str, Any] = {}
    for n in nodes:
        det = mapping_get(n, key)[1] if key else n
        for k, v in _pairs(det):
            sec = _Section(v)
            out[k.value] = out[k.value].overlay(sec) if k.value in out else sec
            if k.value == "condition":
                out["\0condition"] = k
    return out


def _condition_line(det_nodes: dict[str, yaml.Node]) -> int | None:
    return line_of(det_nodes.get("\0condition"))


class _TreeBuilder:
    """Builds the tree of one rule, collecting its predicates."""

    def __init__(self, rule: Any, det_nodes: dict[str, yaml.Node]):
        self.detections = rule.detection if hasattr(rule, "detection") else rule
        self.det_nodes = det_nodes
        self.predicates: list[Predicate] = []
        self._cache: dict[str, Node | None] = {}
        # How the rule is written (sigma_hygiene): selectors matching nothing, notes on items.
        self.empty: list[str] = []
        self.wildcard_notes: list[tuple] = []
        self.modifier_notes: list[tuple] = []

    def convert(self, cond: Any, cond_line: int | None) -> Node | None:
        if isinstance(cond, ConditionIdentifier):
            return self._identifier(cond.identifier, cond_line)
        if isinstance(cond, ConditionSelector):
            ids = cond.resolve_referenced_detections(self.detections)
            if not ids:  # dropped, as pySigma's backends drop it; unused-detection-item reports it
                self.empty.append(f"{cond.args[0]} of {cond.pattern}")
                return None
            kids = [self._identifier(i.identifier, cond_line) for i in ids]
            return (Or if cond.cond_class is ConditionOR else And)([k for k in kids if k is not None])
        if isinstance(cond, ConditionNOT):
            child = self.convert(cond.args[0], cond_line)
            return Not(child) if child is not None else None
        if isinstance(cond, (ConditionAND, ConditionOR)):
            kids = [self.convert(a, cond_line) for a in cond.args]
            return (And if isinstance(cond, ConditionAND) else Or)([k for k in kids if k is not None])
        raise InputError(f"unsupported condition element {type(cond).__name__}", cond_line)

    def _identifier(self, name: str, cond_line: int | None) -> Node | None:
        # The same selection named twice in a condition shares its predicates.
        if name in self._cache:
            return self._cache[name]
        try:
            detection = self.detections.detections[name]
        except KeyError:
            raise InputError(f"condition names '{name}', which is not defined under detection"
                             f"{undefined_hint(name, self.detections.detections)}", cond_line) from None
        section = self.det_nodes.get(name)
        node = self._detection(detection, section.node if section else None, section)
        self._cache[name] = node
        return node

    def _detection(self, det: SigmaDetection, node: yaml.Node | None, section: "_Section | None" = None) -> Node | None:
        items = det.detection_items
        pairs = list(section.keys.values()) if section is not None and section.keys is not None else None
        if pairs is not None and len(pairs) == len(items):
            sub_nodes: list[yaml.Node | None] = [k for k, _ in pairs]
            val_nodes: list[yaml.Node | None] = [v for _, v in pairs]
        elif isinstance(node, yaml.MappingNode):
            sub_nodes = [k for k, _ in node.value]
            val_nodes = [v for _, v in node.value]
        elif isinstance(node, yaml.SequenceNode) and any(isinstance(i, SigmaDetection) for i in items):
            sub_nodes = list(node.value)
            val_nodes = list(node.value)
        else:
            sub_nodes = [node] * len(items)
            val_nodes = [node] * len(items)
        kids: list[Node] = []
        for i, item in enumerate(items):
            knode = sub_nodes[i] if i < len(sub_nodes) else node
            vnode = val_nodes[i] if i < len(val_nodes) else node
            if isinstance(item, SigmaDetection):
                kid = self._detection(item, vnode)
            else:
                kid = self._item(item, knode, vnode)
            if kid is not None:
                kids.append(kid)
        if not kids:
            return None
        linking = And if det.item_linking is ConditionAND else Or
        return kids[0] if len(kids) == 1 else linking(kids)

    def _item(self, item: SigmaDetectionItem, knode: yaml.Node | None, vnode: yaml.Node | None) -> Node | None:
        mods = [reverse_modifier_mapping.get(m.__name__, m.__name__) for m in item.modifiers]
        field = item.field if item.field is not None else KEYWORD_FIELD
        line = line_of(knode)
        note = sigma_hygiene.wildcard_note(item, mods, line)
        if note:
            self.wildcard_notes.append(note)
        self.modifier_notes += sigma_hygiene.modifier_notes(item, mods, line)
        value_lines = _value_lines(vnode, len(item.original_value))
        parsed = [self._value(field, mods, v) for v in item.original_value]
        if not parsed:  # `Field: []` or keyword with nothing: matches nothing useful
            return None
        is_all = "all" in mods
        groups: dict[tuple, list[int]] = {}
        for i, (op, _val, fld, cased, transform) in enumerate(parsed):
            groups.setdefault((op, fld, cased, transform), []).append(i)
        leaves: list[Node] = []
        for (op, fld, cased, transform), idxs in groups.items():
            values = [parsed[i][1] for i in idxs]
            # `|all` ANDs the values: one predicate each, so each can stand alone in a branch.
            chunks = [[v] for v in values] if is_all else [values]
            for chunk in chunks:
                first = idxs[values.index(chunk[0])]
                pline = value_lines[first] if len(chunk) == 1 and value_lines[first] else line
                self.predicates.append(Predicate(
                    field=fld, op=op, values=tuple(dict.fromkeys(chunk)), line=pline or line,
                    native_field=item.field or "", case_sensitive=cased, transform=transform,
                    notes=tuple(m for m in mods if m in ("windash", "expand")),
                ))
                leaves.append(Leaf(len(self.predicates) - 1))
        node: Node = leaves[0] if len(leaves) == 1 else (And if is_all else Or)(leaves)
        if item.negated:  # `neq` modifier
            node = Not(node)
        return node

    def _value(self, field: str, mods: list[str], value: Any) -> tuple[str, str, str, bool, str]:
        """(op, normalized value, field, case_sensitive, transform) of one raw value."""
        time_part = next((m for m in mods if m in _TIME_PARTS), None)
        if time_part:
            field = f"{field}|{time_part}"
        transform = "+".join(m for m in mods if m in _ENCODINGS)
        # Encoded bytes depend on the case written; a placeholder is a name looked up as written.
        cased = "cased" in mods or bool(transform) or "expand" in mods
        if "exists" in mods:
            truthy = bool(value.boolean) if isinstance(value, SigmaBool) else True
            return ("exists" if truthy else "is_null"), "", field, False, ""
        if isinstance(value, SigmaNull):
            return "is_null", "", field, False, ""
        if isinstance(value, (SigmaNumber, SigmaBool)):
            raw = str(value.number) if isinstance(value, SigmaNumber) else str(value.boolean).lower()
            op = next((_CMP[m] for m in mods if m in _CMP), "eq")
            return op, raw, field, False, ""
        if not isinstance(value, SigmaString):
            return "eq", normalize_value(str(value), False), field, False, ""
        if "re" in mods:
            flags = "".join(f for m, f in (("i", "i"), ("ignorecase", "i"), ("m", "m"), ("multiline", "m"),
                                          ("s", "s"), ("dotall", "s")) if m in mods)
            flags = "".join(sorted(set(flags)))
            pattern = value.original if value.original is not None else str(value)
            text = f"(?{flags}){pattern}" if flags else pattern
            return "regex_match", text, field, True, ""
        if "cidr" in mods:
            return "cidr", _plain(value), field, False, ""
        if "fieldref" in mods:
            return "fieldref", _plain(value), field, True, ""
        cmp_op = next((_CMP[m] for m in mods if m in _CMP), None)
        if cmp_op:
            return cmp_op, _plain(value), field, False, ""
        parts = _parts(value)
        if "contains" in mods:
            parts = [STAR, *parts, STAR]
        elif "startswith" in mods:
            parts = [*parts, STAR]
        elif "endswith" in mods:
            parts = [STAR, *parts]
        op, text = classify_pattern(_merge_stars(parts))
        if transform:
            text = f"{transform}({text})"
        return op, normalize_value(text, cased), field, cased, transform


_CMP = {"gt": "gt", "gte": "ge", "lt": "lt", "lte": "le"}


def _parts(value: SigmaString) -> list[str]:
    out: list[str] = []
    for p in value.s:
        if p is SpecialChars.WILDCARD_MULTI:
            out.append(STAR)
        elif p is SpecialChars.WILDCARD_SINGLE:
            out.append(QMARK)
        elif isinstance(p, Placeholder):
            out.append(f"%{p.name}%")
        else:
            out.append(str(p))
    return out


def _merge_stars(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if p is STAR and out and out[-1] is STAR:
            continue
        out.append(p)
    return out


def _plain(value: SigmaString) -> str:
    return "".join(str(p) if not isinstance(p, Placeholder) else f"%{p.name}%" for p in _parts(value))


def _value_lines(node: yaml.Node | None, n: int) -> list[int | None]:
    if isinstance(node, yaml.SequenceNode) and len(node.value) == n:
        return [line_of(v) for v in node.value]
    return [line_of(node)] * n


# -- errors ------------------------------------------------------------------

def _sigma_reason(e: Exception) -> str:
    text = str(e)
    # pySigma appends the source location; we give our own. Object reprs carry memory
    # addresses: a message must read the same every run (caches, diffs of reports).
    text = re.sub(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-fA-F]+>", r"\1", text)
    return re.sub(r"\s*\(in\s.*\)\s*$", "", text) or type(e).__name__


_ERROR_KEYS: list[tuple[type, str]] = [
    (sigma_exc.SigmaModifierError, "detection"),
    (sigma_exc.SigmaConditionError, "detection"),
    (sigma_exc.SigmaDetectionError, "detection"),
    (sigma_exc.SigmaLogsourceError, "logsource"),
    (sigma_exc.SigmaIdentifierError, "id"),
    (sigma_exc.SigmaTitleError, "title"),
    (sigma_exc.SigmaStatusError, "status"),
    (sigma_exc.SigmaLevelError, "level"),
    (sigma_exc.SigmaDateError, "date"),
    (sigma_exc.SigmaModifiedError, "modified"),
    (sigma_exc.SigmaTagError, "tags"),
    (sigma_exc.SigmaRelatedError, "related"),
    (sigma_exc.SigmaFalsePositivesError, "falsepositives"),
    (sigma_exc.SigmaReferencesError, "references"),
    (sigma_exc.SigmaFieldsError, "fields"),
    (sigma_exc.SigmaAuthorError, "author"),
    (sigma_exc.SigmaDescriptionError, "description"),
    (sigma_exc.SigmaLicenseError, "license"),
    (sigma_exc.SigmaScopeError, "scope"),
    (sigma_exc.SigmaCorrelationRuleError, "correlation"),
]


def _error_line(e: Exception, node: yaml.Node) -> int | None:
    text = str(e)
    if isinstance(e, sigma_exc.SigmaModifierError) or "modifier" in text.lower():
        m = re.search(r"'([^']+)'", text)
        if m:
            hit = _find_key(node, lambda k: f"|{m.group(1)}" in k)
            if hit:
                return hit
    for cls, key in _ERROR_KEYS:
        if isinstance(e, cls):
            if key == "detection":
                _, det = mapping_get(node, "detection")
                m = re.search(r"'([^']+)'", text)
                if m and det is not None:
                    k, _ = mapping_get(det, m.group(1))
                    if k is not None:
                        return line_of(k)
                k, _ = mapping_get(det, "condition") if "ondition" in text else (None, None)
                if k is not None:
                    return line_of(k)
            return _key_line(node, key) or line_of(node)
    return line_of(node)


def _key_line(node: yaml.Node, key: str) -> int | None:
    k, _ = mapping_get(node, key)
    return line_of(k)


def _find_key(node: yaml.Node, pred) -> int | None:
    stack: list[yaml.Node] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and isinstance(k.value, str) and pred(k.value):
                    return line_of(k)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None


def load_sigma_text(path: str, text: str) -> LoadResult:
    """Convenience for tests and single-file callers."""
    try:
        docs = load_documents(text)
    except InputError as e:
        return LoadResult(findings=[parse_error(path, e.line, e.reason, e.column)])
    return load_sigma(path, docs)

