"""Shared pieces of the differential tests (test_differential_sigma.py, test_differential_eql.py):
the corpora, deterministic event generation from a rule's predicates, and agreement bookkeeping.

Generation. For one AND-branch of a rule's disjunctive form (`NormalizedRule.branch_view()`), every
positive predicate contributes one value to its field (the value is picked by rotating through the
predicate's alternatives, so different branches show different values):

    eq -> the value          contains -> "x" + v + "y"       starts_with -> v + "tail"
    ends_with -> "C:\\dir\\" + v (no doubled separator)       wildcard -> `*` as "ab", `?` as "z" (or as asked)
    regex -> a string the pattern matches (a small generator over Python's own regex parser)
    cidr -> an address inside the network                    gt/ge/lt/le -> a number that passes
    exists -> "present"      is_null -> JSON null            fieldref -> the other field's value
    Sigma encodings (base64, base64offset, wide...) -> the encoded form inside "x...y"

Several tests of one field combine (eq wins; else prefix + the middle pieces + suffix). The exclusions
of the branch are left out, so the event is meant to match; `rule_branches` also names the predicates of
the branch's first exclusion, for an event that trips it. Nothing here is random: the same corpus gives
the same events.

Explaining a disagreement: `verdict_with` re-runs a rule's tree with some predicates' truth changed (the
test files re-judge a predicate as the suspected cause says the oracle does and check whether the verdict
then equals the oracle's); `critical_predicates` names those whose flip alone does it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import re._constants as _rc
import re._parser as _rp
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from rulelint.analysis.implication import _pattern_parts
from rulelint.model.predicate import KEYWORD_FIELD, Predicate
from rulelint.model.rule import NormalizedRule
from rulelint.model.tree import branches

SHARED = Path(os.environ.get("RULELINT_SHARED_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))
SIGMA_CORPUS = SHARED / "sigma"
ELASTIC_RULES = SHARED / "elastic" / "rules"
LAB_WINDOWS = SHARED.parent / "prevalence" / "otrf-security-datasets" / "atomic" / "windows"

ABSENT = object()  # a field the generated event leaves out


# -- values ---------------------------------------------------------------------------

def regex_example(pattern: str) -> str | None:
    """A short string `re.search(pattern, s)` finds (None when the generator does not know a construct).
    Deterministic: the first alternative, the minimum repeat (at least one where zero would be allowed,
    so optional parts show up), the first character of a class."""
    try:
        parsed = _rp.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None
    try:
        text = _emit(parsed)
    except _Unknown:
        return None
    try:
        return text if re.search(pattern, text) else None
    except re.error:
        return None


class _Unknown(Exception):
    pass


_CATEGORY_CHARS = {
    _rc.CATEGORY_DIGIT: "7", _rc.CATEGORY_NOT_DIGIT: "a", _rc.CATEGORY_SPACE: " ",
    _rc.CATEGORY_NOT_SPACE: "a", _rc.CATEGORY_WORD: "a", _rc.CATEGORY_NOT_WORD: "-",
}


def _emit(items) -> str:
    out = []
    for op, arg in items:
        if op is _rc.LITERAL:
            out.append(chr(arg))
        elif op is _rc.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is _rc.ANY:
            out.append("a")
        elif op is _rc.IN:
            out.append(_emit_class(arg))
        elif op in (_rc.MAX_REPEAT, _rc.MIN_REPEAT, _rc.POSSESSIVE_REPEAT):
            low, high, sub = arg
            n = max(low, 1 if high else 0)
            out.append(_emit(sub) * n)
        elif op is _rc.SUBPATTERN:
            out.append(_emit(arg[-1]))
        elif op is _rc.ATOMIC_GROUP:
            out.append(_emit(arg))
        elif op is _rc.BRANCH:
            out.append(_emit(arg[1][0]))
        elif op is _rc.AT:
            continue  # anchors: the generated string is the whole value
        elif op in (_rc.ASSERT, _rc.ASSERT_NOT):
            continue  # lookarounds: hope for the best, the final re.search check decides
        elif op is _rc.GROUPREF:
            raise _Unknown
        else:
            raise _Unknown
    return "".join(out)


def _emit_class(items) -> str:
    if items and items[0][0] is _rc.NEGATE:
        excluded = _class_chars(items[1:])
        for c in "aZ7 -_x":
            if c not in excluded:
                return c
        raise _Unknown
    for op, arg in items:
        if op is _rc.LITERAL:
            return chr(arg)
        if op is _rc.RANGE:
            return chr(arg[0])
        if op is _rc.CATEGORY:
            return _CATEGORY_CHARS.get(arg, "a")
    raise _Unknown


def _class_chars(items) -> set[str]:
    chars: set[str] = set()
    for op, arg in items:
        if op is _rc.LITERAL:
            chars.add(chr(arg))
        elif op is _rc.RANGE:
            chars.update(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 300) + 1))
        elif op is _rc.CATEGORY:
            chars.update(c for c in "aZ7 -_x" if re.fullmatch(f"[{_category_escape(arg)}]", c))
    return chars


def _category_escape(cat) -> str:
    return {_rc.CATEGORY_DIGIT: r"\d", _rc.CATEGORY_NOT_DIGIT: r"\D", _rc.CATEGORY_SPACE: r"\s",
            _rc.CATEGORY_NOT_SPACE: r"\S", _rc.CATEGORY_WORD: r"\w", _rc.CATEGORY_NOT_WORD: r"\W"}.get(cat, "a")


def wildcard_example(pattern: str, qmark: str = "z") -> str:
    """A value the wildcard pattern (as `render_pattern` writes it) matches: `*` -> "ab", `?` -> qmark."""
    return "".join("ab" if p is None else qmark if p == "\0?" else p for p in _pattern_parts(pattern))


def cidr_example(network: str) -> str | None:
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        try:
            return str(ipaddress.ip_address(network))
        except ValueError:
            return None
    return str(net[1] if net.num_addresses > 2 else net[0])


def number_example(op: str, bound: str) -> int | float | None:
    try:
        n = float(int(bound, 0)) if bound[:2].lower() == "0x" else float(bound)
    except ValueError:
        return None
    value = {"gt": n + 1, "ge": n, "lt": n - 1, "le": n}[op]
    return int(value) if value.is_integer() and "." not in bound else value


def ends_with_example(suffix: str) -> str:
    return ("C:\\dir" if suffix[:1] in ("\\", "/") else "C:\\dir\\") + suffix


def encoded_forms(value: str, transform: str) -> tuple[str, ...]:
    from rulelint.replay.evaluate import CannotJudge, _encoded

    try:
        return _encoded((value,), transform)
    except CannotJudge:
        return ()


def combine(tests: list[tuple[str, str, Predicate]], qmark: str = "z") -> Any:
    """One value for a field from the (op, value, predicate) tests a branch puts on it: one test gives
    its own example; several give eq's value if there is one, else prefix + middle pieces + suffix."""
    ops = [op for op, _, _ in tests]
    if "is_null" in ops and len(set(ops)) == 1:
        return None
    if len(tests) == 1:
        return _example(*tests[0], qmark=qmark)
    for op, v, p in tests:
        if op == "eq":
            return v
    for op, v, p in tests:
        if op in ("gt", "ge", "lt", "le") and (n := number_example(op, v)) is not None:
            return n
    starts = [v for op, v, p in tests if op == "starts_with" and not p.transform]
    ends = [v for op, v, p in tests if op == "ends_with" and not p.transform]
    middle = []
    for op, v, p in tests:
        if op in ("contains", "wildcard", "regex_match", "cidr") or p.transform:
            piece = _example(op, v, p, qmark=qmark)
            if isinstance(piece, str):
                middle.append(piece)
    if not (starts or middle or ends):
        return "present" if "exists" in ops else ABSENT
    head = starts[0] if starts else ("C:\\dir" if ends else "")
    tail = ends[0] if ends else "tail"
    return head + " ".join(middle) + tail


