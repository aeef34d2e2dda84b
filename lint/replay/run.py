"""`rulelint replay`: every rule over every event, counted per rule.

Rules are compiled once; event files are shared out to worker processes (forked: the
compiled rules and the candidate index are inherited, not pickled). Per event, the candidate
index proposes rules, the rule's log-source scope and then its tree decide. Sequences see
their events in time order per file. What a worker sends back is small: per rule the
positions it matched, per event with rules of several vendors the rules that met there.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from ..model.rule import NormalizedRule
from ..parallel import can_fork, fork_map, jobs_for
from .anchors import CandidateIndex, rule_anchors
from .evaluate import CannotJudge, Compiled, compile_rule
from .event import Event
from .lab import AttackMarker, attack_marker
from .normalize import normalize
from .scope import rule_scope
from .sequences import SequenceMatcher, is_sequence, step_anchors
from .sources import SourceError, read_events


@dataclass
class RuleHits:
    hits: int = 0
    events: list[tuple[str, int]] = field(default_factory=list)
    by_source: Counter = field(default_factory=Counter)
    by_host: Counter = field(default_factory=Counter)
    attack_hits: int = 0  # of them, events of a recording's simulated attack


@dataclass
class ReplayResult:
    rules: list[NormalizedRule]
    hits: dict[int, RuleHits]  # rule number -> hits (rules with none are absent)
    not_judged: dict[int, str]  # rule number -> why it cannot be judged on single events
    events: int = 0
    attack_events: int = 0
    files: int = 0
    errors: list[SourceError] = field(default_factory=list)
    by_source: Counter = field(default_factory=Counter)  # events per log source
    together: Counter = field(default_factory=Counter)  # rule numbers of several vendors -> events they share
    scope_events: Counter = field(default_factory=Counter)  # rule number -> events of its log source
    seconds: float = 0.0


@dataclass
class _Plan:
    compiled: dict[int, Compiled]
    scopes: dict[int, Callable[[Event], bool]]
    index: CandidateIndex
    sequences: list[int]
    sequence_set: frozenset[int]
    vendors: list[str]
    event_data: frozenset[str]  # Windows fields some rule reads as winlog.event_data.*


_EVENT_DATA = "winlog.event_data."


def plan(rules: list[NormalizedRule]) -> tuple[_Plan, dict[int, str]]:
    compiled: dict[int, Compiled] = {}
    not_judged: dict[int, str] = {}
    for n, rule in enumerate(rules):
        try:
            compiled[n] = compile_rule(rule)
        except CannotJudge as e:
            not_judged[n] = str(e)
    sequences = [n for n in compiled if is_sequence(rules[n])]
    sequence_set = frozenset(sequences)
    single = [n for n in compiled if n not in sequence_set]
    # One index: a sequence is proposed by the anchors of any of its steps.
    index = CandidateIndex([(n, rule_anchors(rules[n])) for n in single]
                           + [(n, step_anchors(rules[n])) for n in sequences])
    scopes = {n: rule_scope(rules[n]) for n in compiled}
    return _Plan(compiled, scopes, index, sequences, sequence_set, [r.vendor for r in rules],
                 frozenset(q.field[len(_EVENT_DATA):] for n in compiled for q in rules[n].predicates
                           if q.field.startswith(_EVENT_DATA))), not_judged


@dataclass
class _FileResult:
    file: str
    events: int = 0
    attack_events: int = 0
    hits: dict[int, list[int]] = field(default_factory=dict)
    attack: dict[int, int] = field(default_factory=dict)
    by_source: Counter = field(default_factory=Counter)
    rule_sources: dict[int, Counter] = field(default_factory=dict)
    rule_hosts: dict[int, Counter] = field(default_factory=dict)
    together: Counter = field(default_factory=Counter)
    errors: list[SourceError] = field(default_factory=list)
    scope_events: Counter = field(default_factory=Counter)


def _source_label(ev: Event) -> str:
    code = ev.values("event.code")
    channel = ev.values("winlog.channel")
    if channel:
        return f"{channel[0]} {code[0] if code else ''}".strip()
    cats = ev.values("event.dataset") or ev.values("event.category")
    return ", ".join(cats) if cats else "(unknown source)"


def replay_file(p: _Plan, item: tuple[str, AttackMarker | None]) -> _FileResult:
    path, marker = item
    out = _FileResult(path)
    seq_events: dict[int, list[tuple[int, Event]]] = {}
    sequence_set = p.sequence_set
    sig_counts: Counter = Counter()
    compiled, scopes, index, vendors = p.compiled, p.scopes, p.index, p.vendors
    # Events of one source share their scope: which rules judge them is worked out once per
    # (product, categories, services, indices, data models, event.category).
    scoped: dict[tuple, tuple[frozenset[int], frozenset[str]]] = {}
    for got in read_events(path):
        if isinstance(got, SourceError):
            out.errors.append(got)
            continue
        pos, doc = got
        ev = normalize(doc, p.event_data)
        out.events += 1
        label = _source_label(ev)
        out.by_source[label] += 1
        sig = (ev.product, ev.categories, ev.services, ev.indices, ev.datamodels, ev.folded("event.category"))
        sig_counts[sig] += 1
        scope = scoped.get(sig)
        if scope is None:
            # Single-event rules and sequences in scope, and the fields their anchors test.
            in_scope = frozenset(n for n in compiled if scopes[n](ev))
            scope = scoped[sig] = (in_scope, index.fields_of(in_scope))
        found = index.candidates(ev, *scope)
        matched = []
        for n in found:
            if n in sequence_set:
                # A sequence sees the events one of its steps could take.
                seq_events.setdefault(n, []).append((pos, ev))
            elif compiled[n].test(ev):
                matched.append(n)
        # Only a matched event needs to be told apart as the recorded attack's own.
        is_attack = bool(matched) and marker is not None and marker.is_attack(ev)
        out.attack_events += is_attack
        for n in matched:
            _count(out, n, pos, label, ev.host, is_attack)
        if len(matched) > 1 and len({vendors[n] for n in matched}) > 1:
            out.together[tuple(sorted(matched))] += 1
    for sig, count in sig_counts.items():
        for n in scoped[sig][0]:
            out.scope_events[n] += count
    for n, stream in seq_events.items():
        stream.sort(key=lambda pe: (pe[1].timestamp or 0.0, pe[0]))
        by_pos = dict(stream)
        matcher = SequenceMatcher(compiled[n].rule, compiled[n].tests)
        for pos in sorted(matcher.run(stream)):
            ev = by_pos[pos]
            _count(out, n, pos, _source_label(ev), ev.host, marker is not None and marker.is_attack(ev))
    return out


def _count(out: _FileResult, n: int, pos: int, label: str, host: str, is_attack: bool) -> None:
    out.hits.setdefault(n, []).append(pos)
    out.rule_sources.setdefault(n, Counter())[label] += 1
    if host:
        out.rule_hosts.setdefault(n, Counter())[host] += 1
    if is_attack:
        out.attack[n] = out.attack.get(n, 0) + 1


def replay(rules: list[NormalizedRule], event_files: list[str], jobs: int | None = None,
           progress: Callable[[int], None] | None = None, keep_events: bool = True,
           lab_metadata: bool = True) -> ReplayResult:
    import time

    start = time.perf_counter()
    # A sequence's scope admits the event types of all its steps; the matcher checks each step's own.
    p, not_judged = plan(rules)
    result = ReplayResult(rules, {}, not_judged, files=len(event_files))
    items = [(f, attack_marker(f) if lab_metadata else None) for f in event_files]
    # Big files first, so the last worker to finish is not the one with the largest file.
    items.sort(key=lambda it: -_size(it[0]))
    workers = min(jobs_for(jobs), len(items))
    if workers > 1 and can_fork():
        outputs = fork_map(replay_file, p, items, workers)
    else:
        outputs = (replay_file(p, it) for it in items)
    for fr in outputs:
        _merge(result, fr, keep_events)
        if progress:
            progress(1)
    for rh in result.hits.values():
        rh.events.sort()
    result.seconds = time.perf_counter() - start
    return result


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _merge(result: ReplayResult, fr: _FileResult, keep_events: bool) -> None:
    result.events += fr.events
    result.attack_events += fr.attack_events
    result.errors += fr.errors
    result.by_source.update(fr.by_source)
    result.together.update(fr.together)
    result.scope_events.update(fr.scope_events)
    for n, positions in fr.hits.items():
        rh = result.hits.setdefault(n, RuleHits())
        rh.hits += len(positions)
        if keep_events:
            rh.events.extend((fr.file, i) for i in positions)
        rh.by_source.update(fr.rule_sources.get(n, ()))
        rh.by_host.update(fr.rule_hosts.get(n, ()))
        rh.attack_hits += fr.attack.get(n, 0)
