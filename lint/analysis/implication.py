"""Predicate implication and disjointness with operator semantics.

An `Atom` is one predicate as the logic comparisons see it: a canonical field, an
operator and the OR-linked values (case already folded where the test ignores
case). `atom_implies(a, b)` says every event passing `a` passes `b`
(`contains 'apt-get'` implies `contains 'apt'`, `eq 'c:\\x\\cmd.exe'` implies
`ends_with '\\cmd.exe'`, case-sensitive implies case-insensitive, any positive test
implies `exists`); `atoms_disjoint(a, b)` says no event passes both, which holds
only on fields that carry one value per event.

Both answers are sound, not complete: where an operator pair is not understood
the answer is "no" (no implication, no disjointness), so every conclusion drawn
from them errs towards silence.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple

from ..model.fields import name_field
from ..model.predicate import Predicate, could_overlap, value_passes

_STRING_OPS = frozenset(("eq", "contains", "starts_with", "ends_with"))
_NUMERIC_START = frozenset("0123456789+-.")
_RANGE_OPS = frozenset(("gt", "ge", "lt", "le"))

# Notes whose predicates test something other than one event's field as written:
# a column computed after aggregation, a subsearch, a placeholder to expand, a
# fuzzy match. Such an atom is compared by identity only.
OPAQUE_NOTES = frozenset(("computed", "post_aggregation", "group_by", "subsearch", "expression",
                          "fuzzy", "expand"))
# Of those, the ones that make the rule judge aggregates or other events: it is not
# comparable with a rule that judges single events.
AGGREGATE_NOTES = frozenset(("computed", "post_aggregation", "group_by", "subsearch", "expression"))

# Fields that hold one value per event. Contradiction needs it: `process.args`
# (an array) may equal two different values in one event, `process.name` cannot.
# Conservative on purpose: array fields of ECS (`process.args`, `event.type`,
# `event.category`, `tags`, `related.*`, `host.ip`, `registry.data.strings`, ...) and
# integration fields whose shape is unknown are not listed, so never contradict.
SINGLE_VALUED_FIELDS = frozenset((
    # process
    "process.name", "process.executable", "process.command_line", "process.working_directory",
    "process.pe.original_file_name", "process.pe.description", "process.pe.product", "process.pe.company",
    "process.pe.file_version", "process.hash.md5", "process.hash.sha1", "process.hash.sha256",
    "process.parent.name", "process.parent.executable", "process.parent.command_line",
    "process.parent.pe.original_file_name", "process.pid", "process.parent.pid",
    "process.code_signature.subject_name", "process.integrity_level", "process.Ext.token.integrity_level_name",
    # files, images, registry
    "file.name", "file.path", "file.extension", "file.directory", "file.pe.original_file_name",
    "dll.name", "dll.path", "dll.pe.original_file_name", "dll.code_signature.subject_name",
    "registry.path", "registry.key", "registry.value", "registry.hive",
    # network
    "destination.ip", "destination.port", "destination.domain", "source.ip", "source.port",
    "network.transport", "network.protocol", "network.direction", "dns.question.name",
    "url.full", "url.original", "url.domain", "url.path", "http.request.method", "user_agent.original",
    # identity and event identity
    "user.name", "user.domain", "user.id", "winlog.event_id", "event.code", "event.action",
    "winlog.channel", "winlog.provider_name", "event.provider", "event.dataset", "event.module",
    "host.os.type", "host.os.family", "host.os.platform",
))
# Not listed although one value per event: text fields (`powershell.file.script_block_text`,
# `message`), where KQL's `field : "x"` is a phrase match rather than equality.
# Sigma/Windows event-log fields that kept their own name (no canonical mapping): an
# event record holds one value under each.
SINGLE_VALUED_NATIVE = frozenset(f.casefold() for f in (
    "EventID", "EventCode", "Channel", "Provider_Name", "LogonType", "ServiceName", "ServiceFileName",
    "ImagePath", "StartType", "ServiceType", "TargetUserName", "TargetDomainName", "SubjectUserName",
    "SubjectDomainName", "ObjectName", "ObjectType", "AccessMask", "ShareName", "RelativeTargetName",
    "TargetImage", "SourceImage", "GrantedAccess", "CallTrace", "PipeName", "QueryName", "TargetObject",
    "Details", "Signature", "SignatureStatus", "Signed", "ImageLoaded", "TaskName", "ScriptBlockText",
    "IpAddress", "WorkstationName", "Status", "FailureCode", "TicketEncryptionType", "TicketOptions",
    "AuthenticationPackageName", "LmPackageName", "ProcessName", "NewProcessName", "ParentProcessName",
    "eventName", "eventSource", "errorCode",
))


# Value lists compared value by value past this many pairs are judged by exact values
# only: a hostile rule with two 10,000-value lists must not cost 10^8 comparisons.
MAX_VALUE_PAIRS = 20_000


class Atom(NamedTuple):
    """One predicate for comparison. `scope` separates the steps of an event
    sequence (atoms of different steps never meet); `opaque` atoms compare by
    identity only."""

    field: str
    op: str
    values: frozenset
    cs: bool
    scope: str = ""
    opaque: bool = False


def atom_order(a: Atom) -> tuple:
    """A total order on atoms, for output that does not depend on set iteration (string
    hashes change from run to run)."""
    return (a.scope, a.field, a.op, sorted(a.values), a.cs, a.opaque)


def atom_of(pred: Predicate) -> Atom:
    notes = pred.notes
    scope = ""
    opaque = pred.op == "fieldref"
    if notes:
        for n in notes:
            if n.startswith("step"):
                scope = n
            elif n in OPAQUE_NOTES:
                opaque = True
    return Atom(pred.field, pred.op, frozenset(pred.values), pred.case_sensitive, scope, opaque)


def single_valued(atom: Atom, native_field: str = "") -> bool:
    """Whether one event holds at most one value of the atom's field."""
    return (atom.field in SINGLE_VALUED_FIELDS
            or (native_field == atom.field and atom.field.casefold() in SINGLE_VALUED_NATIVE))


