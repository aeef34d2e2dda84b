"""What peer rules filter out as benign: the exclusions RL102 may suggest.

An exclusion of a rule is one NOT-ed subtree of its tree; each of its AND-alternatives is
a *filter*, kept whole (`SYSTEM and a Defender path` stays one filter). A filter is benign
when it names software ordinary hosts run: a program by its full path, a signer, a hash
(program identities), or a value the prevalence prior marks benign for the log source.
It is never benign when it rests on who acts (a user, a SID, a logon id, a `*$` machine
account) without naming a program, nor when it tests an outcome, a status or which event
it is, nor when it only drops empty values: excluding those blinds a rule instead of
quieting it.

Filters are compared across rules by their *signature*: a program path reduces to the
program's name (`C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe` and
`Image|endswith: '\\chrome.exe'` both filter chrome), so peers that write the same filter
differently count together, and a bare name is suggested in the full-path form some peer
writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from typing import Iterator

from ..model.fields import name_field
from ..model.predicate import IndicatorKey, Predicate
from ..model.rule import NormalizedRule
from ..model.tree import And, Leaf, Not
from .exclusions import (DEFAULT_WRITABLE, PLACEHOLDERS, ExclusionOptions, alternatives, drops_only_empty,
                         exclusion_weaknesses)
from .field_roles import BROAD_FIELDS, LOG_ROUTING_FIELDS, names_event

# Fields naming the program (or module, or file) an event is about, by full path.
PATH_FIELDS = frozenset((
    "process.executable", "process.parent.executable", "dll.path", "file.path",
    "process.Ext.effective_parent.executable", "winlog.event_data.CallerProcessName",
    "winlog.event_data.ProcessName", "ImagePath", "ApplicationPath", "ModifyingApplication",
    "winlog.event_data.ServiceFileName", "process.working_directory",
))
# The same by bare name: a filter only when some peer gives the full path.
NAME_FIELDS = frozenset(("process.name", "process.parent.name", "dll.name", "file.name"))
# Who vouches for the binary, or which file it is exactly.
SIGNER_FIELDS = frozenset(("process.code_signature.subject_name", "dll.code_signature.subject_name",
                           "file.code_signature.subject_name", "process.parent.code_signature.subject_name"))
_HASH = re.compile(r"(^|\.)hash(es)?(\.|$)|^hashes$|sha256|sha1$|md5$", re.I)
IDENTITY_FIELDS = PATH_FIELDS | NAME_FIELDS | SIGNER_FIELDS
# Who acts: excluding one blinds the rule to an attacker acting as them.
_PRINCIPAL = re.compile(r"user|account|(^|[._])sid($|[._])|sid$|logon|owner|principal|identity|email|"
                        r"(^|[._])groups?($|[._])|\.arn$|member|(^|\.)subject(user|domain|logon)|targetuser|"
                        r"targetdomain|samaccount|(^|\.)client\.", re.I)
# Whether it worked, and which event it is: the detection's own condition, not a program.
_OUTCOME = re.compile(r"outcome|status|result|error|reason|failure|(^|\.)code$|event_?id|eventcode|"
                      r"(^|\.)action$|(^|\.)type$|opnum|accessmask|grantedaccess|logon_?type", re.I)
_GENERIC = frozenset(f.casefold() for f in (*BROAD_FIELDS, *LOG_ROUTING_FIELDS))
# A path from a drive root (`C:\\`, `?:\\`, `*:\\`, `%SystemRoot%`), a share, or `/`.
_ROOTED = re.compile(r"^(?:[a-z]|[*?]+)?:[\\/]|^\\\\|^%[a-z]+%[\\/]|^/", re.I)
# The prior's evidence that counts as "ordinary software": not a broad or routing field.
_PRIOR_BASES = ("lab", "native", "logging-excluded")
# Where code runs from memory or a mount the attacker makes: no program identity.
_RUNTIME = ("/dev/fd/", "/proc/", "/memfd:", "/run/", "/mnt/", "/media/", "/var/run/")
MAX_EXPANSION = 32  # values multiplied across an alternative's predicates


def field_role(field: str) -> str:
    """identity | principal | outcome | generic | other."""
    if field in IDENTITY_FIELDS or field in SIGNER_FIELDS or _HASH.search(field):
        return "identity"
    f = field.casefold()
    if f in _GENERIC:
        return "generic"
    if names_event(field) or _OUTCOME.search(field):
        return "outcome"
    if _PRINCIPAL.search(field):
        return "principal"
    return "other"


def basename_key(key: IndicatorKey) -> IndicatorKey | None:
    """The name test a path test implies (`process.executable eq 'c:\\x\\a.exe'` names `a.exe`)."""
    nf = name_field(key.field)
    if nf is None:
        return None
    v = key.value.replace("/", "\\")
    if key.op in ("eq", "ends_with") and "\\" in v:
        base = v.rsplit("\\", 1)[1]
        if base and "*" not in base and "?" not in base:
            return IndicatorKey(nf, "eq", base)
    return None


def with_names(key: IndicatorKey) -> list[IndicatorKey]:
    base = basename_key(key)
    return [key] if base is None else [key, base]


def rooted_path(key: IndicatorKey) -> bool:
    """A full path from a root, outside folders users write to: what RL103 accepts."""
    v = key.value
    if key.op not in ("eq", "starts_with", "wildcard") or not _ROOTED.match(v):
        return False
    low = v.casefold().replace("/", "\\") if "\\" in v else v.casefold()
    return (not any(w in low for w in (*DEFAULT_WRITABLE, *_RUNTIME)) and not v.startswith("*") and len(v) > 4)


def signature_part(key: IndicatorKey) -> tuple[str, str, str]:
    """A key as filters compare it: a program path by the program's name."""
    if key.field in PATH_FIELDS and key.field not in ("process.working_directory",):
        base = basename_key(key)
        if base is not None and key.op == "eq":
            return tuple(base)  # type: ignore[return-value]
    return tuple(key)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Filter:
    """One AND-alternative of a peer's exclusion, one value per predicate."""

    keys: tuple[IndicatorKey, ...]  # canonical, sorted
    written: tuple[IndicatorKey, ...]  # as the peer wrote them, same order
    signature: frozenset[tuple[str, str, str]]

    @property
    def sturdy(self) -> bool:
        """Names a program by what the attacker does not choose: a rooted full path outside
        user-writable folders, a signer or a hash (a bare name is not enough)."""
        return any((k.field in PATH_FIELDS and rooted_path(k)) or k.field in SIGNER_FIELDS
                   or (_HASH.search(k.field) and k.op == "eq") for k in self.keys)


