"""The per-technique authoring guide: what the corpus's rules for one ATT&CK technique
filter on, look for and exclude (spec/catalog-page-T1219.002.txt), as plain data.

Renderers (markdown, html, json) only lay this out. Every count is of distinct rules:
a rule counts at most once per row however many values or branches it spends there.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from ..analysis.robustness import label, robustness_of
from ..model.fields import canonical_field
from ..model.attack import attack
from ..model.index import CorpusIndex
from ..model.predicate import IndicatorKey
from ..model.rule import NormalizedRule

VENDORS = ("sigma", "elastic", "splunk")
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
SAMPLES = 5
# Splunk's routing fields say where events are stored, not what happened: never indicators.
ROUTING = frozenset({"index", "source", "sourcetype", "_index", "_sourcetype"})

# The domain a rule watches, from its log source: what a reader filters the rule list by.
_NETWORK = {"network_connection", "dns_query", "dns", "firewall", "proxy", "zeek", "network",
            "network_traffic", "netflow", "ids", "webserver", "web"}
_CLOUD = {"aws", "azure", "gcp", "m365", "okta", "google_workspace", "github", "onelogin", "kubernetes",
          "cloud", "microsoft365", "entra", "o365", "bitbucket", "jamf", "qualys"}
_IDENTITY = {"authentication", "identity"}


def domain_of(rule: NormalizedRule) -> str:
    ls = rule.logsource
    product, category = ls.product.lower(), (ls.category or ls.service).lower()
    if product in _CLOUD or category in _CLOUD:
        return "cloud"
    if category in _NETWORK:
        return "network"
    if category in _IDENTITY:
        return "identity"
    if product in ("windows", "linux", "macos") or category:
        return "endpoint"
    return "other"


def platform_of(rule: NormalizedRule) -> str:
    return rule.logsource.product.lower() or "any"


def event_of(rule: NormalizedRule) -> str:
    ls = rule.logsource
    return ls.category or ls.service or "(unspecified)"


SAMPLE_CHARS = 100  # a sample value is a hint; a pasted 40,000-character payload would bury the table


def sample_text(value: str) -> str:
    """A sample value as the tables show it: long values cut, saying how long they are."""
    if len(value) <= SAMPLE_CHARS:
        return value
    return f"{value[:SAMPLE_CHARS]}... ({len(value):,} characters)"

@dataclass
class FieldRow:
    field: str  # as most rules here write it
    canonical: str
    rules: int
    ops: dict[str, int]  # operator as written -> rules using it on this field
    samples: list[str]
    aliases: list[str]
    rule_keys: list[str]


@dataclass
class IndicatorRow:
    field: str
    op: str
    value: str  # as most rules here write it
    rules_here: int
    corpus_reach: int
    key: IndicatorKey
    rule_keys: list[str]
    ordinary: str = ""  # the prevalence prior's evidence that the value is common in ordinary activity

    @property
    def specific(self) -> bool:
        """Used nowhere else in the corpus: the catalog leaves its reach blank."""
        return self.corpus_reach <= self.rules_here


@dataclass
class ExclusionRow:
    field: str
    op: str
    value: str
    rules_excluding: int
    key: IndicatorKey
    rule_keys: list[str]


# Summiting the Pyramid's levels, as what an adversary must change to evade a rule resting on them.
LEVEL_NAMES = {
    "1": "ephemeral values (a name, hash, address or string they choose)",
    "2": "their own tool (rewrite or rebuild it)",
    "3": "a pre-existing tool (use another one)",
    "4": "some implementations of the technique (use another implementation)",
    "5": "the technique itself (use another technique)",
    "none": "not decided by the method (see `rulelint explain`)",
}


def robustness_label(r: "RuleEntry") -> str:
    """`3K` (level and event column) as the method writes a score; `none` without a level."""
    return label(r.robustness, r.robustness_column)


@dataclass
class RuleEntry:
    key: str
    id: str
    title: str
    vendor: str
    path: str
    line: int | None
    platform: str
    domain: str
    event: str
    noise_score: float | None
    indicators: list[str]  # positive predicates as written
    exclusions: list[str]
    baseline_hits: int | None = None  # background hits on the baseline events (None: no baseline, or not judged)
    robustness: int | None = None  # Summiting the Pyramid level (None: the method does not decide)
    robustness_column: str | None = None
    robustness_reason: str = ""


@dataclass
class TechniqueReport:
    technique: str
    name: str
    tactics: list[str]  # as ATT&CK files the technique, else as its rules tag it
    tagged_tactics: list[str]  # what the rules under it tag, most used first
    rules: dict[str, int]
    events: list[dict[str, Any]]
    fields: list[FieldRow]
    fields_total: int
    indicators: list[IndicatorRow]
    indicators_total: int
    exclusions: list[ExclusionRow]
    exclusions_total: int
    rule_list: list[RuleEntry]
    corpus_rules: int

    def attack_release(self) -> str:
        """The ATT&CK release the page reads, and whether it knows the technique (an id of a
        later release is named by its rules only, or not at all)."""
        data = attack()
        if data.technique(self.technique) is None:
            return (f"Enterprise v{data.version} (bundled with rulelint), which does not hold {self.technique}: "
                    f"it may come from a later release")
        return f"Enterprise v{data.version} (bundled with rulelint)"

    def robustness_counts(self) -> dict[str, dict[str, int]]:
        """Rules per robustness level ("1".."5", "none") and vendor: how evadable its rules are."""
        out: dict[str, dict[str, int]] = {k: {v: 0 for v in VENDORS} for k in (*"12345", "none")}
        for r in self.rule_list:
            out[str(r.robustness) if r.robustness is not None else "none"][r.vendor] += 1
        return out

    def other_tactics(self) -> list[str]:
        """The tactics its rules tag beyond ATT&CK's, each once (`command_and_control` and
        `command-and-control` are one tactic)."""
        seen = {tactic_label(t) for t in self.tactics}
        out = []
        for t in self.tagged_tactics:
            if tactic_label(t) not in seen:
                seen.add(tactic_label(t))
                out.append(t)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of docs/json-format.md, with extra keys beside the stable ones."""
        def row(obj: Any) -> dict[str, Any]:
            d = asdict(obj)
            if "key" in d and isinstance(obj.key, tuple):
                d["key"] = dict(zip(("field", "op", "value"), obj.key))
            return d

        return {
            "technique": self.technique, "name": self.name, "tactics": self.tactics,
            "tagged_tactics": self.tagged_tactics, "attack_version": attack().version,
            "rules": self.rules, "events": self.events,
            "fields": [row(f) for f in self.fields], "fields_total": self.fields_total,
            "indicators": [row(i) for i in self.indicators], "indicators_total": self.indicators_total,
            "exclusions": [row(e) for e in self.exclusions], "exclusions_total": self.exclusions_total,
            "rule_list": [asdict(r) for r in self.rule_list], "corpus_rules": self.corpus_rules,
            "robustness": self.robustness_counts(),
        }