# -- implication --------------------------------------------------------------

@lru_cache(maxsize=None)
def path_fields(name: str) -> tuple[str, ...]:
    """The path fields whose last component is the name field (process.name <- process.executable)."""
    from ..model.fields import _data
    return tuple(sorted(p for p, n in _data()["name_fields"].items() if n == name))


def atom_implies(a: Atom, b: Atom) -> bool:
    """Every event passing `a` passes `b` (same field and scope; or `a` on a path field
    and `b` on its name field: `eq 'c:\\x\\certutil.exe'` implies name `eq 'certutil.exe'`)."""
    if a.scope != b.scope:
        return False
    if a.field != b.field:
        return _path_implies_name(a, b)
    if a.opaque or b.opaque:
        return a == b
    op_a, op_b = a.op, b.op
    if op_b == "exists":
        return op_a != "is_null"
    if op_a in ("exists", "is_null") or op_b == "is_null":
        return op_a == op_b
    vals_a = a.values
    if a.cs != b.cs:
        if b.cs:
            # A case-insensitive value admits every spelling; it is exact only without letters.
            if any(v.upper() != v for v in vals_a):
                return False
        else:
            vals_a = frozenset(v.casefold() for v in vals_a)
    if op_a == op_b and vals_a <= b.values:
        return True
    if op_a == op_b == "eq" and not any(v[:1] in _NUMERIC_START for v in vals_a):
        return False  # equal strings only, and the subset test above said no
    vals_b = b.values
    n = len(vals_a) * len(vals_b)
    if n == 1:  # one value each (most atoms): no generators
        for va in vals_a:
            for vb in vals_b:
                return value_implies(op_a, va, op_b, vb)
    if n > MAX_VALUE_PAIRS:
        return False
    return all(any(value_implies(op_a, va, op_b, vb) for vb in vals_b) for va in vals_a)


