"""The boolean tree: simplify, polarities, DNF branches, depth guard, to_dict."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulelint.model.tree import (
    MAX_BRANCHES,
    MAX_DEPTH,
    And,
    Branch,
    Leaf,
    Not,
    Or,
    branches,
    depth,
    leaves,
    polarities,
    simplify,
    to_dict,
)

A, B, C, D, E = (Leaf(i) for i in range(5))


def evaluate(node, env: dict[int, bool]) -> bool:
    if isinstance(node, Leaf):
        return env[node.pred]
    if isinstance(node, Not):
        return not evaluate(node.child, env)
    if isinstance(node, And):
        return all(evaluate(c, env) for c in node.children)
    return any(evaluate(c, env) for c in node.children)


def eval_branches(bs: list[Branch], env: dict[int, bool]) -> bool:
    return any(
        all(env[p] for p in b.positive) and all(evaluate(x, env) for x in b.exclusions)
        for b in bs
    )


def nest_not(node, n: int):
    for _ in range(n):
        node = Not(node)
    return node


def nest_and(node, n: int):
    """`n` levels of And([Leaf, ...]) around `node`; depth grows by n."""
    for i in range(n):
        node = And([Leaf(1000 + i), node])
    return node


# Trees without empty groups, over predicates 0..3.
trees = st.recursive(
    st.integers(0, 3).map(Leaf),
    lambda kids: st.one_of(
        kids.map(Not),
        st.lists(kids, min_size=1, max_size=3).map(And),
        st.lists(kids, min_size=1, max_size=3).map(Or),
    ),
    max_leaves=10,
)


def all_envs(n: int = 4):
    for bits in itertools.product((False, True), repeat=n):
        yield dict(enumerate(bits))


# -- simplify -------------------------------------------------------------------

def test_simplify_none_and_leaf():
    assert simplify(None) is None
    assert simplify(A) == A


def test_simplify_flattens_same_kind():
    assert simplify(Or([Or([A, B]), C])) == Or([A, B, C])
    assert simplify(And([A, And([B, And([C, D])])])) == And([A, B, C, D])


def test_simplify_keeps_alternating_kinds():
    tree = And([A, Or([B, C])])
    assert simplify(tree) == And([A, Or([B, C])])
    # An Or inside an And inside an Or is not merged into the outer Or.
    assert simplify(Or([And([A, Or([B, C])]), D])) == Or([And([A, Or([B, C])]), D])


def test_simplify_single_child_group_collapses():
    assert simplify(And([A])) == A
    assert simplify(Or([And([Or([B])])])) == B
    # A collapsed group can then flatten into its grandparent.
    assert simplify(Or([A, And([Or([B, C])])])) == Or([A, B, C])


def test_simplify_double_negation():
    assert simplify(Not(Not(A))) == A
    assert simplify(nest_not(A, 3)) == Not(A)
    assert simplify(nest_not(A, 4)) == A
    # Hidden behind a one-child group.
    assert simplify(Not(And([Not(B)]))) == B
    assert simplify(And([A, Not(Not(Or([B, C])))])) == And([A, Or([B, C])])


def test_simplify_drops_empty_groups():
    assert simplify(And([])) is None
    assert simplify(Or([])) is None
    assert simplify(Not(Or([]))) is None
    assert simplify(And([Or([]), And([])])) is None
    assert simplify(And([A, Or([])])) == A
    assert simplify(Or([A, Not(And([])), B])) == Or([A, B])


@settings(max_examples=200, deadline=None)
@given(trees)
def test_simplify_preserves_meaning(tree):
    s = simplify(tree)
    assert s is not None
    for env in all_envs():
        assert evaluate(s, env) == evaluate(tree, env)
    # Idempotent, and no directly nested groups of the same kind or double NOTs remain.
    assert simplify(s) == s
    stack = [s]
    while stack:
        n = stack.pop()
        if isinstance(n, Not):
            assert not isinstance(n.child, Not)
            stack.append(n.child)
        elif isinstance(n, (And, Or)):
            assert len(n.children) >= 2
            assert all(type(c) is not type(n) for c in n.children)
            stack.extend(n.children)


# -- polarities -----------------------------------------------------------------

def test_polarities_none():
    assert polarities(None) == {}


def test_polarities_positive_and_excluded():
    tree = And([A, Or([B, C]), Not(Or([D, E]))])
    assert polarities(tree) == {0: True, 1: True, 2: True, 3: False, 4: False}


def test_polarities_count_nots():
    assert polarities(Not(Not(A))) == {0: True}
    assert polarities(nest_not(A, 3)) == {0: False}
    assert polarities(And([B, Not(And([C, Not(D)]))])) == {1: True, 2: False, 3: True}


@pytest.mark.parametrize("tree", [And([A, Not(A)]), And([Not(A), A]), Or([Not(Not(Not(A))), A])])
def test_polarities_positive_wins_when_reached_both_ways(tree):
    assert polarities(tree) == {0: True}


def test_polarities_covers_every_leaf():
    tree = Or([And([A, Not(B)]), Not(Not(C)), D])
    assert set(polarities(tree)) == set(leaves(tree)) == {0, 1, 2, 3}


# -- branches -------------------------------------------------------------------

def _pos(bs):
    return sorted(sorted(b.positive) for b in bs)


def test_branches_none():
    assert branches(None) == ([], False)


def test_branches_leaf():
    assert branches(A) == ([Branch(frozenset({0}), ())], False)


def test_branches_dnf():
    tree = And([Or([A, B]), Or([C, D])])
    bs, truncated = branches(tree)
    assert not truncated
    assert _pos(bs) == [[0, 2], [0, 3], [1, 2], [1, 3]]
    assert all(b.exclusions == () for b in bs)


def test_branches_keep_not_subtrees_opaque():
    excl = Not(And([C, D]))  # would become two branches if expanded
    tree = And([Or([A, B]), excl])
    bs, truncated = branches(tree)
    assert not truncated
    assert len(bs) == 2
    assert _pos(bs) == [[0], [1]]
    for b in bs:
        assert b.exclusions == (excl,)
        assert b.exclusions[0] is excl


def test_branches_only_exclusions():
    excl = Not(A)
    bs, _ = branches(excl)
    assert bs == [Branch(frozenset(), (excl,))]


def test_branches_collect_several_exclusions():
    n1, n2 = Not(C), Not(Or([D, E]))
    bs, _ = branches(And([A, n1, B, n2]))
    assert bs == [Branch(frozenset({0, 1}), (n1, n2))]


def test_branches_or_of_ands():
    tree = Or([And([A, B]), And([C, Not(D)]), E])
    bs, truncated = branches(tree)
    assert not truncated
    assert _pos(bs) == [[0, 1], [2], [4]]


@settings(max_examples=200, deadline=None)
@given(trees)
def test_branches_are_equivalent_to_the_tree(tree):
    bs, truncated = branches(tree)
    assert not truncated  # at most 10 leaves: far below the limit
    for env in all_envs():
        assert eval_branches(bs, env) == evaluate(tree, env)
    pol = polarities(tree)
    for b in bs:
        # Positive leaves of a branch are outside any NOT, so polarity says positive.
        assert all(pol[p] for p in b.positive)
        assert all(isinstance(x, Not) for x in b.exclusions)


def test_branches_exactly_at_limit_not_truncated():
    tree = Or([Leaf(i) for i in range(4)])
    bs, truncated = branches(tree, limit=4)
    assert len(bs) == 4 and not truncated


def test_branches_truncated_in_or():
    tree = Or([Leaf(i) for i in range(10)])
    bs, truncated = branches(tree, limit=4)
    assert truncated
    assert len(bs) == 4


def test_branches_truncated_in_and():
    tree = And([Or([Leaf(i) for i in range(3)]), Or([Leaf(i) for i in range(3, 6)])])  # 9 branches
    bs, truncated = branches(tree, limit=5)
    assert truncated
    assert len(bs) == 5
    full, t2 = branches(tree, limit=9)
    assert not t2 and len(full) == 9


def test_branches_default_limit():
    # 3**6 = 729 branches > MAX_BRANCHES.
    tree = And([Or([Leaf(3 * k + j) for j in range(3)]) for k in range(6)])
    bs, truncated = branches(tree)
    assert truncated
    assert len(bs) == MAX_BRANCHES
    # 3**5 = 243 fits.
    small = And([Or([Leaf(3 * k + j) for j in range(3)]) for k in range(5)])
    bs, truncated = branches(small)
    assert not truncated and len(bs) == 243


def test_truncated_branches_are_real_branches():
    tree = And([Or([Leaf(3 * k + j) for j in range(3)]) for k in range(6)])
    bs, _ = branches(tree)
    full, _ = branches(tree, limit=10_000)
    assert len(full) == 729
    assert {b.positive for b in bs} <= {b.positive for b in full}


# -- depth guard -----------------------------------------------------------------

def test_depth():
    assert depth(None) == 0
    assert depth(A) == 1
    assert depth(Not(A)) == 2
    assert depth(And([A, Or([B, Not(C)])])) == 4


@pytest.mark.parametrize("build", [nest_not, nest_and])
def test_depth_at_limit_is_accepted(build):
    tree = build(A, MAX_DEPTH - 1)
    assert depth(tree) == MAX_DEPTH
    assert 0 in polarities(tree)
    bs, _ = branches(tree)
    assert bs


@pytest.mark.parametrize("build", [nest_not, nest_and])
@pytest.mark.parametrize("extra", [0, 1, 5000])
def test_depth_past_limit_raises(build, extra):
    tree = build(A, MAX_DEPTH + extra)
    assert depth(tree) > MAX_DEPTH
    with pytest.raises(ValueError, match=str(MAX_DEPTH)):
        polarities(tree)
    with pytest.raises(ValueError, match=str(MAX_DEPTH)):
        branches(tree)


def test_leaves_iterative_on_deep_trees():
    tree = nest_and(A, 5000)
    assert len(list(leaves(tree))) == 5001


# -- to_dict --------------------------------------------------------------------

def test_to_dict():
    assert to_dict(None) is None
    assert to_dict(A) == 0
    tree = And([A, Or([B, C]), Not(D)])
    assert to_dict(tree) == {"and": [0, {"or": [1, 2]}, {"not": 3}]}
    assert to_dict(Not(Not(E))) == {"not": {"not": 4}}


def test_to_dict_is_json_serializable():
    import json

    tree = Or([And([A, Not(Or([B, C]))]), D])
    assert json.loads(json.dumps(to_dict(tree))) == to_dict(tree)