def techniques_in(rules: Iterable[NormalizedRule]) -> dict[str, list[NormalizedRule]]:
    """Technique id -> the rules tagged with it, for every technique the rules name."""
    out: dict[str, list[NormalizedRule]] = defaultdict(list)
    for r in rules:
        for t in dict.fromkeys(r.techniques):
            if TECHNIQUE_ID.match(t):
                out[t].append(r)
    return dict(out)


def technique_name(technique: str, rules: Iterable[NormalizedRule]) -> str:
    """The name the rules' own ATT&CK metadata gives (Elastic threat entries carry names),
    a sub-technique's prefixed by its parent's as ATT&CK shows it (`Parent: Sub`); else
    the name in the ATT&CK release shipped with rulelint."""
    names: dict[str, Counter] = defaultdict(Counter)
    for r in rules:
        for t, n in (r.extra.get("technique_names") or {}).items():
            if n:
                names[t][n] += 1
    if names.get(technique):
        name = _most(names[technique])
        parent = technique.split(".")[0]
        if parent != technique:
            parent_name = _most(names[parent]) if names.get(parent) else ""
            known = attack().technique(parent)
            parent_name = parent_name or (known.name if known else "")
            if parent_name:
                return f"{parent_name}: {name}"
        return name
    known = attack().technique(technique)
    return known.name if known else ""


def attack_tactics(technique: str) -> list[str]:
    """The tactics ATT&CK puts the technique under (shortnames), from the shipped release."""
    return list(attack().tactics_of(technique))


def tactic_label(tactic: str) -> str:
    """`command-and-control` -> `Command and Control` (ATT&CK's own name when it knows the tactic)."""
    known = attack().tactics.get(tactic)
    if known:
        return known.name
    small = {"and", "or", "of"}
    return " ".join(w if w in small else w.capitalize() for w in tactic.replace("_", "-").split("-"))


def _most(counter: Counter) -> Any:
    return min(counter, key=lambda k: (-counter[k], str(k)))


def shared_prior_source(rule: NormalizedRule) -> str:
    """The prevalence prior's log source for a rule (its category, or an EQL event type)."""
    from ..analysis.prior import shared_prior

    return shared_prior().source_of(rule.logsource.category, tuple(s.event_type for s in rule.steps))


