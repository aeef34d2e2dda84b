"""Logic of one rule that can never match, or that adds nothing.

The rule's AND-branches (its disjunctive form) are judged one by one: a branch is
contradictory when two of its tests no event passes together, or when a test it
selects implies one it excludes. Every branch contradictory: the rule never matches.

Below the whole rule, findings are about what the author wrote: the alternatives
of an OR (children of an `Or` node outside exclusions). Expanding `(A or B) and
(C or D)` creates the branch `B and C` although nobody wrote it, and a dead
combination is no mistake when each alternative still matches through another
(`(name or original_name) and (... or (original_name and not name))`). So an
alternative is dead only when every branch through it is contradictory, and
redundant only when every branch through it is implied by a branch that does not
go through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..model.rule import NormalizedRule
from ..model.tree import And, Leaf, Node, Not, Or, branches as dnf_branches
from .implication import Atom, atom_implies, atom_order, single_valued
from .logic_text import describe_written
from .logic_view import BranchView, LogicView, traits

# An OR of more alternatives than twice this is checked for exact repeats only.
MAX_SIBLINGS = 32
# Tests of one field in one branch compared pairwise, at most (more: none are).
MAX_SAME_FIELD = 64


@dataclass(slots=True)
class Contradiction:
    """Why one branch never matches: two of its tests no event passes together
    (`kind` "disjoint"), or a test it selects implies one it excludes ("excluded")."""

    branch: int
    kind: str
    selected: Atom
    other: Atom


@dataclass(slots=True)
class Alternative:
    """One child of an OR as written: its positive leaves and the NOT nodes it holds."""

    node: Node
    leaves: frozenset[int]
    nots: frozenset[int]  # id() of NOT nodes directly under it
    parent: int | None  # index of the enclosing alternative
    group: int  # alternatives of one OR share it
    through: list[int]  # branches that take it


@dataclass(slots=True)
class DeadAlternative:
    alt: Alternative
    contradiction: Contradiction


@dataclass(slots=True)
class RedundantAlternative:
    alt: Alternative
    branch: int  # one branch through it ...
    by: int  # ... and a branch outside it that matches all that branch matches
    same: bool  # the two branches match the same events
    sibling: Alternative | None  # the alternative of the same OR the covering branch takes


@dataclass(slots=True)
class DeadLogic:
    contradictions: dict[int, Contradiction]
    total: int  # branches
    complete: bool  # every branch was judged (none cut short)
    dead: list[DeadAlternative]
    redundant: list[RedundantAlternative]

    @property
    def never_matches(self) -> bool:
        return self.complete and self.total > 0 and len(self.contradictions) == self.total


def contradiction(view: LogicView, i: int, b: BranchView, clash: frozenset) -> Contradiction | None:
    """`clash`: the (scope, field) keys on which two of the rule's tests might not meet."""
    hits = []
    by = b.by_field
    for key in clash:
        atoms = by.get(key)
        if atoms and 1 < len(atoms) <= MAX_SAME_FIELD:
            hits.extend((p, q) for x, p in enumerate(atoms) for q in atoms[x + 1:] if view.disjoint(p, q))
    if hits:
        p, q = min(((p, q) if atom_order(p) <= atom_order(q) else (q, p) for p, q in hits),
                   key=lambda pq: (atom_order(pq[0]), atom_order(pq[1])))
        return Contradiction(i, "disjoint", p, q)
    if b.exclusions:
        keys = b.keys()
        for ex in b.exclusions:
            if keys.isdisjoint(ex.tested()):  # none of its branches tests only selected fields
                continue
            for xb, xkeys in ex.branch_keys():
                if not xb or not xkeys <= keys:
                    continue
                evidence = []
                for q in xb:
                    p = next((p for p in by[(q.scope, q.field)] if view.implies(p, q)), None)
                    if p is None:
                        break
                    evidence.append((p, q))
                else:
                    return Contradiction(i, "excluded", *evidence[0])
    return None


