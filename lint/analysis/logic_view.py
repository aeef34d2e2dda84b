"""A rule's logic as the comparisons read it: AND-branches of atoms and exclusions.

`LogicView` is derived once per rule (kept in the run's `Analysis`) and shared by
the overlap and dead-logic checks. Branches come from the rule's disjunctive form;
`merged()` also folds branches that differ in one value list (`Image ∈ {a}` or
`Image ∈ {b}` is `Image ∈ {a, b}`), so a value list and separate selections
compare alike.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..model.rule import NormalizedRule
from ..model.tree import And, Leaf, Node, Not, Or, branches as dnf_branches
from .implication import AGGREGATE_NOTES, Atom, atom_implies, atom_of, atoms_disjoint, path_fields, single_valued

# Fields (and values) that say which log or event class a rule reads, where another
# rule says the same through its log source or query type (Sigma `logsource:`,
# EQL `process where`, a Splunk data model). A test on one of them is ignored when
# the rule compared with does not test that field at all.
LOGSOURCE_FIELDS = frozenset((
    "event.category", "event.kind", "host.os.type", "host.os.family", "host.os.platform", "os.type",
    "agent.type", "event.module", "event.dataset", "data_stream.dataset", "data_stream.namespace",
    "winlog.channel", "sourcetype", "source", "index", "eventtype",
))
# `event.type` says the event class only in these values (a process start, a file
# creation); `deletion` or `end` are part of what the rule detects.
LOGSOURCE_EVENT_TYPES = frozenset(("start", "process_started", "creation", "change"))

_EMPTY: frozenset = frozenset()


def is_logsource_atom(a: Atom) -> bool:
    if a.opaque:
        return False
    if a.field in LOGSOURCE_FIELDS:
        return a.op in ("eq", "wildcard", "starts_with", "exists")
    return a.field == "event.type" and a.op == "eq" and a.values <= LOGSOURCE_EVENT_TYPES


class Exclusion:
    """One NOT-subtree ANDed to a branch: its canonical shape (for identity) and its
    own AND-branches (None when it nests another NOT or is too large to expand)."""

    __slots__ = ("node", "view", "_sig", "_dnf", "_done", "_keys", "_tested")

    def __init__(self, node: Not, view: "LogicView") -> None:
        self.node, self.view = node, view
        self._sig: Any = None
        self._dnf: tuple[tuple[Atom, ...], ...] | None = None
        self._done = False
        self._keys: list[tuple[tuple[Atom, ...], frozenset]] | None = None
        self._tested: frozenset | None = None

    @property
    def sig(self) -> Any:
        if self._sig is None:
            self._sig = _shape(self.node.child, self.view.atoms)
        return self._sig

    @property
    def dnf(self) -> tuple[tuple[Atom, ...], ...] | None:
        if not self._done:
            self._done = True
            found, truncated = dnf_branches(self.node.child, limit=64)
            if not truncated and all(not b.exclusions for b in found):
                atoms = self.view.atoms
                self._dnf = tuple(tuple(atoms[i] for i in sorted(b.positive)) for b in found)
        return self._dnf

    def branch_keys(self) -> list[tuple[tuple[Atom, ...], frozenset]]:
        """Each branch of the exclusion with the (scope, field) pairs it tests."""
        if self._keys is None:
            self._keys = [(xb, frozenset((a.scope, a.field) for a in xb)) for xb in self.dnf or ()]
        return self._keys

    def preds(self) -> list[int]:
        return sorted(_leaves(self.node))

    def tested(self) -> frozenset:
        """The (scope, field) pairs any of its tests reads (cheaper than its branches)."""
        if self._tested is None:
            atoms = self.view.atoms
            self._tested = frozenset((atoms[i].scope, atoms[i].field) for i in _leaves(self.node))
        return self._tested


class BranchView:
    """One AND-branch: positive atoms (with the predicates they came from) and exclusions."""

    __slots__ = ("atoms", "by_field", "exclusions", "preds", "excl_sigs", "_keys")

    def __init__(self, atoms: Iterable[Atom], exclusions: tuple[Exclusion, ...], preds: tuple[int, ...]) -> None:
        self.atoms = frozenset(atoms)
        by: dict[tuple[str, str], list[Atom]] = {}
        for a in self.atoms:
            k = (a.scope, a.field)
            if k in by:
                by[k].append(a)
            else:
                by[k] = [a]
        self.by_field = by
        self.exclusions = exclusions
        self.preds = preds
        self.excl_sigs: frozenset | None = None
        self._keys: frozenset | None = None

    def keys(self) -> frozenset:
        """The (scope, field) pairs the branch tests positively."""
        if self._keys is None:
            self._keys = frozenset(self.by_field)
        return self._keys

    def exclusion_sigs(self) -> frozenset:
        if self.excl_sigs is None:
            self.excl_sigs = frozenset(x.sig for x in self.exclusions)
        return self.excl_sigs


class LogicView:
    """The atoms of every predicate and the AND-branches over them; what only some
    analyses read (native fields, field sets, merged branches) is derived on demand."""

    __slots__ = ("rule", "atoms", "branches", "truncated", "_natives", "_fields", "_logsource",
                 "_merged", "_excl", "_up", "_dis")

    def __init__(self, rule: NormalizedRule) -> None:
        self.rule = rule
        self.atoms = atoms = [atom_of(p) for p in rule.predicates]
        raw, self.truncated = rule.branch_view()
        if self.truncated:
            raw = []  # an incomplete expansion supports no conclusion; building it costs most
        self._excl: dict[int, Exclusion] = {}
        self.branches = [
            BranchView((atoms[i] for i in b.positive),
                       tuple(self._exclusion(x) for x in b.exclusions) if b.exclusions else (),
                       tuple(sorted(b.positive)))
            for b in raw
        ]
        self._natives: dict[Atom, set[str]] | None = None
        self._fields: frozenset[str] | None = None
        self._logsource: frozenset[str] | None = None
        self._merged: list[BranchView] | None = None
        self._up: dict[tuple[Atom, Atom], bool] | None = None
        self._dis: dict[tuple[Atom, Atom], bool] | None = None

    def implies(self, p: Atom, q: Atom) -> bool:
        """`atom_implies` remembered for the rule: its branches repeat the same pairs."""
        memo = self._up
        if memo is None:
            memo = self._up = {}
        v = memo.get((p, q))
        if v is None:
            v = memo[(p, q)] = p == q or atom_implies(p, q)
        return v

    def disjoint(self, p: Atom, q: Atom) -> bool:
        """No event passes both (one field holding one value, written as one native field)."""
        memo = self._dis
        if memo is None:
            memo = self._dis = {}
        v = memo.get((p, q))
        if v is None:
            natives = self.natives
            v = memo[(p, q)] = bool(single_valued(p) and natives[p] & natives[q] and atoms_disjoint(p, q))
        return v

    @property
    def natives(self) -> dict[Atom, set[str]]:
        """The fields as written behind each atom: two native fields a loose mapping folds
        into one canonical name (CIM `registry_key_name` and `registry_path`) are not one field."""
        if self._natives is None:
            natives: dict[Atom, set[str]] = {}
            for a, p in zip(self.atoms, self.rule.predicates):
                natives.setdefault(a, set()).add((p.native_field or p.field).casefold())
            self._natives = natives
        return self._natives

    @property
    def fields(self) -> frozenset[str]:
        if self._fields is None:
            self._fields = frozenset(a.field for a in self.atoms)
        return self._fields

    @property
    def logsource_fields(self) -> frozenset[str]:
        if self._logsource is None:
            self._logsource = frozenset(a.field for a in self.atoms if is_logsource_atom(a))
        return self._logsource

    def _exclusion(self, node: Node) -> Exclusion:
        x = self._excl.get(id(node))
        if x is None:
            x = self._excl[id(node)] = Exclusion(node, self)  # type: ignore[arg-type]
        return x

    def merged(self) -> list[BranchView]:
        """Branches with value lists folded: branches equal but for one atom's values
        (same field, operator and case) become one branch with the values joined."""
        if self._merged is None:
            self._merged = _merge(self.branches) if len(self.branches) > 1 else self.branches
        return self._merged


def traits(rule: NormalizedRule) -> tuple[bool, bool]:
    """(aggregate, sequence): tests after an aggregation, steps of an event sequence."""
    aggregate = sequence = False
    for p in rule.predicates:
        for n in p.notes:
            if n in AGGREGATE_NOTES:
                aggregate = True
            elif n.startswith("step"):
                sequence = True
    return aggregate, sequence


def branch_implies(a: BranchView, b: BranchView, skip: frozenset = _EMPTY,
                   memo: dict[tuple[Atom, Atom], bool] | None = None) -> bool:
    """Every event in branch `a` is in branch `b`: each positive atom of `b` (those on
    `skip` fields aside) is implied by an atom of `a`, and `b`'s exclusions remove
    nothing `a` keeps. `memo` keeps atom verdicts across the many branch pairs of one
    comparison."""
    diff = b.atoms - a.atoms
    if diff:
        by = a.by_field
        for q in diff:
            if skip and q.field in skip and is_logsource_atom(q):
                continue
            cands = by.get((q.scope, q.field))
            paths = path_fields(q.field)
            if paths:  # a full path also tells the name
                cands = list(cands or ()) + [p for f in paths for p in by.get((q.scope, f), ())]
            if not cands:
                return False
            for p in cands:
                if memo is None:
                    ok = atom_implies(p, q)
                else:
                    ok = memo.get((p, q))
                    if ok is None:
                        ok = memo[(p, q)] = atom_implies(p, q)
                if ok:
                    break
            else:
                return False
    if b.exclusions and b.exclusions != a.exclusions:
        for x in b.exclusions:
            if not exclusion_covered(x, a):
                return False
    return True


def exclusion_covered(x: Exclusion, a: BranchView) -> bool:
    """What `x` removes, branch `a` removes too or never holds."""
    if any(y is x for y in a.exclusions) or x.sig in a.exclusion_sigs():
        return True
    dnf = x.dnf
    if dnf is None:
        return False
    for xb in dnf:
        if branch_disjoint(a, xb, sql_nulls=True):
            continue
        if any(_within(xb, y) for y in a.exclusions):
            continue
        return False
    return True


def _within(xb: tuple[Atom, ...], y: Exclusion) -> bool:
    """The events of `xb` all fall in exclusion `y`."""
    dnf = y.dnf
    if not dnf:
        return False
    return any(all(any(p.field == q.field and p.scope == q.scope and atom_implies(p, q) for p in xb) for q in yb)
               for yb in dnf)


def branch_disjoint(a: BranchView, atoms: Iterable[Atom], sql_nulls: bool = False) -> tuple[Atom, Atom] | None:
    """A pair of tests, one of `a` and one of `atoms`, that no single event passes.

    With `sql_nulls` (`atoms` form an exclusion), `a` testing a missing field proves
    nothing: ES|QL, and SPL's `!=`, drop events missing the field from `NOT f == x`
    too, which is why rules add `or f is null`."""
    by = a.by_field
    for q in atoms:
        cands = by.get((q.scope, q.field))
        if cands and single_valued(q):
            for p in cands:
                if sql_nulls and p.op == "is_null":
                    continue
                if atoms_disjoint(p, q):
                    return p, q
    return None


def skip_fields(a: LogicView, b: LogicView) -> tuple[frozenset, frozenset]:
    """Log-source fields each side may ignore: those the other rule never tests."""
    return (a.logsource_fields - b.fields, b.logsource_fields - a.fields)


def rule_implies(a: LogicView, b: LogicView, skip_b: frozenset = _EMPTY) -> list[tuple[int, int]] | None:
    """Every AND-branch of `a` implies some AND-branch of `b`: the (a, b) branch pairs,
    or None. A view whose branches were cut short never implies anything."""
    if a.truncated:
        return None
    pairs = []
    bb = b.merged()
    memo: dict[tuple[Atom, Atom], bool] = {}
    for i, x in enumerate(a.merged()):
        for j, y in enumerate(bb):
            if branch_implies(x, y, skip_b, memo):
                pairs.append((i, j))
                break
        else:
            return None
    return pairs


# -- shapes and merging ------------------------------------------------------------

def _shape(node: Node, atoms: list[Atom]) -> Any:
    """A hashable canonical form of a subtree: children unordered."""
    if isinstance(node, Leaf):
        return atoms[node.pred]
    if isinstance(node, Not):
        return ("!", _shape(node.child, atoms))
    return ("&" if isinstance(node, And) else "|", frozenset(_shape(c, atoms) for c in node.children))


def _leaves(node: Node) -> set[int]:
    out: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Leaf):
            out.add(n.pred)
        elif isinstance(n, Not):
            stack.append(n.child)
        elif isinstance(n, (And, Or)):
            stack.extend(n.children)
    return out


# Folding lists costs more than it finds on large rules (an OR of many value lists).
MAX_MERGE_BRANCHES = 16


def _merge(branches: list[BranchView]) -> list[BranchView]:
    if len(branches) > MAX_MERGE_BRANCHES or not _mergeable(branches):
        return branches
    items = [(b.atoms, b.exclusions, b.preds) for b in branches]
    for _ in range(4):  # each pass folds one more list; real rules settle in one or two
        groups: dict[tuple, list[int]] = {}
        for idx, (atoms, excl, _p) in enumerate(items):
            sig = frozenset(x.sig for x in excl)
            for a in sorted(atoms, key=_merge_order):
                if a.opaque:
                    continue
                groups.setdefault((atoms - {a}, sig, a.scope, a.field, a.op, a.cs), []).append(idx)
        used: set[int] = set()
        out = []
        for (rest, _sig, scope, field, op, cs), members in groups.items():
            members = [m for m in members if m not in used]
            if len(members) < 2:
                continue
            values: set[str] = set()
            preds: set[int] = set()
            for m in members:
                atoms, excl, p = items[m]
                values.update(next(iter(atoms - rest)).values)
                preds.update(p)
                used.add(m)
            out.append((rest | {Atom(field, op, frozenset(values), cs, scope)}, items[members[0]][1],
                        tuple(sorted(preds))))
        if not out:
            break
        items = out + [it for i, it in enumerate(items) if i not in used]
    items.sort(key=lambda it: it[2])  # a stable order whatever the sets' iteration order
    return [BranchView(atoms, excl, preds) for atoms, excl, preds in items]


def _merge_order(a: Atom) -> tuple:
    return (a.scope, a.field, a.op, a.cs, min(a.values, default=""))


def _mergeable(branches: list[BranchView]) -> bool:
    """Two different atoms share a field, operator and case somewhere: a fold is possible."""
    seen: dict[tuple, Atom] = {}
    for b in branches:
        for a in b.atoms:
            if a.opaque:
                continue
            k = (a.scope, a.field, a.op, a.cs)
            prev = seen.setdefault(k, a)
            if prev != a:
                return True
    return False