def _example(op: str, v: str, p: Predicate, qmark: str = "z") -> Any:
    """The value one test of one field generates (ABSENT: none)."""
    if op == "is_null":
        return None
    if op == "exists":
        return "present"
    if p.transform:
        forms = encoded_forms(v, p.transform)
        return "x" + forms[0] + "y" if forms else ABSENT
    if op == "eq":
        return v
    if op == "contains":
        return "x" + v + "y"
    if op == "starts_with":
        return v + "tail"
    if op == "ends_with":
        return ends_with_example(v)
    if op == "wildcard":
        return wildcard_example(v, qmark)
    if op == "regex_match":
        text = regex_example(v)
        return ABSENT if text is None else text
    if op == "cidr":
        return cidr_example(v) or ABSENT
    if op in ("gt", "ge", "lt", "le"):
        n = number_example(op, v)
        return ABSENT if n is None else n
    return ABSENT


def branch_fields(rule: NormalizedRule, positive: Iterable[int], turn: int, native: bool,
                  qmark: str = "z") -> dict[str, Any]:
    """{field: value} for the positive predicates of one branch. native: the fields, operators and values
    as the rule writes them; else the canonical ones. qmark: what a wildcard `?` becomes."""
    tests: dict[str, list[tuple[str, str, Predicate]]] = defaultdict(list)
    refs: list[tuple[str, str]] = []
    for i in sorted(positive):
        p = rule.predicates[i]
        keys = p.native_keys() if native else p.keys()
        if not keys:
            continue
        key = keys[(turn + i) % len(keys)]
        if key.field == KEYWORD_FIELD:
            continue
        if key.op == "fieldref":
            refs.append((key.field, key.value))
            continue
        tests[key.field].append((key.op, key.value, p))
    out: dict[str, Any] = {}
    for name, ts in tests.items():
        value = combine(ts, qmark)
        if value is not ABSENT:
            out[name] = value
    for mine, other in refs:
        value = out.get(other) if isinstance(out.get(other), str) else out.get(mine)
        if not isinstance(value, str):
            value = "sameval"
        out[mine] = out[other] = value
    return out