def build(technique: str, rules: list[NormalizedRule], index: CorpusIndex,
          noise: dict[str, float] | None = None, limit: int = 50,
          baseline: dict[str, int] | None = None) -> TechniqueReport:
    """The report for `technique` from the loaded rules tagged with it; reach from `index`
    (the whole corpus, reference rules included)."""
    here = sorted((r for r in rules if technique in r.techniques), key=lambda r: (r.vendor, r.title, r.path))
    noise = noise or {}

    field_rules: dict[str, set[str]] = defaultdict(set)
    field_names: dict[str, Counter] = defaultdict(Counter)
    field_ops: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    field_values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    value_forms: dict[tuple[str, str], Counter] = defaultdict(Counter)
    ind_rules: dict[IndicatorKey, set[str]] = defaultdict(set)
    ind_forms: dict[IndicatorKey, Counter] = defaultdict(Counter)
    sources: dict[IndicatorKey, Counter] = defaultdict(Counter)  # the prior's log source of the rules using it
    exc_rules: dict[IndicatorKey, set[str]] = defaultdict(set)
    events: dict[str, Counter] = defaultdict(Counter)
    tactics: Counter = Counter()
    entries: list[RuleEntry] = []

    for r in here:
        rob = robustness_of(r)
        events[event_of(r)][r.vendor] += 1
        tactics.update(dict.fromkeys(r.tactics, 1))
        pol = r.polarity
        category = r.logsource.category or r.logsource.service
        source = shared_prior_source(r)
        positives: dict[str, None] = {}
        exclusions: dict[str, None] = {}
        for i, p in enumerate(r.predicates):
            if i not in pol:
                continue
            native = p.native_field or p.field
            row = canonical_field(r.vendor, native, category) if p.native_field else p.field
            if row in ROUTING:
                continue
            field_rules[row].add(r.key)
            field_names[row][native] += 1
            for k, nk in zip(p.keys(), p.native_keys()):
                field_ops[row][nk.op].add(r.key)
                # Samples differing only in case are one (Windows names, SIDs), shown as most write it.
                field_values[row][k.value.casefold()].add(r.key)
                value_forms[row, k.value.casefold()][nk.value] += 1
                ind_rules[k].add(r.key)
                sources[k][source] += 1
                ind_forms[k][nk] += 1
                (positives if pol[i] else exclusions)[nk.display()] = None
                if not pol[i]:
                    exc_rules[k].add(r.key)
        entries.append(RuleEntry(
            key=r.key, id=r.id, title=r.title, vendor=r.vendor, path=r.path, line=r.line,
            platform=platform_of(r), domain=domain_of(r), event=event_of(r),
            noise_score=noise.get(r.key), indicators=list(positives), exclusions=list(exclusions),
            baseline_hits=(baseline or {}).get(r.key), robustness=rob.level, robustness_column=rob.column,
            robustness_reason=rob.reason))

    fields = []
    for row, keys in field_rules.items():
        values = field_values[row]
        samples = [_most(value_forms[row, v]) for v in sorted(values, key=lambda v: (-len(values[v]), v))[:SAMPLES]]
        ops = field_ops[row]
        fields.append(FieldRow(
            field=_most(field_names[row]), canonical=row, rules=len(keys),
            ops={op: len(ks) for op, ks in sorted(ops.items(), key=lambda kv: (-len(kv[1]), kv[0]))},
            samples=samples, aliases=sorted(set(field_names[row]) - {_most(field_names[row])}),
            rule_keys=sorted(keys)))
    fields.sort(key=lambda f: (-f.rules, f.field))

    from ..analysis.prior import shared_prior

    prior = shared_prior()
    indicators = []
    for k, keys in ind_rules.items():
        shown = _most(ind_forms[k])
        ev = prior.evidence(k, sources[k].most_common(1)[0][0])
        indicators.append(IndicatorRow(shown.field, shown.op, shown.value, len(keys), index.reach(k), k,
                                       sorted(keys), ev.text if ev.known else ""))
    indicators.sort(key=lambda i: (-i.rules_here, -i.corpus_reach, i.field, i.op, i.value))

    exclusions = []
    for k, keys in exc_rules.items():
        shown = _most(ind_forms[k])
        exclusions.append(ExclusionRow(shown.field, shown.op, shown.value, len(keys), k, sorted(keys)))
    exclusions.sort(key=lambda e: (-e.rules_excluding, e.field, e.op, e.value))

    counts = Counter(r.vendor for r in here)
    tagged = [t for t, _ in sorted(tactics.items(), key=lambda kv: (-kv[1], kv[0]))]
    return TechniqueReport(
        technique=technique, name=technique_name(technique, here),
        tactics=attack_tactics(technique) or tagged[:1], tagged_tactics=tagged,
        rules={v: counts.get(v, 0) for v in VENDORS},
        events=[{"event": e, "rules": sum(c.values()), "vendors": dict(c)}
                for e, c in sorted(events.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))],
        fields=fields[:limit], fields_total=len(fields),
        indicators=indicators[:limit], indicators_total=len(indicators),
        exclusions=exclusions[:limit], exclusions_total=len(exclusions),
        rule_list=entries, corpus_rules=len(index),
    )
