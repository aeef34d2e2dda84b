"""A corpus index without the corpus: rule summaries and indicator keys, not rule text.

Judging one changed rule needs most of the corpus only through its index: reach per
indicator, and for peers each rule's log source, techniques and indicator keys.
`dump` writes that with marshal (plain tuples and ints load far faster than
pickled objects) and `load` rebuilds a CorpusIndex of rule summaries.

Two kinds of summary come back. The reference index shipped with the package holds
`RuleStub`s: its rules have no logic anywhere. A stored index of the user's own
corpus records where each rule came from (its file and place in it), and `load`
given a `resolve` function makes `LazyRule`s: a check that reads a peer's logic
gets the very rule a fresh load gives, from the per-file cache, so an answer
never depends on which path the run took.
"""

from __future__ import annotations

import marshal
from typing import Any, Callable, Iterator

from .index import CorpusIndex, Usage
from .predicate import IndicatorKey
from .rule import IndicatorUse, LogSource, NormalizedRule
from ..parallel import paused

SNAPSHOT_FORMAT = 2


class RuleStub:
    """What the index and the corpus checks read of a corpus rule, without its logic
    (an `IndexedRule` whose `has_logic` is False)."""

    __slots__ = ("key", "id", "title", "vendor", "path", "line", "logic_line", "techniques", "tactics",
                 "logsource", "kind", "references", "extra", "beyond_query", "stored_noise",
                 "_pos_ids", "_exc_ids", "_keys", "_positive", "_excluded")

    predicates: list = []
    tree = None
    has_logic = False

    def key_sets(self, uses: object = None) -> tuple[frozenset[IndicatorKey], frozenset[IndicatorKey]]:
        return self.positive_keys(), self.excluded_keys()

    def positive_keys(self) -> frozenset[IndicatorKey]:
        if self._positive is None:
            self._positive = frozenset(self._keys[i] for i in self._pos_ids)
        return self._positive

    def excluded_keys(self) -> frozenset[IndicatorKey]:
        if self._excluded is None:
            self._excluded = frozenset(self._keys[i] for i in self._exc_ids)
        return self._excluded

    def indicator_uses(self) -> Iterator[tuple[IndicatorKey, IndicatorKey, bool]]:
        for k in self.positive_keys():
            yield k, k, True
        for k in self.excluded_keys():
            yield k, k, False


# (file path, place among the rules that file yields) -> the loaded rule.
Resolver = Callable[[str, int], NormalizedRule]


class LazyRule(RuleStub):
    """A corpus rule of a stored index whose logic is loaded when first read: the
    summary answers what the index needs, everything else is the loaded rule's."""

    __slots__ = ("_origin", "_resolve", "_full", "overlap_facts")
    has_logic = True

    def full(self) -> NormalizedRule:
        if self._full is None:
            rule = self._resolve(self.path, self._origin)
            rule.key = self.key  # the key this run gave it (ids repeat across files)
            self._full = rule
        return self._full

    predicates = property(lambda self: self.full().predicates)  # type: ignore[assignment]
    tree = property(lambda self: self.full().tree)  # type: ignore[assignment]
    extra = property(lambda self: self.full().extra)  # type: ignore[assignment]

    def indicator_uses(self) -> list[IndicatorUse]:  # type: ignore[override]
        return self.full().indicator_uses()

    def __getattr__(self, name: str) -> Any:  # level, status, branch_view(), ...
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.full(), name)


