"""A rule's predicate tree compiled to a test of one event, with its vendor's matching rules.

Each predicate becomes a closure over the field's values (any value of a multi-valued field
may pass, so `not` of a test means no value passes). A predicate stated in canonical terms
but written in the event's own vocabulary (`Image|endswith: '\\cmd.exe'`) is judged on the
written field when the event has it, exactly as the rule's SIEM would, and on the canonical
field (`process.name`) otherwise: one event judged by all three vendors.

Semantics per operator (docs/replay.md):
- strings: case-folded unless the predicate is case-sensitive (Sigma `|cased`, EQL `==`,
  KQL on keyword fields); Sigma keywords (no field) search every field;
- wildcard: `*` and `?` over the whole value; regex: Sigma and SPL search anywhere, Elastic
  (Lucene, EQL, ES|QL) must match the whole value;
- Sigma encodings (base64, base64offset, wide/utf16*): the encoded forms, matched without case
  as the Sigma specification says; windash: `-` and `/` at a word start in any dash form;
- cidr, numeric comparisons, exists / null (a missing field is null), field references.
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from ..analysis.implication import _pattern_parts, glob_match
from ..model.fields import canonical_field
from ..model.predicate import KEYWORD_FIELD, Predicate
from ..model.rule import NormalizedRule
from ..model.tree import And, Leaf, Node, Not
from .event import Event

Test = Callable[[Event], bool]
ValuesTest = Callable[[tuple[str, ...]], bool]


class CannotJudge(Exception):
    """The rule (or one of its predicates) cannot be judged on single events; the message says why."""


@dataclass(slots=True)
class Compiled:
    rule: NormalizedRule
    test: Test
    tests: list[Test]  # one per predicate (sequences compile each step from them)


def compile_rule(rule: NormalizedRule) -> Compiled:
    """The rule's test of one event; CannotJudge when single events cannot decide it."""
    reason = single_event_reason(rule)
    if reason:
        raise CannotJudge(reason)
    tests = [_predicate(rule, p) for p in rule.predicates]
    return Compiled(rule, compile_tree(rule.tree, tests), tests)


def single_event_reason(rule: NormalizedRule) -> str:
    """Why the rule cannot be judged event by event ('' when it can)."""
    if rule.kind == "correlation":
        return "a correlation rule: it counts or orders matches of other rules"
    if rule.kind == "filter":
        return "a filter: it only takes events away from other rules"
    if rule.tree is None:
        return "no query logic to evaluate (machine learning job or unparsed query)"
    if rule.beyond_query:
        return f"fires on {rule.beyond_query}, not on single events"
    unmodelled = getattr(rule, "unmodelled", ())
    if unmodelled:
        return f"tests `{unmodelled[0]}`, which rulelint does not evaluate"
    for p in rule.predicates:
        if "computed" in p.notes or "post_aggregation" in p.notes:
            return f"tests {p.native_field or p.field}, which the search computes (after eval or stats)"
        if "subsearch" in p.notes:
            return "joins a subsearch: the result depends on other events"
        if "expand" in p.notes:
            return f"{p.native_field or p.field} names placeholders (%...%) that need values from the user"
        if "|" in p.field:
            return f"tests {p.field}, a part of the event's time"
    return ""


def compile_tree(node: Node | None, tests: list[Test]) -> Test:
    if node is None:
        return _never
    if isinstance(node, Leaf):
        return tests[node.pred]
    if isinstance(node, Not):
        inner = compile_tree(node.child, tests)
        return lambda ev: not inner(ev)
    kids = tuple(compile_tree(c, tests) for c in node.children)
    if isinstance(node, And):
        if len(kids) == 2:
            a, b = kids
            return lambda ev: a(ev) and b(ev)

        def all_of(ev: Event) -> bool:
            for k in kids:
                if not k(ev):
                    return False
            return True
        return all_of

    def any_of(ev: Event) -> bool:
        for k in kids:
            if k(ev):
                return True
        return False
    return any_of


def _never(ev: Event) -> bool:
    return False


# -- one predicate --------------------------------------------------------------