def value_implies(op_a: str, va: str, op_b: str, vb: str) -> bool:
    """Every value passing `op_a va` passes `op_b vb` (values in one case convention)."""
    if op_a == "eq":
        if op_b in _STRING_OPS:
            return value_passes(va, op_b, vb)
        if op_b == "wildcard":
            return glob_match(vb, va)
        if op_b == "cidr":
            net, addr = _network(vb), _network(va)
            return net is not None and addr is not None and addr.version == net.version and addr.subnet_of(net)
        if op_b in _RANGE_OPS:
            x = _number(va)
            return x is not None and _in_range(x, op_b, vb)
        return False
    if op_a in ("contains", "starts_with", "ends_with"):
        if op_a == op_b:
            return (vb in va if op_a == "contains" else va.startswith(vb) if op_a == "starts_with"
                    else va.endswith(vb))
        return op_b == "contains" and vb in va
    if op_a == "wildcard":
        if op_b == "wildcard":
            return va == vb
        prefix, suffix, chunks = _literals(va)
        if op_b == "starts_with":
            return prefix.startswith(vb)
        if op_b == "ends_with":
            return suffix.endswith(vb)
        if op_b == "contains":
            return any(vb in c for c in chunks)
        return False
    if op_a == "cidr":
        if op_b != "cidr":
            return False
        na, nb = _network(va), _network(vb)
        return na is not None and nb is not None and na.version == nb.version and na.subnet_of(nb)
    if op_a in _RANGE_OPS:
        return op_b in _RANGE_OPS and _range_implies(op_a, va, op_b, vb)
    return op_a == op_b and va == vb  # regex_match and anything else: the same test only


def _path_implies_name(a: Atom, b: Atom) -> bool:
    if a.opaque or b.opaque or name_field(a.field) != b.field or b.op not in _STRING_OPS:
        return False
    names = []
    for v in a.values:
        cut = max(v.rfind("\\"), v.rfind("/"))
        last = v[cut + 1:]
        if cut < 0 or not last:
            return False
        if a.op == "wildcard":
            if "*" in last or "?" in last:
                return False
        elif a.op not in ("eq", "ends_with"):
            return False
        names.append(last)
    return atom_implies(Atom(b.field, "eq", frozenset(names), a.cs, a.scope), b)


# -- disjointness --------------------------------------------------------------

def atoms_disjoint(a: Atom, b: Atom) -> bool:
    """No single value passes both tests. The caller vouches that the field holds one
    value per event; opaque atoms and unknown operator pairs are never disjoint."""
    if a.field != b.field or a.scope != b.scope or a.opaque or b.opaque:
        return False
    if a.op == "is_null" or b.op == "is_null":
        other = b if a.op == "is_null" else a
        # A missing field fails every content test; `eq ''` may mean empty as well as missing.
        return other.op != "is_null" and not (other.op == "eq" and "" in other.values)
    if a.op == "exists" or b.op == "exists":
        return False
    fold = a.cs != b.cs or not a.cs
    vals_a = frozenset(v.casefold() for v in a.values) if fold and a.cs else a.values
    vals_b = frozenset(v.casefold() for v in b.values) if fold and b.cs else b.values
    if a.op == "eq" and b.op == "eq":
        return not (vals_a & vals_b) and not _numeric_equal(vals_a, vals_b)
    if len(vals_a) * len(vals_b) > MAX_VALUE_PAIRS:
        return False
    return not any(_values_meet(a.op, va, b.op, vb) for va in vals_a for vb in vals_b)


def _values_meet(op_a: str, va: str, op_b: str, vb: str) -> bool:
    if op_a in _STRING_OPS and op_b in _STRING_OPS or "cidr" in (op_a, op_b):
        return could_overlap(op_a, va, op_b, vb)
    if op_b == "wildcard" and op_a == "eq":
        return glob_match(vb, va)
    if op_a == "wildcard" and op_b == "eq":
        return glob_match(va, vb)
    if op_a in _RANGE_OPS or op_b in _RANGE_OPS:
        return _ranges_meet(op_a, va, op_b, vb)
    return True


def _numeric_equal(a: frozenset, b: frozenset) -> bool:
    """`eq 4688` and `eq 4688.0` are one number."""
    na = {x for x in map(_number, a) if x is not None}
    return bool(na) and bool(na & {x for x in map(_number, b) if x is not None})


# -- numbers -------------------------------------------------------------------

def _number(v: str) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _in_range(x: float, op: str, bound: str) -> bool:
    y = _number(bound)
    if y is None:
        return False
    return x > y if op == "gt" else x >= y if op == "ge" else x < y if op == "lt" else x <= y


