"""CorpusIndex: every indicator with the rules using it, and the graph linking
rules, indicators, fields, techniques and event categories."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import networkx as nx


from .predicate import IndicatorKey
from .rule import IndexedRule

VENDORS = ("sigma", "elastic", "splunk")


@dataclass(slots=True)
class Usage:
    """Rules using one indicator, by polarity."""

    positive: set[str]
    excluded: set[str]

    @property
    def rules(self) -> set[str]:
        return self.positive | self.excluded


class CorpusIndex:
    def __init__(self, rules: Iterable[IndexedRule]):
        self.rules: dict[str, IndexedRule] = {}
        for r in rules:
            self.rules[r.key] = r
        self.usage: dict[IndicatorKey, Usage] = {}
        # How rules wrote each indicator: `Image ends_with '\\cmd.exe'` for `process.name eq 'cmd.exe'`.
        self.written: dict[IndicatorKey, dict[IndicatorKey, int]] = {}
        self.by_technique: dict[str, set[str]] = defaultdict(set)
        self.by_logsource: dict[str, set[str]] = defaultdict(set)
        self.by_category: dict[str, set[str]] = defaultdict(set)
        self.by_id: dict[str, str] = {}
        self._reach: dict[IndicatorKey, int] = {}
        self.by_name: dict[str, str] = {}
        for r in self.rules.values():
            self._add(r)

    def add(self, r: IndexedRule) -> None:
        """Add one rule (a full rule or a snapshot's stub)."""
        self.rules[r.key] = r
        self._add(r)
        self.__dict__.pop("graph", None)  # the cached graph no longer matches

    def absorb(self, other: "CorpusIndex", skip: set[str]) -> None:
        """Take in another index's rules (a reference), except the keys in `skip`:
        usage sets are merged whole rather than rule by rule, and the written forms
        of its indicators come along."""
        self._reach.clear()
        self.__dict__.pop("graph", None)
        for key, r in other.rules.items():
            if key in skip:
                continue
            self.rules[key] = r
            self.file_rule(r)
        for k, u in other.usage.items():
            pos, exc = u.positive - skip, u.excluded - skip
            if not pos and not exc:
                continue
            mine = self.usage.get(k)
            if mine is None:
                self.usage[k] = Usage(pos, exc)
            else:
                mine.positive |= pos
                mine.excluded |= exc
            forms = self.written.setdefault(k, {})
            for nk, n in other.written.get(k, {}).items():
                forms[nk] = forms.get(nk, 0) + n

    def remove(self, key: str) -> None:
        """Take a rule out (a target replacing the corpus version it edits)."""
        r = self.rules.pop(key, None)
        if r is None:
            return
        self._reach.clear()
        self.__dict__.pop("graph", None)
        for k in r.positive_keys() | r.excluded_keys():
            u = self.usage.get(k)
            if u is not None:
                u.positive.discard(key)
                u.excluded.discard(key)
                if not u.positive and not u.excluded:
                    del self.usage[k]
        if r.has_logic:  # the written forms it counted (a reference summary's are merged in its corpus's)
            for k, nk, _ in r.indicator_uses():
                forms = self.written.get(k)
                if forms is not None and nk in forms:
                    forms[nk] -= 1
                    if forms[nk] <= 0:
                        del forms[nk]
                    if not forms:
                        del self.written[k]
        for t in r.techniques:
            self.by_technique.get(t, set()).discard(key)
        self.by_logsource.get(r.logsource.key(), set()).discard(key)
        self.by_category.get(r.logsource.category, set()).discard(key)
        for table in (self.by_id, self.by_name):
            for name in [n for n, k in table.items() if k == key]:
                del table[name]

    def _add(self, r: IndexedRule) -> None:
        self._reach.clear()
        usage, written, key = self.usage, self.written, r.key
        uses = r.indicator_uses()
        # The rule's key sets from the same walk: forked workers inherit them instead of
        # each working them out again.
        r.key_sets(uses)
        for k, nk, positive in uses:
            u = usage.get(k)
            if u is None:
                u = usage[k] = Usage(set(), set())
            (u.positive if positive else u.excluded).add(key)
            forms = written.get(k)
            if forms is None:
                written[k] = {nk: 1}  # a plain dict: Counter() is slow to create
            else:
                forms[nk] = forms.get(nk, 0) + 1
        self.file_rule(r)

    def file_rule(self, r: IndexedRule, name: str | None = None) -> None:
        """Enter a rule of `rules` in the lookup tables (by technique, log source, id, name);
        `name` when the caller has it at hand (a stored summary reads its rule's otherwise)."""
        key = r.key
        for t in r.techniques:
            self.by_technique[t].add(key)
        self.by_logsource[r.logsource.key()].add(key)
        if r.logsource.category:
            self.by_category[r.logsource.category].add(key)
        if r.id:
            self.by_id.setdefault(r.id, key)
        if name is None:
            name = r.extra.get("name")
        if name:
            self.by_name.setdefault(str(name), key)

    def __len__(self) -> int:
        return len(self.rules)

    # -- reach -----------------------------------------------------------------

    def reach(self, key: IndicatorKey, exclude: str | None = None) -> int:
        """Distinct rules using the indicator, positive or excluded (optionally not counting one rule)."""
        n = self._reach.get(key)
        if n is None:
            u = self.usage.get(key)
            if u is None:
                return 0
            n = self._reach[key] = len(u.positive | u.excluded)
        if exclude is not None:
            u = self.usage[key]
            if exclude in u.positive or exclude in u.excluded:
                n -= 1
        return n

    def aliases(self, key: IndicatorKey) -> list[str]:
        """Native field names written for the indicator, most used first."""
        names: dict[str, int] = {}
        for nk, n in self.written.get(key, {}).items():
            names[nk.field] = names.get(nk.field, 0) + n
        return sorted(names, key=lambda f: (-names[f], f))

    def native_forms(self, key: IndicatorKey) -> list[IndicatorKey]:
        """The written forms of the indicator, most used first."""
        forms = self.written.get(key, {})
        return sorted(forms, key=lambda nk: (-forms[nk], nk))

    def display(self, key: IndicatorKey) -> IndicatorKey:
        """The form reports show: the one most rules wrote."""
        forms = self.native_forms(key)
        return forms[0] if forms else key

    def same_source(self, rule: IndexedRule) -> set[str]:
        """Rules reading the same kind of event: the same log-source category on the same
        or an unnamed product (Splunk data models name no OS), else the same label."""
        ls = rule.logsource
        if not ls.category:
            return set(self.by_logsource.get(ls.key(), ()))
        return {k for k in self.by_category.get(ls.category, ())
                if not ls.product or not self.rules[k].logsource.product
                or self.rules[k].logsource.product == ls.product}

    def vendor_counts(self, key: IndicatorKey) -> dict[str, int]:
        counts = dict.fromkeys(VENDORS, 0)
        u = self.usage.get(key)
        if u is not None:
            for k in u.positive | u.excluded:
                v = self.rules[k].vendor
                counts[v] = counts.get(v, 0) + 1
        return counts

    def resolve_reference(self, ref: str) -> IndexedRule | None:
        """A correlation's reference (rule id or name) to the rule it names."""
        key = self.by_id.get(ref) or self.by_name.get(ref)
        return self.rules.get(key) if key else None

    # -- graph -----------------------------------------------------------------

    @cached_property
    def graph(self) -> "nx.Graph":
        """Rules, indicators, fields, techniques and event categories as one graph.

        Node ids are tuples tagged by kind: ("rule", key), ("indicator", IndicatorKey),
        ("field", name), ("technique", id), ("logsource", label). Rule-indicator edges
        carry `polarity` (positive/excluded).
        """
        import networkx as nx  # only reports walk the graph: keep it out of start-up

        g = nx.Graph()
        for key, r in self.rules.items():
            g.add_node(("rule", key), vendor=r.vendor)
            g.add_edge(("rule", key), ("logsource", r.logsource.key()))
            for t in r.techniques:
                g.add_edge(("rule", key), ("technique", t))
            for ref in r.references:
                target = self.resolve_reference(ref)
                if target is not None:
                    g.add_edge(("rule", key), ("rule", target.key), relation="correlates")
        for ik, u in self.usage.items():
            node = ("indicator", ik)
            g.add_edge(node, ("field", ik.field))
            g.add_edges_from((("rule", k), node, {"polarity": "positive"}) for k in u.positive)
            g.add_edges_from((("rule", k), node, {"polarity": "excluded"}) for k in u.excluded - u.positive)
        return g

    def rules_sharing_indicators(self, rule: IndexedRule, keys: Iterable[IndicatorKey]) -> Counter:
        """Other rules using any of `keys`, with how many they share: the rule's
        neighbours through indicator nodes of the graph, read from the usage table
        (the same edges, without building the graph)."""
        shared: Counter = Counter()
        for k in keys:
            u = self.usage.get(k)
            if u is not None:
                shared.update(u.positive | u.excluded)
        shared.pop(rule.key, None)
        return shared