def _predicate(rule: NormalizedRule, p: Predicate) -> Test:
    vendor = rule.vendor
    if p.op == "fieldref":
        return _fieldref(vendor, p.values, (p.native_field, p.field), rule.logsource.category)
    canonical = _values_test(vendor, p.op, p.values, p.case_sensitive, p.transform, p.notes, p.field,
                             rule.logsource.category)
    if p.field == KEYWORD_FIELD:
        return _keyword(canonical, p)
    field = p.field
    folded = not p.case_sensitive and p.op not in ("regex_match", "cidr", "exists", "is_null", "fieldref")
    if p.native and p.native_field and p.native_field != p.field:
        nk = p.native
        native = _values_test(vendor, nk[0].op, tuple(k.value for k in nk), p.case_sensitive, p.transform,
                              p.notes, p.native_field, rule.logsource.category)
        written = p.native_field
        if folded:
            return lambda ev: (native(v) if (v := ev.fold[written]) is not None else canonical(ev.fold[field]))
        return lambda ev: (native(v) if (v := ev.fields.get(written)) is not None else canonical(ev.fields.get(field)))
    if folded:
        return lambda ev: canonical(ev.fold[field])
    return lambda ev: canonical(ev.fields.get(field))


def _keyword(test: Callable, p: Predicate) -> Test:
    if p.op in ("eq", "contains") and not p.case_sensitive and not p.transform and "windash" not in p.notes:
        needles = tuple(p.values)
        # One search through all the event's text; a value never spans two lines of it.
        return lambda ev: any(n in ev.text() for n in needles)

    def any_field(ev: Event) -> bool:
        for name in ev.native or ev.fields:
            vals = ev.fields.get(name) if p.case_sensitive else ev.fold[name]
            if vals and test(vals):
                return True
        return False
    return any_field


def _values_test(vendor: str, op: str, values: tuple[str, ...], cased: bool, transform: str,
                 notes: tuple[str, ...], field: str, category: str) -> Callable:
    """The test of one field's values (None: the field is missing) for one operator."""
    if op == "is_null":
        return lambda vals: not vals
    if op == "exists":
        return lambda vals: bool(vals)
    if transform:
        values = _encoded(values, transform)
        op_values = tuple(v.casefold() for v in values)
        test = _string_test(op, op_values)
        # Encoded bytes are matched without case, as the Sigma specification says.
        return lambda vals: bool(vals) and test(tuple(v.casefold() for v in vals))
    if "windash" in notes:
        values = tuple(dict.fromkeys(w for v in values for w in _windash(v)))
    if op in ("eq", "contains", "starts_with", "ends_with", "wildcard"):
        test = _string_test(op, values, keyword=field == KEYWORD_FIELD)
        return lambda vals: bool(vals) and test(vals)
    if op == "regex_match":
        return _regex(vendor, values, cased)
    if op == "cidr":
        return _cidr(values)
    if op in ("gt", "ge", "lt", "le"):
        return _compare(op, values)
    raise CannotJudge(f"operator {op!r} on {field} has no single-event meaning")


def _string_test(op: str, values: tuple[str, ...], keyword: bool = False) -> Callable[[tuple[str, ...]], bool]:
    if keyword and op == "eq":
        op = "contains"  # a keyword is a search term: found anywhere in a value
    if op == "eq":
        wanted = frozenset(values)
        if len(wanted) == 1:
            (one,) = wanted
            return lambda vals: one in vals
        return lambda vals: not wanted.isdisjoint(vals)
    if op == "starts_with":
        prefixes = tuple(values)
        return lambda vals: any(v.startswith(prefixes) for v in vals)
    if op == "ends_with":
        suffixes = tuple(values)
        return lambda vals: any(v.endswith(suffixes) for v in vals)
    if op == "contains":
        needles = tuple(values)
        if len(needles) == 1:
            (n,) = needles
            return lambda vals: any(n in v for v in vals)
        if len(needles) > 4:  # one scan in C instead of one Python step per needle
            search = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len))).search
            return lambda vals: any(search(v) for v in vals)
        return lambda vals: any(n in v for v in vals for n in needles)
    patterns = tuple(values)
    if len(patterns) > 4:
        # Many patterns: one regular expression, for values of ordinary length; a long value
        # (where `.*` pieces could backtrack) goes through the linear matcher.
        whole = re.compile("|".join(_glob_regex(p) for p in patterns), re.DOTALL).fullmatch

        def many(vals: tuple[str, ...]) -> bool:
            for v in vals:
                if len(v) <= MAX_REGEX_VALUE:
                    if whole(v):
                        return True
                elif any(glob_match(pat, v) for pat in patterns):
                    return True
            return False
        return many
    return lambda vals: any(glob_match(pat, v) for v in vals for pat in patterns)


MAX_REGEX_VALUE = 2048


def _glob_regex(pattern: str) -> str:
    out = []
    for part in _pattern_parts(pattern):
        out.append(".*" if part is None else "." if part == "\0?" else re.escape(part))
    return "(?:" + "".join(out) + ")"


