"""Which exclusions an attacker can satisfy at will.

An exclusion (a predicate under a NOT) lets through every event that meets it. When what
it tests is chosen by whoever starts the process (its name, its command line, where a
user may write a file) the attacker meets it on purpose: rename the binary, append the
excluded text, drop the tool into the excluded folder. An exclusion is sturdy when at
least one predicate of it pins something the attacker does not choose: a full path
under a protected folder, a signer, a hash, the user, a parent by full path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model.predicate import Predicate
from ..model.rule import NormalizedRule
from ..model.tree import Leaf, Node, Not, Or, leaves

DEFAULT_COMMAND_FIELDS = ("process.command_line", "process.parent.command_line", "process.args",
                          "process.parent.args")
DEFAULT_NAME_FIELDS = ("process.name", "process.parent.name")
DEFAULT_PATH_FIELDS = ("process.executable", "process.parent.executable")
# Folders an unprivileged user may create files in (lower case, either separator).
# Not C:\\ProgramData\\: users may add folders there, but the vendor folders rules name
# (Microsoft\\Windows Defender, ...) exist with installer permissions.
DEFAULT_WRITABLE = (
    "\\users\\", "\\appdata\\", "\\windows\\temp\\", "\\temp\\", "\\tmp\\",
    "\\downloads\\", "\\desktop\\", "\\perflogs\\", "\\$recycle.bin\\",
    "/tmp/", "/var/tmp/", "/dev/shm/", "/home/", "/users/", "/run/user/",
)

# A path from a drive root (`C:\\`, `?:\\`, `*:\\`) or a share (`\\\\host`) cannot be
# reproduced inside a folder the attacker owns (Unix paths: by their operator).
_ANCHORED = re.compile(r"^(?:[a-z]|[*?]+)?:[\\/]|^\\\\", re.I)
# Values that filter out missing data rather than a program.
PLACEHOLDERS = frozenset(("", "-", "unknown", "null", "none", "n/a", "?"))


@dataclass(frozen=True, slots=True)
class Weakness:
    """One exclusion alternative made only of values the attacker controls."""

    preds: tuple[int, ...]  # predicate indices ANDed in this alternative
    reasons: tuple[str, ...]  # why each is attacker-controlled, in the same order


@dataclass(slots=True)
class ExclusionOptions:
    command_fields: tuple[str, ...] = DEFAULT_COMMAND_FIELDS
    name_fields: tuple[str, ...] = DEFAULT_NAME_FIELDS
    path_fields: tuple[str, ...] = DEFAULT_PATH_FIELDS
    writable: tuple[str, ...] = DEFAULT_WRITABLE
    kinds: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for kind, names in (("path", self.path_fields), ("name", self.name_fields), ("command", self.command_fields)):
            self.kinds.update(dict.fromkeys(names, kind))

    def kind(self, name: str) -> str:
        return self.kinds.get(name, "")


def _leading_wild(op: str, value: str) -> bool:
    return op in ("contains", "ends_with", "regex_match") or (op == "wildcard" and value[:1] in "*?")


def _writable(value: str, writable: tuple[str, ...]) -> bool:
    v = value.lower().replace("/", "\\") if "\\" in value else value.lower()
    return any(w in v for w in writable)


def weak_value(kind: str, op: str, value: str, opts: ExclusionOptions) -> str | None:
    """Why one excluded value is attacker-controlled, or None when it is not."""
    if kind == "command":
        # The whole command line (eq) or its start (the program path) cannot be padded.
        return "text anyone can add to their own command line" if _leading_wild(op, value) else None
    if kind == "name":
        return "a name, which a renamed or copied binary takes at will"
    if kind == "path":
        if _writable(value, opts.writable):
            return "a folder unprivileged users can write to"
        if _leading_wild(op, value) and not _ANCHORED.match(value):
            return "a path suffix a copy in any folder can end with"
    return None


def weak_predicate(p: Predicate, opts: ExclusionOptions) -> str | None:
    """Why a predicate can be met by the attacker, or None. Its values are alternatives:
    meeting one weak value is enough."""
    kind = opts.kind(p.field)
    if not kind or not p.values or p.op in ("exists", "is_null", "cidr", "gt", "ge", "lt", "le"):
        return None
    if kind == "command" and p.field.endswith("args"):
        # An argument list: any value equal to an argument is met by adding that argument.
        return "an argument anyone can add" if p.op in ("eq", "contains", "ends_with", "wildcard", "regex_match") else None
    for v in p.values:
        if v.lower() in PLACEHOLDERS:
            continue
        # A "name" field holding a path (Splunk's process_name = "*:\\Windows\\explorer.exe").
        k = "path" if kind == "name" and ("\\" in v or "/" in v) else kind
        why = weak_value(k, p.op, v, opts)
        if why is not None:
            return why
    return None


def weak_values(p: Predicate, opts: ExclusionOptions) -> list[int]:
    """Indices of the values an attacker can meet (for messages)."""
    kind = opts.kind(p.field)
    if kind == "command" and p.field.endswith("args"):
        return list(range(len(p.values)))
    out = []
    for i, v in enumerate(p.values):
        k = "path" if kind == "name" and ("\\" in v or "/" in v) else kind
        if v.lower() not in PLACEHOLDERS and weak_value(k, p.op, v, opts) is not None:
            out.append(i)
    return out


def alternatives(node: Node, limit: int = 64) -> list[frozenset[int]] | None:
    """The AND-alternatives (sets of leaves) of an exclusion's body; None when it holds a
    NOT of its own (logic of its own, not judged) or expands past `limit`."""
    if isinstance(node, Leaf):
        return [frozenset((node.pred,))]
    if isinstance(node, Not):
        return None
    parts = []
    for c in node.children:
        sub = alternatives(c, limit)
        if sub is None:
            return None
        parts.append(sub)
    if isinstance(node, Or):
        out = [alt for sub in parts for alt in sub]
    else:
        out = [frozenset()]
        for sub in parts:
            out = [a | b for a in out for b in sub]
            if len(out) > limit:
                return None
    return out if len(out) <= limit else None


def exclusion_weaknesses(rule: NormalizedRule, opts: ExclusionOptions,
                         pinned_fields: frozenset[str] = frozenset()) -> list[Weakness]:
    """Alternatives of the rule's exclusions that only attacker-controlled values make up.

    A name or path on a field the rule's own selection pins (every branch tests it) is
    not a bypass: changing it escapes the selection too."""
    seen: set[int] = set()
    out: list[Weakness] = []
    weak_of: dict[int, str | None] = {}
    seen_tests: set[tuple] = set()
    for b in rule.branch_view()[0]:
        for exclusion in b.exclusions:
            if id(exclusion) in seen or not isinstance(exclusion, Not):
                continue
            seen.add(id(exclusion))
            for alt in alternatives(exclusion.child) or ():
                reasons = []
                for i in sorted(alt):
                    if i not in weak_of:
                        p = rule.predicates[i]
                        weak_of[i] = (None if opts.kind(p.field) != "command" and p.field in pinned_fields
                                      else weak_predicate(p, opts))
                    if weak_of[i] is None:
                        break
                    reasons.append(weak_of[i])
                else:
                    # The same test repeated (an EQL sequence step, `runs=`) is one loophole.
                    ident = tuple(sorted((rule.predicates[i].field, rule.predicates[i].op, rule.predicates[i].values)
                                         for i in alt))
                    if ident not in seen_tests:
                        seen_tests.add(ident)
                        out.append(Weakness(tuple(sorted(alt)), tuple(reasons)))
    return out


# What a binary is regardless of its file name: a rule that selects on these and excludes
# a name detects renamed copies, and the name exclusion is its logic, not a loophole.
IDENTITY_FIELDS = frozenset(("process.pe.original_file_name", "process.hash.sha256", "process.hash.md5",
                             "process.hash.sha1", "Hashes", "process.pe.imphash", "process.pe.description",
                             "process.pe.product", "process.pe.company"))


def pinned_fields(rule: NormalizedRule, opts: ExclusionOptions) -> frozenset[str]:
    """Fields whose exclusion cannot open a loophole: those every AND-branch of the rule
    tests positively, and the name fields of a rule that identifies the binary otherwise."""
    found: set[str] | None = None
    for b in rule.branch_view()[0]:
        here = {rule.predicates[i].field for i in b.positive}
        found = here if found is None else found & here
    out = set(found or ())
    # A rule about renamed binaries expects the original name; keeping it is no evasion.
    if "renamed" in rule.title.casefold() or any(k.field in IDENTITY_FIELDS for k in rule.positive_keys()):
        out.update(opts.name_fields)
    return frozenset(out)


def has_candidates(rule: NormalizedRule, opts: ExclusionOptions) -> bool:
    """Whether any excluded predicate is on a field that can be weak (a cheap first test)."""
    pol, kinds = rule.polarity, opts.kinds
    return any(p.field in kinds and pol.get(i) is False for i, p in enumerate(rule.predicates))


def drops_only_empty(rule: NormalizedRule, exclusion: Node) -> bool:
    """An exclusion that only drops events with an empty or missing field (`not field
    is null`, `not field = ''`); `not field exists` selects events lacking it, which is
    logic of its own."""
    for i in leaves(exclusion):
        p = rule.predicates[i]
        if not (p.op == "is_null" or (p.op == "eq" and all(v in ("", "-") for v in p.values))):
            return False
    return True
