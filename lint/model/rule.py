"""The vendor-neutral rule every loader produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, NamedTuple, Protocol

from .predicate import IndicatorKey, Predicate
from .tree import Branch, Node, branches, from_compact, polarities, to_compact


class Step(NamedTuple):
    """One step of an EQL sequence (or the one event of a plain EQL query): its event
    category, the fields that join it to the other steps, and whether it must be missing."""

    event_type: str
    by: tuple[str, ...] = ()
    negated: bool = False


@dataclass(slots=True)
class LogSource:
    product: str = ""
    category: str = ""
    service: str = ""

    def key(self) -> str:
        """A stable label such as `windows/process_creation` for grouping peers."""
        parts = [self.product, self.category or self.service]
        return "/".join(p for p in parts if p) or "(any)"


# (canonical key, as written, positive?) of one value of one reachable predicate.
IndicatorUse = tuple[IndicatorKey, IndicatorKey, bool]


class IndexedRule(Protocol):
    """What the index, the corpus checks and the reports may read of any corpus rule:
    a loaded `NormalizedRule`, or a `RuleStub` of a stored index, which has no logic
    (`has_logic` is False: no predicates, no tree)."""

    key: str
    id: str
    title: str
    vendor: str
    path: str
    line: int | None
    logic_line: int | None
    techniques: list[str]
    tactics: list[str]
    logsource: LogSource
    kind: str
    references: list[str]
    beyond_query: str
    extra: dict[str, Any]
    has_logic: bool
    stored_noise: float | None  # the noise score the stored index kept (None: a loaded rule)

    def positive_keys(self) -> frozenset[IndicatorKey]: ...

    def excluded_keys(self) -> frozenset[IndicatorKey]: ...

    def indicator_uses(self) -> Iterable[IndicatorUse]: ...


@dataclass(slots=True)
class NormalizedRule:
    key: str  # unique in a run: rule id, else path#index
    id: str
    title: str
    vendor: str  # sigma | elastic | splunk
    path: str
    line: int | None = None
    logic_line: int | None = None  # where the detection logic starts (Sigma condition, a query)
    techniques: list[str] = field(default_factory=list)
    tactics: list[str] = field(default_factory=list)
    logsource: LogSource = field(default_factory=LogSource)
    predicates: list[Predicate] = field(default_factory=list)
    tree: Node | None = None
    kind: str = "rule"  # rule | correlation | filter
    references: list[str] = field(default_factory=list)  # rules a correlation builds on
    # What decides beyond the query's filter ("new_terms on user.name", "threshold"):
    # such a rule fires on far fewer events than its predicates alone match.
    beyond_query: str = ""
    # EQL: the steps (one for a plain query; its predicates carry `stepN` notes when more)
    # and a sequence's time window in seconds.
    steps: tuple[Step, ...] = ()
    maxspan: float | None = None
    # Tests of the query the tree leaves out (an EQL function of a field, math): the tree
    # is broader than the query, so replay does not judge the rule.
    unmodelled: tuple[str, ...] = ()
    # Metadata kept for display only; analysis must never read these (noise_score contract).
    level: str = ""
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    has_logic: ClassVar[bool] = True
    stored_noise: ClassVar[float | None] = None

    # Derived views, computed once on demand: not part of what the rule is (equality, repr).
    _polarity: dict[int, bool] | None = field(default=None, compare=False, repr=False)
    _branches: tuple[list[Branch], bool] | None = field(default=None, compare=False, repr=False)
    _keys: tuple[frozenset[IndicatorKey], frozenset[IndicatorKey]] | None = field(default=None, compare=False, repr=False)

    _STATE = ("key", "id", "title", "vendor", "path", "line", "logic_line", "techniques", "tactics",
              "logsource", "predicates", "kind", "references", "beyond_query", "steps", "maxspan", "unmodelled", "level", "status", "extra")

    def __getstate__(self) -> tuple:
        return (tuple(getattr(self, n) for n in self._STATE), to_compact(self.tree))

    def __setstate__(self, state: tuple) -> None:
        values, tree = state
        for n, v in zip(self._STATE, values):
            setattr(self, n, v)
        self.tree = from_compact(tree)
        self._polarity = self._branches = self._keys = None

    @property
    def polarity(self) -> dict[int, bool]:
        if self._polarity is None:
            self._polarity = polarities(self.tree)
        return self._polarity

    def branch_view(self) -> tuple[list[Branch], bool]:
        if self._branches is None:
            self._branches = branches(self.tree)
        return self._branches

    def indicator_uses(self) -> list[IndicatorUse]:
        """(canonical key, as written, positive?) for every value of every reachable predicate."""
        pol = self.polarity
        uses: list[IndicatorUse] = []
        for i, p in enumerate(self.predicates):
            positive = pol.get(i)
            if positive is not None:
                keys = p.keys()
                uses += [(k, nk, positive) for k, nk in zip(keys, p.native or keys)]
        return uses

    def key_sets(self, uses: list[IndicatorUse] | None = None) -> tuple[frozenset[IndicatorKey], frozenset[IndicatorKey]]:
        """The rule's positive and excluded indicator keys, computed once. A caller that
        has just read `indicator_uses()` passes them and saves the walk."""
        if self._keys is None:
            if uses is None:
                uses = self.indicator_uses()
            self._keys = (frozenset(k for k, _, positive in uses if positive),
                          frozenset(k for k, _, positive in uses if not positive))
        return self._keys

    def positive_keys(self) -> frozenset[IndicatorKey]:
        return self.key_sets()[0]

    def excluded_keys(self) -> frozenset[IndicatorKey]:
        return self.key_sets()[1]

    def written(self, key: IndicatorKey) -> IndicatorKey:
        """How this rule wrote a canonical indicator (the key itself if it does not use it)."""
        for p in self.predicates:
            for k, nk in zip(p.keys(), p.native_keys()):
                if k == key:
                    return nk
        return key


def claim_key(rule: IndexedRule, taken: "set[str] | dict[str, Any]") -> None:
    """Give the rule a key no other rule of the run holds: rule ids repeat across files
    (copies, deprecated versions), and the later file's rule takes `id@path`."""
    while rule.key in taken:
        rule.key = f"{rule.key}@{rule.path}"
