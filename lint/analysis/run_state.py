"""The per-run analysis state the checks, the noise score and the reports share.

One `Analysis` per run: the corpus index, the commonness judgment, the options, and
named views of the corpus computed on first use and kept for the run. Checks ask
for a view by name (`ctx.peer_sets(rule)`, `ctx.logic_view(rule)`); nothing is
shared through string-keyed tables. Forked workers inherit whatever the parent
computed before the fork and fill the rest on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..model.attack import family
from ..model.index import CorpusIndex
from ..model.predicate import IndicatorKey
from ..model.rule import IndexedRule, NormalizedRule
from .commonness import Commonness
from .dead_logic import DeadLogic, find_dead_logic
from .duplicates import Duplicates
from .exclusions import ExclusionOptions
from .logic_view import LogicView
from .bounds import Bounds
from .overlap import Overlap, build_overlap
from .peers import PeerSets, peer_keys

# Technique families with fewer tagged rules than this are never umbrellas.
UMBRELLA_MIN_RULES = 50


class Configurable(Protocol):
    """What `Analysis.option` reads of a check."""

    name: str

    def default(self, name: str) -> Any: ...


@dataclass
class Analysis:
    index: CorpusIndex
    common: Commonness
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per target rule's key: corpus rules of other files with its id, which it replaced in
    # the index (a copy whose id was not changed; duplicate-id reports them).
    copies: dict[str, list] = field(default_factory=dict)

    # Run-wide results a check's `prepare` computes before rules are judged.
    overlap: Overlap | None = None
    # Per-rule views, by rule key.
    logic_views: dict[str, LogicView] = field(default_factory=dict)
    dead_logic: dict[str, DeadLogic] = field(default_factory=dict)
    families: dict[str, frozenset[str]] = field(default_factory=dict)
    specific_keys: dict[str, frozenset[IndicatorKey]] = field(default_factory=dict)
    # Per indicator: its reach when it can be a specific indicator, else -1 (RL303).
    specific_reach: dict[IndicatorKey, int] = field(default_factory=dict)
    # Per log source, per option value: computed once.
    _peer_sets: dict[str, PeerSets] = field(default_factory=dict)
    _rare_positive: dict[int, dict[IndicatorKey, set[str]]] = field(default_factory=dict)
    _umbrellas: dict[float, frozenset[str]] = field(default_factory=dict)
    _exclusion_options: ExclusionOptions | None = None
    _duplicates: Duplicates | None = None
    # Per rule key: its Summiting the Pyramid robustness (RL104 and its peers).
    _robustness: dict[str, Any] = field(default_factory=dict)

    def option(self, check: Configurable, name: str) -> Any:
        return self.options.get(check.name, {}).get(name, check.default(name))

    def logic_view(self, rule: NormalizedRule) -> LogicView:
        v = self.logic_views.get(rule.key)
        if v is None:
            v = self.logic_views[rule.key] = LogicView(rule)
        return v

    def robustness(self, rule: NormalizedRule) -> Any:
        """The rule's `analysis.robustness.Robustness`, computed once per run."""
        found = self._robustness.get(rule.key)
        if found is None:
            from .robustness import robustness_of

            found = self._robustness[rule.key] = robustness_of(rule)
        return found

    def same_source(self, rule: IndexedRule) -> set[str]:
        """Keys of the rules reading the rule's kind of event (`CorpusIndex.same_source`)."""
        return self.common.source_members(rule)  # one memo per run, shared with the noise score

    def peer_sets(self, rule: IndexedRule) -> PeerSets:
        """The peer-filtering sets of the rule's log source."""
        source = rule.logsource.key()
        found = self._peer_sets.get(source)
        if found is None:
            found = self._peer_sets[source] = PeerSets(self.index, self.common, self.same_source(rule))
        return found

    def peer_keys(self, rule: IndexedRule) -> set[str]:
        """Keys of the rule's peers: rules on its log source about the same activity."""
        if rule.logsource.key() == "(any)":
            return set()
        return peer_keys(rule, self.index, self.common, self.same_source(rule), self.peer_sets(rule))

    def dead_logic_of(self, rule: NormalizedRule) -> DeadLogic | None:
        """The rule's dead logic, shared by the checks that read it (None: no logic)."""
        if rule.kind != "rule" or rule.tree is None:
            return None
        found = self.dead_logic.get(rule.key)
        if found is None:
            found = self.dead_logic[rule.key] = find_dead_logic(rule, self.logic_view)
        return found

    def prepare_overlap(self, judged: list[NormalizedRule]) -> Overlap:
        """The overlap of every judged rule with the corpus, computed once per run."""
        if self.overlap is None:
            self.overlap = build_overlap(judged, self.index, self.logic_view, self.bounds())
        return self.overlap

    def overlap_of(self, rule: NormalizedRule) -> Overlap:
        """The prepared overlap; without one (a check run on its own), this rule's alone."""
        return self.overlap if self.overlap is not None else build_overlap([rule], self.index, self.logic_view,
                                                                            self.bounds())

    def bounds(self) -> Bounds:
        """The bounds on pairwise work: analysis-skipped's options."""
        return Bounds.from_options(self.options.get("analysis-skipped", {}))

    def rare_positive(self, max_reach: int) -> dict[IndicatorKey, set[str]]:
        """Indicators two to `max_reach + 1` rules select on, with those rules."""
        found = self._rare_positive.get(max_reach)
        if found is None:
            found = self._rare_positive[max_reach] = {
                k: u.positive for k, u in self.index.usage.items() if 2 <= len(u.positive) <= max_reach + 1}
        return found

    def technique_families(self, rule: IndexedRule) -> frozenset[str]:
        """The technique families (a technique with its sub-techniques) the rule tags."""
        fams = self.families.get(rule.key)
        if fams is None:
            fams = self.families[rule.key] = frozenset(family(t) for t in rule.techniques)
        return fams

    def umbrellas(self, max_share: float) -> frozenset[str]:
        """Technique families a large share of the corpus's tagged rules carry (T1059): an
        umbrella, not a verdict on what a rule detects. A small corpus has none."""
        found = self._umbrellas.get(max_share)
        if found is None:
            fams: dict[str, set[str]] = {}
            for tid, keys in self.index.by_technique.items():
                fams.setdefault(family(tid), set()).update(keys)
            tagged = len({k for keys in fams.values() for k in keys})
            found = self._umbrellas[max_share] = frozenset(
                f for f, keys in fams.items() if len(keys) >= UMBRELLA_MIN_RULES and len(keys) > max_share * tagged)
        return found

    def exclusion_options(self, build: Callable[[], ExclusionOptions]) -> ExclusionOptions:
        """RL103's options as the exclusion analysis reads them (built once)."""
        if self._exclusion_options is None:
            self._exclusion_options = build()
        return self._exclusion_options

    def duplicates(self) -> Duplicates:
        """The corpus's rules sharing an id or a title (duplicate-id, duplicate-title), built once."""
        if self._duplicates is None:
            self._duplicates = Duplicates.of(self.index)
        return self._duplicates