def alternatives(tree: Node | None) -> tuple[list[Alternative], dict[int, tuple[int, ...]], dict[int, tuple[int, ...]]]:
    """The OR alternatives outside exclusions (outer before inner), and for each
    positive leaf and each NOT node the alternatives that hold it."""
    out: list[Alternative] = []
    leaf_alts: dict[int, tuple[int, ...]] = {}
    not_alts: dict[int, tuple[int, ...]] = {}
    if tree is None:
        return out, leaf_alts, not_alts
    leaves: list[set[int]] = []
    nots: list[set[int]] = []
    stack: list[tuple[Node, tuple[int, ...]]] = [(tree, ())]
    groups = 0
    while stack:
        node, chain = stack.pop()
        if isinstance(node, Leaf):
            leaf_alts[node.pred] = leaf_alts.get(node.pred, ()) + chain
            for k in chain:
                leaves[k].add(node.pred)
        elif isinstance(node, Not):
            not_alts[id(node)] = chain
            for k in chain:
                nots[k].add(id(node))
        elif isinstance(node, Or):
            groups += 1
            for c in node.children:
                out.append(Alternative(c, frozenset(), frozenset(), chain[-1] if chain else None, groups, []))
                leaves.append(set())
                nots.append(set())
                stack.append((c, chain + (len(out) - 1,)))
        else:
            stack.extend((c, chain) for c in node.children)  # type: ignore[union-attr]
    for k, alt in enumerate(out):
        alt.leaves, alt.nots = frozenset(leaves[k]), frozenset(nots[k])
    return out, leaf_alts, not_alts


# Operators two of which always meet on one value: `contains 'a'` and `contains 'b'`
# both pass `ab`; only equality, prefixes, suffixes, ranges and null tests can clash.
_ALWAYS_MEET = frozenset(("contains", "regex_match", "exists", "wildcard", "fieldref"))


def trivially_live(rule: NormalizedRule) -> bool:
    """Nothing to find, judged from the predicates alone (most rules; no view is built):
    no predicate is used twice, and either no field is tested twice, or the rule has
    one AND-branch whose repeated fields hold only tests that always meet and are not
    both selected and excluded."""
    preds = rule.predicates
    repeated: dict[str, list[int]] = {}
    fields: dict[str, int] = {}
    for i, p in enumerate(preds):
        first = fields.setdefault(p.field, i)
        if first != i:
            repeated.setdefault(p.field, [first]).append(i)
    if repeated:
        found, truncated = rule.branch_view()
        if truncated or len(found) > 1:
            return False
        polarity = rule.polarity
        for group in repeated.values():
            signs = {polarity.get(i) for i in group} - {None}
            if len(signs) > 1:
                return False
            if any(preds[i].op not in _ALWAYS_MEET for i in group):
                return False
    seen: set[int] = set()
    stack = [rule.tree]
    while stack:
        n = stack.pop()
        if isinstance(n, Leaf):
            if n.pred in seen:
                return False
            seen.add(n.pred)
        elif isinstance(n, Not):
            stack.append(n.child)
        elif n is not None:
            stack.extend(n.children)  # type: ignore[union-attr]
    return True


def _clash_keys(view: LogicView) -> frozenset:
    """Fields (with scope) holding one value per event on which the rule has at least two
    different tests, one of them able to miss the other (not only `contains`-like tests)."""
    seen: dict[tuple[str, str], set[Atom]] = {}
    for a in view.atoms:
        seen.setdefault((a.scope, a.field), set()).add(a)
    return frozenset(k for k, atoms in seen.items()
                     if len(atoms) > 1 and single_valued(next(iter(atoms)))
                     and any(a.op not in _ALWAYS_MEET for a in atoms))