def _regex(vendor: str, values: tuple[str, ...], cased: bool) -> Callable:
    flags = 0 if cased else re.IGNORECASE
    try:
        compiled = [re.compile(v, flags) for v in values]
    except (re.error, OverflowError) as e:
        raise CannotJudge(f"regular expression {values[0]!r} does not compile: {e}") from None
    # Lucene, EQL and ES|QL regular expressions match whole values; Sigma's and SPL's search.
    if vendor == "elastic":
        return lambda vals: bool(vals) and any(r.fullmatch(v) for v in vals for r in compiled)
    return lambda vals: bool(vals) and any(r.search(v) for v in vals for r in compiled)


@lru_cache(maxsize=65536)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None


def _cidr(values: tuple[str, ...]) -> Callable:
    nets = []
    for v in values:
        try:
            nets.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise CannotJudge(f"{v!r} is not a network") from None

    def test(vals: tuple[str, ...] | None) -> bool:
        for v in vals or ():
            a = _address(v)
            if a is not None and any(a.version == n.version and a in n for n in nets):
                return True
        return False
    return test


def _number(text: str) -> float | None:
    try:
        return float(int(text, 0)) if text[:2].lower() == "0x" else float(text)
    except (ValueError, TypeError):
        return None


def _compare(op: str, values: tuple[str, ...]) -> Callable:
    bounds = [b for b in (_number(v) for v in values) if b is not None]
    if not bounds:
        raise CannotJudge(f"{values[0]!r} is not a number")
    cmp = {"gt": float.__gt__, "ge": float.__ge__, "lt": float.__lt__, "le": float.__le__}[op]

    def test(vals: tuple[str, ...] | None) -> bool:
        for v in vals or ():
            n = _number(v)
            if n is not None and any(cmp(n, b) for b in bounds):
                return True
        return False
    return test


def _fieldref(vendor: str, values: tuple[str, ...], fields: tuple[str, str], category: str) -> Test:
    """A field equal to another field of the same event (case-sensitive, as Sigma and EQL compare)."""
    others = [(v, canonical_field(vendor, v, category)) for v in values]
    written, field = fields

    def test(ev: Event) -> bool:
        mine = (ev.values(written) if written else None) or ev.values(field)
        if not mine:
            return False
        for native, canon in others:
            theirs = ev.values(native)
            if theirs is None:
                theirs = ev.values(canon)
            if theirs and not set(mine).isdisjoint(theirs):
                return True
        return False
    return test


# -- Sigma value encodings --------------------------------------------------------

_WINDASH = re.compile(r"\B[-/]\b")
_DASHES = ("-", "/", "\u2013", "\u2014", "\u2015")
MAX_WINDASH_PLACES = 5  # 5 forms per place: 3,125 variants at most


def _windash(value: str) -> list[str]:
    """Every form of a value whose option dashes may be written -, /, or a Unicode dash."""
    cuts = [m.start() for m in _WINDASH.finditer(value)][:MAX_WINDASH_PLACES]
    if not cuts:
        return [value]
    pieces = []
    last = 0
    for c in cuts:
        pieces.append(value[last:c])
        last = c + 1
    tail = value[last:]
    out = []
    for forms in itertools.product(_DASHES, repeat=len(cuts)):
        out.append("".join(p + f for p, f in zip(pieces, forms)) + tail)
    return out


def _encoded(values: tuple[str, ...], transform: str) -> tuple[str, ...]:
    """The forms an encoded value takes in the event: `base64offset(x)` is three strings."""
    out: list[str] = []
    steps = transform.split("+")
    for v in values:
        inner = v[len(transform) + 1:-1] if v.startswith(transform + "(") and v.endswith(")") else v
        if "*" in inner or "?" in inner:
            raise CannotJudge(f"encoded value {inner!r} holds wildcards")
        forms: list[bytes] = [inner.encode("utf-8")]
        for step in steps:
            forms = [f for b in forms for f in _encode_step(step, b)]
        out.extend(f.decode("utf-8", "replace") for f in forms)
    return tuple(dict.fromkeys(out))


def _encode_step(step: str, data: bytes) -> list[bytes]:
    text = data.decode("utf-8", "replace")
    if step in ("wide", "utf16le"):
        return [text.encode("utf-16le")]
    if step == "utf16be":
        return [text.encode("utf-16be")]
    if step == "utf16":
        return [b"\xff\xfe" + text.encode("utf-16le")]
    if step == "base64":
        return [base64.b64encode(data)]
    if step == "base64offset":
        # As Sigma defines it: the value at each of three alignments, cut to the stable part.
        start, end = (0, 2, 3), (None, -3, -2)
        return [base64.b64encode(i * b" " + data)[start[i]:end[(len(data) + i) % 3]] for i in range(3)]
    raise CannotJudge(f"unknown value encoding {step!r}")