def rule_filters(rule: NormalizedRule) -> Iterator[Filter]:
    """Every filter (alternative of an exclusion, values expanded) the rule applies."""
    seen: set[int] = set()
    done: set[tuple[IndicatorKey, ...]] = set()
    for b in rule.branch_view()[0]:
        for exc in b.exclusions:
            if id(exc) in seen or not isinstance(exc, Not):
                continue
            seen.add(id(exc))
            if drops_only_empty(rule, exc.child):
                continue
            for alt in alternatives(exc.child) or ():
                preds = [rule.predicates[i] for i in sorted(alt)]
                if not preds or any(not p.values for p in preds):
                    continue
                n = 1
                for p in preds:
                    n *= len(p.values)
                if n > MAX_EXPANSION:
                    continue
                for combo in product(*(range(len(p.values)) for p in preds)):
                    pairs = sorted((p.keys()[i], p.native_keys()[i]) for p, i in zip(preds, combo))
                    keys = tuple(k for k, _ in pairs)
                    if keys in done:
                        continue
                    done.add(keys)
                    yield Filter(keys, tuple(w for _, w in pairs), frozenset(signature_part(k) for k in keys))


def benign_reason(f: Filter, source: str) -> str | None:
    """Why a peer's filter removes ordinary benign activity, or None when it may not: it
    rests on a principal, an outcome or an event id, or names nothing the data calls benign."""
    from .prior import shared_prior  # the prior's table loads on first use
    prior = shared_prior()
    roles = [field_role(k.field) for k in f.keys]
    if any(r in ("outcome", "generic") for r in roles):
        return None
    for k in f.keys:
        if k.op in ("exists", "is_null") or k.value.casefold() in PLACEHOLDERS or k.value.strip("*?") == "":
            return None
    if "identity" in roles:
        return "names a program" if f.sturdy else None
    if "principal" in roles:
        return None
    # Nothing names a program: every value must be one the prior knows as benign here.
    texts = []
    for k in f.keys:
        ev = prior.evidence(k, source)
        if not (ev.benign and ev.basis in _PRIOR_BASES):
            return None
        texts.append(ev.text)
    return "; ".join(texts)


def prior_share(f: Filter, source: str) -> float:
    """The prior's benign evidence for a filter: the share of its best-known value."""
    from .prior import shared_prior
    prior, best = shared_prior(), 0.0
    for k in f.keys:
        for kk in with_names(k):
            ev = prior.evidence(kk, source)
            if ev.benign and ev.basis in _PRIOR_BASES:
                best = max(best, ev.share)
    return best


def bypassable(f: Filter, opts: ExclusionOptions, pinned: frozenset[str]) -> bool:
    """Whether RL103 would flag the filter written as an exclusion of a rule pinning `pinned`."""
    preds = [Predicate(field=k.field, op=k.op, values=(k.value,)) for k in f.keys]
    tree = Not(And([Leaf(i) for i in range(len(preds))]) if len(preds) > 1 else Leaf(0))
    probe = NormalizedRule(key="(suggestion)", id="", title="", vendor="sigma", path="", predicates=preds, tree=tree)
    return bool(exclusion_weaknesses(probe, opts, pinned))


__all__ = ["Filter", "IDENTITY_FIELDS", "PATH_FIELDS", "NAME_FIELDS", "SIGNER_FIELDS", "field_role",
           "basename_key", "with_names", "rooted_path", "rule_filters", "benign_reason", "prior_share", "bypassable"]