def rule_branches(rule: NormalizedRule, cap: int) -> list[tuple[frozenset[int], frozenset[int] | None]]:
    """Up to `cap` distinct AND-branches: (positive predicates, the positive predicates of the branch's
    first exclusion's first branch, or None without exclusions). The second set makes an event that
    passes the branch and also trips its first filter."""
    found, _ = rule.branch_view()
    out: list[tuple[frozenset[int], frozenset[int] | None]] = []
    seen: set[frozenset[int]] = set()
    for b in found:
        if b.positive in seen:
            continue
        seen.add(b.positive)
        tripped = None
        if b.exclusions:
            inner, _ = branches(b.exclusions[0].child, limit=4)
            tripped = inner[0].positive if inner else None
        out.append((b.positive, tripped))
        if len(out) >= cap:
            break
    return out


def flip_case(value: Any) -> Any:
    if isinstance(value, str):
        return value.swapcase()
    if isinstance(value, list):
        return [flip_case(v) for v in value]
    if isinstance(value, dict):
        return {k: flip_case(v) for k, v in value.items()}
    return value


# -- Windows event documents ---------------------------------------------------------

_SYSTEM = ("EventID", "Channel", "Computer", "Provider_Name")  # spelled so: System fields


def evtx_document(fields: dict[str, Any]) -> dict:
    """{field: value} in Sigma's Windows names -> the `evtx` crate's JSON form of one record."""
    system: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for name, value in fields.items():
        system_name = name if name in _SYSTEM else None
        if system_name == "EventID":
            system["EventID"] = int(value) if isinstance(value, str) and value.isdigit() else value
        elif system_name == "Provider_Name":
            system["Provider"] = {"#attributes": {"Name": value}}
        elif system_name:
            system[system_name] = value
        else:
            data[name] = value
    system.setdefault("TimeCreated", {"#attributes": {"SystemTime": "2024-05-01T10:00:00.000000Z"}})
    return {"Event": {"System": system, "EventData": data}}


# -- bookkeeping ----------------------------------------------------------------------

@dataclass
class Disagreement:
    rule: str
    event: str  # where the event comes from
    ours: bool
    theirs: bool
    cause: str = ""
    detail: str = ""


@dataclass
class Tally:
    """Verdicts compared and disagreements of one event set."""

    name: str
    compared: int = 0
    agreeing: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    def add(self, ours: bool, theirs: bool, make: Callable[[], Disagreement]) -> None:
        self.compared += 1
        if ours == theirs:
            self.agreeing += 1
        else:
            self.disagreements.append(make())

    @property
    def share(self) -> float:
        return self.agreeing / self.compared if self.compared else 1.0

    def causes(self) -> Counter:
        return Counter(d.cause for d in self.disagreements)

    def report(self) -> str:
        lines = [f"[{self.name}] verdicts compared: {self.compared}, agreeing: {self.agreeing} "
                 f"({100 * self.share:.4f}%), disagreeing: {len(self.disagreements)}"]
        examples: dict[str, Disagreement] = {}
        for d in self.disagreements:
            examples.setdefault(d.cause, d)
        for cause, n in self.causes().most_common():
            e = examples[cause]
            lines.append(f"  {n:6d}  {cause}")
            lines.append(f"          e.g. ours={e.ours} oracle={e.theirs} rule={e.rule} event={e.event}")
            if e.detail:
                lines.append(f"          {e.detail}")
        return "\n".join(lines)


