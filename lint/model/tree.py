"""A rule's boolean structure over its predicates (AND / OR / NOT / leaf)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Union


@dataclass(slots=True)
class Leaf:
    pred: int  # index into NormalizedRule.predicates


@dataclass(slots=True)
class And:
    children: list["Node"]


@dataclass(slots=True)
class Or:
    children: list["Node"]


@dataclass(slots=True)
class Not:
    child: "Node"


Node = Union[Leaf, And, Or, Not]

# Past this many AND-branches the expansion stops; callers see `truncated`.
MAX_BRANCHES = 512


def simplify(node: Node | None) -> Node | None:
    """Flatten nested AND/OR, drop empty groups and double negations.

    It runs on every parser's raw tree, before any depth check: the recursive walk is the
    fast one for real rules, and a tree too deep for it is done again iteratively."""
    try:
        return _simplify(node)
    except RecursionError:
        return _simplify_iteratively(node)


def _simplify(node: Node | None) -> Node | None:
    if node is None or isinstance(node, Leaf):
        return node
    if isinstance(node, Not):
        child = _simplify(node.child)
        if child is None:
            return None
        if isinstance(child, Not):
            return child.child
        return Not(child)
    return _join(type(node), [_simplify(c) for c in node.children])


def _join(kind: type, parts: list[Node | None]) -> Node | None:
    """An AND/OR of simplified parts: empty ones dropped, same-kind ones flattened in."""
    flat: list[Node] = []
    for s in parts:
        if s is None:
            continue
        if type(s) is kind:
            flat.extend(s.children)  # type: ignore[union-attr]
        else:
            flat.append(s)
    return None if not flat else flat[0] if len(flat) == 1 else kind(flat)


def _simplify_iteratively(node: Node | None) -> Node | None:
    """`_simplify` as a post-order walk over an explicit stack, same result."""
    if node is None or isinstance(node, Leaf):
        return node
    results: list[Node | None] = []  # simplified subtrees, in visiting order
    stack: list[tuple[Node | None, bool]] = [(node, False)]
    while stack:
        n, ready = stack.pop()
        if n is None or isinstance(n, Leaf):
            results.append(n)
        elif not ready:
            stack.append((n, True))
            kids = (n.child,) if isinstance(n, Not) else n.children
            stack.extend((c, False) for c in reversed(kids))
        elif isinstance(n, Not):
            child = results.pop()
            results.append(None if child is None else child.child if isinstance(child, Not) else Not(child))
        else:
            kids = results[len(results) - len(n.children):]
            del results[len(results) - len(n.children):]
            results.append(_join(type(n), kids))
    return results[0]


def polarities(node: Node | None) -> dict[int, bool]:
    """Predicate index -> True where it is positive, False where excluded (odd number of NOTs).
    A predicate reached both ways counts as positive."""
    out: dict[int, bool] = {}

    def walk(n: Node, negated: bool) -> None:
        if isinstance(n, Leaf):
            out[n.pred] = out.get(n.pred, False) or not negated
        elif isinstance(n, Not):
            walk(n.child, not negated)
        else:
            for c in n.children:
                walk(c, negated)

    if node is not None:
        _iterative_guard(node)
        walk(node, False)
    return out


@dataclass(frozen=True, slots=True)
class Branch:
    """One AND-branch of the rule's disjunctive form: positive leaves, and the
    NOT-subtrees (exclusions) ANDed with them, kept opaque."""

    positive: frozenset[int]
    exclusions: tuple[Node, ...]


def branches(node: Node | None, limit: int = MAX_BRANCHES) -> tuple[list[Branch], bool]:
    """Disjunctive normal form over positive leaves, NOT-subtrees kept whole.

    Returns (branches, truncated). Exclusions stay opaque because expanding
    `not (a and b)` multiplies branches without changing which positive
    predicates stand together.
    """
    if node is None:
        return [], False
    truncated = False

    def dnf(n: Node) -> list[tuple[frozenset[int], tuple[Node, ...]]]:
        nonlocal truncated
        if isinstance(n, Leaf):
            return [(frozenset((n.pred,)), ())]
        if isinstance(n, Not):
            return [(frozenset(), (n,))]
        if isinstance(n, Or):
            out: list[tuple[frozenset[int], tuple[Node, ...]]] = []
            for c in n.children:
                out.extend(dnf(c))
                if len(out) > limit:
                    truncated = True
                    return out[:limit]
            return out
        acc: list[tuple[frozenset[int], tuple[Node, ...]]] = [(frozenset(), ())]
        for c in n.children:
            sub = dnf(c)
            nxt = []
            for pos, exc in acc:
                for spos, sexc in sub:
                    nxt.append((pos | spos, exc + sexc))
                    if len(nxt) > limit:
                        truncated = True
                        break
                if len(nxt) > limit:
                    break
            acc = nxt[:limit]
        return acc

    _iterative_guard(node)
    result: dict[tuple, Branch] = {}
    for pos, exc in dnf(node):
        # `sel or sel` is one branch: repeats must not weigh twice.
        result.setdefault((pos, tuple(sorted(id(e) for e in exc))), Branch(pos, exc))
    return list(result.values()), truncated


def leaves(node: Node | None) -> Iterator[int]:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, Leaf):
            yield n.pred
        elif isinstance(n, Not):
            stack.append(n.child)
        else:
            stack.extend(n.children)


def depth(node: Node | None) -> int:
    best = 0
    stack = [(node, 1)] if node is not None else []
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        if isinstance(n, Not):
            stack.append((n.child, d + 1))
        elif isinstance(n, (And, Or)):
            stack.extend((c, d + 1) for c in n.children)
    return best


# Recursive walks above are safe to this depth; loaders reject deeper trees.
MAX_DEPTH = 200


def _iterative_guard(node: Node) -> None:
    if depth(node) > MAX_DEPTH:
        raise ValueError(f"condition nests deeper than {MAX_DEPTH} levels")


def to_dict(node: Node | None) -> object:
    """JSON-friendly form of the tree."""
    if node is None:
        return None
    if isinstance(node, Leaf):
        return node.pred
    if isinstance(node, Not):
        return {"not": to_dict(node.child)}
    return {"and" if isinstance(node, And) else "or": [to_dict(c) for c in node.children]}


def to_compact(node: Node | None) -> object:
    """Nested tuples and ints: how trees cross process boundaries (pickling dataclass
    nodes one by one costs more than loading the rule)."""
    if node is None or isinstance(node, Leaf):
        return None if node is None else node.pred
    if isinstance(node, Not):
        return ("!", to_compact(node.child))
    return ("&" if isinstance(node, And) else "|", tuple(to_compact(c) for c in node.children))


def from_compact(data: object) -> Node | None:
    if data is None:
        return None
    if isinstance(data, int):
        return Leaf(data)
    tag, body = data  # type: ignore[misc]
    if tag == "!":
        return Not(from_compact(body))  # type: ignore[arg-type]
    return (And if tag == "&" else Or)([from_compact(c) for c in body])  # type: ignore[misc]