def dead_logic(rule: NormalizedRule, view: LogicView) -> DeadLogic:
    branches = view.branches
    found: dict[int, Contradiction] = {}
    clash = _clash_keys(view)
    for i, b in enumerate(branches):
        c = contradiction(view, i, b, clash)
        if c is not None:
            found[i] = c
    result = DeadLogic(found, len(branches), not view.truncated, [], [])
    if len(branches) < 2 or view.truncated or result.never_matches:
        return result
    alts, leaf_alts, not_alts = alternatives(rule.tree)
    for i, b in enumerate(branches):
        taken: set[int] = set()
        for p in b.preds:
            taken.update(leaf_alts.get(p, ()))
        for x in b.exclusions:
            taken.update(not_alts.get(id(x.node), ()))
        for k in taken:
            alts[k].through.append(i)  # type: ignore[union-attr]
    reported: set[int] = set()

    def inside_reported(k: int) -> bool:
        p = alts[k].parent
        while p is not None:
            if p in reported:
                return True
            p = alts[p].parent
        return False

    for k, alt in enumerate(alts):
        if alt.through and all(i in found for i in alt.through) and not inside_reported(k):
            result.dead.append(DeadAlternative(alt, found[alt.through[0]]))
            reported.add(k)
    # Tests before and after an aggregation (or an inline STATS) are not one event's:
    # an alternative feeding the aggregate is not redundant because a later test repeats.
    if not traits(rule)[0]:
        _redundancy(view, branches, alts, reported, inside_reported, found, result)
    return result


_Base = tuple[frozenset[Atom], dict[tuple[str, str], list[Atom]]]  # atoms, and the same by (scope, field)


def _holds(q: Atom, base: frozenset[Atom], by: dict[tuple[str, str], list[Atom]]) -> bool:
    """Every event passing `base` passes `q`."""
    if q in base:
        return True
    # Not `view.implies`: sibling pairs seldom repeat, and its memo costs more than it saves.
    for p in by.get((q.scope, q.field), ()):
        if atom_implies(p, q):
            return True
    return False


class _Siblings:
    """Judges whether a sibling alternative matches every event an alternative matches:
    each own AND-branch of the alternative, together with what every branch of the rule
    requires, implies every test of one own branch of the sibling."""

    def __init__(self, view: LogicView, alts: list[Alternative], required: frozenset[Atom]) -> None:
        self.view, self.alts, self.required = view, alts, required
        self.subs: dict[int, list[frozenset[Atom]] | None] = {}
        self.bases: dict[int, list[_Base]] = {}
        self.keysets: dict[frozenset[Atom], frozenset[tuple[str, str]]] = {}

    def own(self, k: int) -> list[frozenset[Atom]] | None:
        """The alternative's own AND-branches (None: it holds an exclusion)."""
        if k in self.subs:
            return self.subs[k]
        alt, atoms = self.alts[k], self.view.atoms
        node = alt.node
        if alt.nots:
            sub = None
        elif isinstance(node, Leaf):
            sub = [frozenset((atoms[node.pred],))]
        elif isinstance(node, And) and all(isinstance(c, Leaf) for c in node.children):
            sub = [frozenset(atoms[c.pred] for c in node.children)]  # type: ignore[union-attr]
        else:
            found_b, truncated = dnf_branches(node, limit=32)
            sub = None if truncated or any(b.exclusions for b in found_b) else [
                frozenset(atoms[i] for i in b.positive) for b in found_b]
        self.subs[k] = sub
        return sub

    def _bases(self, k: int, mine: list[frozenset[Atom]]) -> list[_Base]:
        """Each own branch of `k` with what the rule requires anyway."""
        bl = self.bases.get(k)
        if bl is None:
            bl = self.bases[k] = []
            for cb in mine:
                base = cb | self.required
                by: dict[tuple[str, str], list[Atom]] = {}
                for a in base:
                    by.setdefault((a.scope, a.field), []).append(a)
                bl.append((base, by))
        return bl

    def _holds_all(self, sb: frozenset[Atom], base: frozenset[Atom], by: dict[tuple[str, str], list[Atom]]) -> bool:
        keys = self.keysets.get(sb)
        if keys is None:
            keys = self.keysets[sb] = frozenset((a.scope, a.field) for a in sb)
        return by.keys() >= keys and all(_holds(q, base, by) for q in sb)

    def first(self, k: int, candidates: list[int]) -> int | None:
        """The first candidate matching every event `k` matches (None: none does).
        `k` and the candidates are alternatives some branch takes."""
        mine = self.own(k)
        if mine is None:
            return None
        bl = self._bases(k, mine)
        return next((m for m in candidates if self._covers(bl, m)), None)

    def _covers(self, bl: list[_Base], m: int) -> bool:
        theirs = self.own(m)
        return theirs is not None and all(any(self._holds_all(sb, base, by) for sb in theirs) for base, by in bl)