def dump(index: CorpusIndex, noise: dict[str, float] | None = None, meta: dict[str, Any] | None = None,
         stable: bool = False, facts: Callable[[Any], tuple] | None = None) -> bytes:
    """The snapshot bytes. `stable` gives the same bytes for the same content (marshal
    format 2 has no back-references, whose use depends on object identity). With
    `facts` (a cache's index of the user's corpus), each loaded rule's origin is kept,
    and what the overlap analysis reads of it, so that a `LazyRule` loads its logic
    only when a check reads it."""
    rule_keys = list(index.rules)
    rule_id = {k: i for i, k in enumerate(rule_keys)}.__getitem__
    # Each rule's key ids, read off the usage table (the same pairs as its
    # positive_keys()/excluded_keys(), without building them rule by rule); key ids
    # are appended in increasing order, so the lists come out sorted.
    pos_of: dict[str, list[int]] = {k: [] for k in rule_keys}
    exc_of: dict[str, list[int]] = {k: [] for k in rule_keys}
    written_of = index.written.get
    keys = []
    for kid, (k, u) in enumerate(index.usage.items()):
        forms = written_of(k) or {}
        written = tuple((*nk, n) for nk, n in forms.items() if nk != k)
        for r in u.positive:
            pos_of[r].append(kid)
        for r in u.excluded:
            exc_of[r].append(kid)
        keys.append((*k, tuple(sorted(map(rule_id, u.positive))), tuple(sorted(map(rule_id, u.excluded))),
                     forms.get(k, 0), written))
    noise = noise or {}
    # Where each loaded rule came from: its place among its file's rules, which arrive
    # together and in order (-1: a summary already, of the reference).
    origins: list[int] = []
    seen_in: dict[str, int] = {}
    for rk in rule_keys:
        r = index.rules[rk]
        if r.has_logic:
            n = seen_in.get(r.path, 0)
            seen_in[r.path] = n + 1
            origins.append(n)
        else:
            origins.append(-1)
    rules = []
    for rk in rule_keys:
        r = index.rules[rk]
        ls = r.logsource
        rules.append((
            r.key, r.id, r.title, r.vendor, r.path, r.line, r.logic_line, tuple(r.techniques), tuple(r.tactics),
            ls.product, ls.category, ls.service, r.kind, tuple(r.references), str(r.extra.get("name") or ""),
            r.beyond_query, tuple(pos_of[rk]), tuple(exc_of[rk]),
            noise.get(r.key, r.stored_noise),
        ))
    doc = {"format": SNAPSHOT_FORMAT, "keys": keys, "rules": rules, "meta": meta or {}}
    if facts is not None and any(n >= 0 for n in origins):  # a cache's index (the reference keeps summaries)
        doc["origins"] = origins
        doc["facts"] = [tuple(facts(index.rules[rk])) if n >= 0 else None for rk, n in zip(rule_keys, origins)]
    return marshal.dumps(doc, 2) if stable else marshal.dumps(doc)


def load(data: bytes, resolve: Resolver | None = None) -> tuple[CorpusIndex, dict[str, Any]]:
    """The index a snapshot holds, and its metadata. Raises ValueError on a bad snapshot.
    With `resolve`, rules the snapshot knows the origin of come back as `LazyRule`s."""
    try:
        doc = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as e:
        raise ValueError(f"unreadable snapshot: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise ValueError("snapshot of another format")
    # Hundreds of thousands of new objects and no cycles, living as long as the run.
    with paused(keep=True):
        try:
            return _build(doc, resolve), doc.get("meta", {})
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise ValueError(f"inconsistent snapshot: {type(e).__name__}") from None


def _build(doc: dict, resolve: Resolver | None) -> CorpusIndex:
    make = tuple.__new__
    index = CorpusIndex([])
    keys: list[IndicatorKey] = []
    rule_keys = [r[0] for r in doc["rules"]]
    usage, written = index.usage, index.written
    for field, op, value, pos, exc, own, forms in doc["keys"]:
        k = make(IndicatorKey, (field, op, value))
        keys.append(k)
        usage[k] = Usage({rule_keys[i] for i in pos}, {rule_keys[i] for i in exc})
        w = {make(IndicatorKey, f[:3]): f[3] for f in forms}
        if own:
            w[k] = own
        written[k] = w
    origins = doc.get("origins") if resolve is not None else None
    facts = doc.get("facts") or [None] * len(doc["rules"])
    for n, (key, rid, title, vendor, path, line, logic_line, techniques, tactics, product, category, service,
            kind, references, name, beyond, pos_ids, exc_ids, noise) in enumerate(doc["rules"]):
        if origins is not None and origins[n] >= 0:
            s = LazyRule()
            s._origin, s._resolve, s._full, s.overlap_facts = origins[n], resolve, None, facts[n]
        else:
            s = RuleStub()
            s.extra = {"name": name} if name else {}
        s.key, s.id, s.title, s.vendor, s.path, s.line, s.logic_line = key, rid, title, vendor, path, line, logic_line
        s.techniques, s.tactics = list(techniques), list(tactics)
        s.logsource = LogSource(product, category, service)
        s.kind, s.references, s.beyond_query, s.stored_noise = kind, list(references), beyond, noise
        s._keys, s._pos_ids, s._exc_ids, s._positive, s._excluded = keys, pos_ids, exc_ids, None, None
        index.rules[key] = s
        index.file_rule(s, name)
    return index
