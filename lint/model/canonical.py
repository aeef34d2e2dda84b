"""One indicator whoever wrote it: canonical fields and equivalent values.

Loaders record predicates as the rule writes them. This pass, run once per loaded
rule, maps each field to its canonical (ECS) name and rewrites values that mean
the same test: `Image|endswith: '\\cmd.exe'` tests the process name, so it becomes
`process.name eq 'cmd.exe'`, the indicator EQL's `process.name : "cmd.exe"` and
SPL's `Processes.process_name=cmd.exe` also yield. The written form stays on the
predicate (`native`) for messages.
"""

from __future__ import annotations

from .fields import canonical_field, name_field
from .predicate import KEYWORD_FIELD, IndicatorKey, Predicate
from .rule import NormalizedRule
from .tree import Leaf, Node, Not, Or

_SEPARATORS = ("\\", "/")


def equivalent(field: str, op: str, value: str) -> tuple[str, str, str]:
    """The canonical (field, op, value) of one test on a canonical field.

    A path that ends with `\\name` (or `/name`) names the file exactly; a suffix
    without separator is a suffix of the name too.
    """
    name = name_field(field)
    if name is None or op != "ends_with":
        return field, op, value
    if value[:1] in _SEPARATORS:
        rest = value[1:]
        if rest and not any(s in rest for s in _SEPARATORS):
            return name, "eq", rest
        return field, op, value
    if value and not any(s in value for s in _SEPARATORS):
        return name, "ends_with", value
    return field, op, value


def canonicalize(rule: NormalizedRule) -> None:
    """Rewrite the rule's predicates in canonical terms (in place). A predicate whose
    values split across fields or operators becomes an OR of predicates."""
    category = rule.logsource.category
    splits: dict[int, list[int]] = {}
    preds = rule.predicates
    for i in range(len(preds)):
        p = preds[i]
        written = p.native_field or p.field
        field = written if written == KEYWORD_FIELD else _canonical(rule.vendor, written, category)
        if p.values and (p.op != "ends_with" or name_field(field) is None):
            # Most tests keep their values (only a path suffix can become a name): rename only.
            p.native_field, p.field = written, field
            p.values = tuple(dict.fromkeys(p.values))
            p._keys = None
            p.native = () if written == field else tuple(IndicatorKey(written, p.op, v) for v in p.values)
            continue
        groups: dict[tuple[str, str], list[tuple[str, IndicatorKey]]] = {}
        for v in p.values:
            f, op, val = equivalent(field, p.op, v)
            groups.setdefault((f, op), []).append((val, IndicatorKey(written, p.op, v)))
        items = list(groups.items())
        if not items:
            p.native_field, p.field = written, field
            continue
        (f0, op0), vals0 = items[0]
        _set(p, written, f0, op0, vals0)
        extra = []
        for (f, op), vals in items[1:]:
            q = Predicate(field=f, op=op, values=(), line=p.line, native_field=written,
                          case_sensitive=p.case_sensitive, transform=p.transform, notes=p.notes)
            _set(q, written, f, op, vals)
            preds.append(q)
            extra.append(len(preds) - 1)
        if extra:
            splits[i] = [i, *extra]
    if splits:
        rule.tree = _split_leaves(rule.tree, splits)
    rule._polarity = rule._branches = rule._keys = None


_FIELDS: dict[tuple[str, str, str], str] = {}


def _canonical(vendor: str, written: str, category: str) -> str:
    # A few hundred distinct (vendor, field, category) triples across thousands of rules.
    key = (vendor, written, category)
    found = _FIELDS.get(key)
    if found is None:
        found = canonical_field(vendor, written, category)
        if len(_FIELDS) < 50_000:
            _FIELDS[key] = found
    return found


def _set(p: Predicate, written: str, field: str, op: str, vals: list[tuple[str, IndicatorKey]]) -> None:
    p.native_field, p.field, p.op = written, field, op
    p.values = tuple(dict.fromkeys(v for v, _ in vals))
    natives = {}
    for v, nk in vals:
        natives.setdefault(v, nk)  # two written forms of one value keep the first
    p._keys = None
    native = tuple(natives[v] for v in p.values)
    # Most predicates are written in canonical terms already: keep only real differences.
    p.native = () if native == p.keys() else native


def _split_leaves(node: Node | None, splits: dict[int, list[int]]) -> Node | None:
    if node is None:
        return None
    if isinstance(node, Leaf):
        idx = splits.get(node.pred)
        return Or([Leaf(j) for j in idx]) if idx else node
    if isinstance(node, Not):
        return Not(_split_leaves(node.child, splits))
    return type(node)([_split_leaves(c, splits) for c in node.children])