def short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- explaining a disagreement ----------------------------------------------------------

def verdict_with(rule: NormalizedRule, truths: list[bool], overrides: dict[int, bool]) -> bool:
    """The rule's verdict when its predicates have these truth values (overrides win)."""
    from rulelint.replay.evaluate import compile_tree

    consts = [(lambda ev, v=overrides.get(i, t): v) for i, t in enumerate(truths)]
    return compile_tree(rule.tree, consts)(None)


def critical_predicates(rule: NormalizedRule, truths: list[bool], target: bool) -> list[int]:
    """Predicates whose truth, flipped alone, turns the rule's verdict into `target`."""
    return [i for i, t in enumerate(truths) if verdict_with(rule, truths, {i: not t}) == target]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as SQLite's NOCASE collation and LIKE do."""
    return text.translate(_ASCII_LOWER)


def string_test(op: str, value: str, candidate: str) -> bool | None:
    """One string test of one value (None: not a plain string operator)."""
    from rulelint.analysis.implication import glob_match

    if op == "eq":
        return candidate == value
    if op == "contains":
        return value in candidate
    if op == "starts_with":
        return candidate.startswith(value)
    if op == "ends_with":
        return candidate.endswith(value)
    if op == "wildcard":
        return glob_match(value, candidate)
    return None


# -- EQL literal types --------------------------------------------------------------------

def eql_literal_types(query: str) -> dict[str, type]:
    """Field -> bool/int/float where the query compares the field with a boolean or numeric literal
    (`?dll.code_signature.trusted == false`, `process.args_count >= 3`): eql's engine compares a value
    only with one of the same type, so the generated value must have it."""
    from eql.ast import Boolean, Comparison, Field, InSet, Number

    from tests.replay.oracle_eql import _parse

    tree = _parse(query)
    out: dict[str, type] = {}
    if isinstance(tree, str):
        return out

    def name(node) -> str | None:
        if isinstance(node, Field) and all(isinstance(p, str) for p in node.path):
            return ".".join([node.base, *node.path])
        return None

    for node in tree:
        pairs = []
        if isinstance(node, Comparison):
            pairs = [(node.left, node.right), (node.right, node.left)]
        elif isinstance(node, InSet):
            pairs = [(node.expression, item) for item in node.container]
        for field_node, literal in pairs:
            field = name(field_node)
            if field and isinstance(literal, (Boolean, Number)):
                out[field] = type(literal.value)
    return out


def typed(value: Any, kind: type | None) -> Any:
    """A generated string value as the literal's type (bool, int, float), when it reads as one."""
    if kind is None or not isinstance(value, str):
        return value
    if kind is bool:
        return {"true": True, "false": False}.get(value.lower(), value)
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and kind is int else number


MIN_AGREEMENT = 0.999  # share of verdicts each event set must agree on


def check(tally: "Tally", started: float) -> None:
    """Every disagreement has a cause, something was compared, and agreement reaches MIN_AGREEMENT."""
    import time

    print(f"\n{tally.report()}\n  ({time.perf_counter() - started:.1f}s)")
    unexplained = [d for d in tally.disagreements if not d.cause]
    assert not unexplained, "unclassified disagreements:\n" + "\n".join(
        f"  ours={d.ours} oracle={d.theirs} {d.rule} on {d.event}: {d.detail}" for d in unexplained[:20])
    assert tally.compared > 0
    assert tally.share >= MIN_AGREEMENT, tally.report()


def lab_sample(zips: Iterable[str], per_file: int, to_document: Callable[[Any], dict]) -> tuple[list[tuple[str, dict]], list]:
    """Up to `per_file` events of each recording, evenly spaced: (name, document for the oracle), our Events."""
    from rulelint.replay.normalize import normalize
    from rulelint.replay.sources import SourceError, read_events

    docs: list[tuple[str, dict]] = []
    events: list = []
    for name in zips:
        path = LAB_WINDOWS / name
        if not path.is_file():
            continue
        items = list(read_events(str(path)))
        stride = max(1, -(-len(items) // per_file))
        for item in items[::stride]:
            assert not isinstance(item, SourceError), item
            ev = normalize(item[1])
            docs.append((f"{name}#{item[0]}", to_document(ev)))
            events.append(ev)
    return docs, events