def _redundancy(view: LogicView, branches: list[BranchView], alts: list[Alternative], reported: set[int],
                inside_reported: Any, found: dict[int, Contradiction], result: DeadLogic) -> None:
    """Alternatives of one OR compared with their siblings. Alternative `k` adds nothing
    when each of its own AND-branches, together with what every branch of the rule
    requires, implies every test of one branch of a sibling `m`: wherever `k` holds, the
    branch through `m` with the same other choices holds too. Of two equal siblings the
    later is reported."""
    live = [b.atoms for i, b in enumerate(branches) if i not in found]
    required = frozenset.intersection(*live) if live else frozenset()
    cover = _Siblings(view, alts, required)
    own = cover.own

    groups: dict[int, list[int]] = {}
    for k, alt in enumerate(alts):
        groups.setdefault(alt.group, []).append(k)
    firsts: dict[tuple[int, tuple], int] = {}  # a long OR's first alternative of each content
    for g, members in groups.items():
        if len(members) > 2 * MAX_SIBLINGS + 1:
            for m in members:
                mine = own(m)
                if mine is not None:
                    firsts.setdefault((g, tuple(mine)), m)
    for k in range(len(alts) - 1, -1, -1):
        alt = alts[k]
        if k in reported or not alt.through or inside_reported(k) or all(i in found for i in alt.through):
            continue
        siblings = [m for m in groups[alt.group] if m != k and m not in reported and alts[m].through]
        if len(siblings) > 2 * MAX_SIBLINGS:
            mine = own(k)  # a long list: exact repeats only
            first = firsts.get((alt.group, tuple(mine))) if mine is not None else None
            siblings = [first] if first is not None and first != k and first not in reported else []
        m = cover.first(k, siblings)
        if m is not None:
            result.redundant.append(RedundantAlternative(alt, alt.through[0], alts[m].through[0],
                                                         cover.first(m, [k]) is not None, alts[m]))
            reported.add(k)


def describe_contradiction(rule: NormalizedRule, view: LogicView, c: Contradiction, subject: str = "it") -> str:
    """`it requires A and B, and process.name holds one value per event` (or the
    selected-and-excluded form)."""
    a, b = describe_written(rule, view, c.selected), describe_written(rule, view, c.other)
    if c.kind == "excluded":
        if a == b:
            return f"{subject} both requires and excludes {a}"
        return f"{subject} requires {a} and excludes {b}, which every event it selects passes"
    if "is_null" in (c.selected.op, c.other.op):
        return f"{subject} requires {a} and {b}, and a missing field fails every other test"
    return f"{subject} requires {a} and {b}, and {c.selected.field} holds one value per event"


def line_of(rule: NormalizedRule, preds: Any) -> int | None:
    lines = [rule.predicates[i].line for i in preds if rule.predicates[i].line]
    return min(lines, default=rule.logic_line or rule.line)


def find_dead_logic(rule: NormalizedRule, view: Callable[[NormalizedRule], LogicView]) -> DeadLogic:
    """The rule's dead logic; a trivially live rule's without building its view."""
    if trivially_live(rule):
        return DeadLogic({}, 0, True, [], [])
    return dead_logic(rule, view(rule))