def _range_implies(op_a: str, va: str, op_b: str, vb: str) -> bool:
    x, y = _number(va), _number(vb)
    if x is None or y is None:
        return False
    up_a, up_b = op_a in ("gt", "ge"), op_b in ("gt", "ge")
    if up_a != up_b:
        return False
    if up_a:  # a: > or >= x; b: > or >= y
        return x > y or (x == y and (op_b == "ge" or op_a == "gt"))
    return x < y or (x == y and (op_b == "le" or op_a == "lt"))


def _ranges_meet(op_a: str, va: str, op_b: str, vb: str) -> bool:
    if op_a == "eq":
        x = _number(va)
        return x is None or op_b not in _RANGE_OPS or _in_range(x, op_b, vb)
    if op_b == "eq":
        return _ranges_meet(op_b, vb, op_a, va)
    if op_a not in _RANGE_OPS or op_b not in _RANGE_OPS:
        return True
    x, y = _number(va), _number(vb)
    if x is None or y is None:
        return True
    up_a, up_b = op_a in ("gt", "ge"), op_b in ("gt", "ge")
    if up_a == up_b:
        return True
    low, low_op, high, high_op = (x, op_a, y, op_b) if up_a else (y, op_b, x, op_a)
    if low < high:
        return True
    return low == high and low_op == "ge" and high_op == "le"


# -- patterns and networks -------------------------------------------------------

def _pattern_parts(pattern: str) -> list[str | None]:
    """Literal chunks and wildcards (None for `*`, "" never; `?` as the one-char marker
    "\0?") of a pattern as `render_pattern` writes it."""
    parts: list[str | None] = []
    buf: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n and pattern[i + 1] in "*?":
            buf.append(pattern[i + 1])
            i += 2
            continue
        if c == "\\" and i + 2 < n and pattern[i + 1] == "\\" and pattern[i + 2] in "*?":
            buf.append("\\")
            i += 2
            continue
        if c in "*?":
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(None if c == "*" else "\0?")
        else:
            buf.append(c)
        i += 1
    if buf:
        parts.append("".join(buf))
    return parts


@lru_cache(maxsize=4096)
def _segments(pattern: str) -> tuple[tuple[re.Pattern, int], ...]:
    """The pattern cut at its `*`s: per piece between them a regex of literal text and
    `?`s, and the fixed length every match of it has."""
    pieces: list[list[str | None]] = [[]]
    for p in _pattern_parts(pattern):
        if p is None:
            pieces.append([])
        else:
            pieces[-1].append(p)
    return tuple((re.compile("".join("." if p == "\0?" else re.escape(p) for p in piece), re.DOTALL),
                  sum(1 if p == "\0?" else len(p) for p in piece)) for piece in pieces)


def glob_match(pattern: str, text: str) -> bool:
    """Whether the wildcard pattern matches the whole text. The first and last pieces
    are fixed at the ends and those between `*`s placed leftmost in order, which is
    exact for `*` (any run of characters) and costs about len(text) per piece; a regex
    with one `.*` per star backtracks polynomially on crafted values."""
    pieces = _segments(pattern)
    if len(pieces) == 1:
        return pieces[0][0].fullmatch(text) is not None
    (first, n_first), *middle, (last, n_last) = pieces
    pos, tail = n_first, len(text) - n_last
    if tail < pos or not first.fullmatch(text, 0, pos) or not last.fullmatch(text, tail):
        return False
    for piece, n in middle:
        if n:
            m = piece.search(text, pos, tail)
            if m is None:
                return False
            pos = m.end()
    return True


@lru_cache(maxsize=4096)
def _literals(pattern: str) -> tuple[str, str, tuple[str, ...]]:
    """The literal text a pattern's matches start with, end with, and always contain."""
    parts = _pattern_parts(pattern)
    chunks = tuple(p for p in parts if p is not None and p != "\0?")
    prefix = parts[0] if parts and parts[0] is not None and parts[0] != "\0?" else ""
    suffix = parts[-1] if parts and parts[-1] is not None and parts[-1] != "\0?" else ""
    return prefix, suffix, chunks


@lru_cache(maxsize=4096)
def _network(value: str):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
