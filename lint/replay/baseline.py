"""Replay as noise evidence: how often each rule fired on a sample of the user's ordinary logs.

The configuration's `baseline = ["logs/..."]` (or `--baseline` on `explain` and the technique
reports) names event files or folders. Every rule is replayed over them once; the hits are
kept in the cache folder per rule logic and per baseline content, so a later run replays
only rules whose logic changed. Events of a lab recording's simulated attack are not
background and do not count.

Measured hits outrank the estimate where they exist: the rule's rate on the events it reads
(`hits / events of its log source`) becomes a score on the noise scale (log-scaled: one hit
per million events is 0.0; one in a thousand 0.5; every event 1.0), weighted against the
corpus estimate by how many events of its log source the baseline holds (a baseline with
no events of a rule's source says nothing about it).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass

from ..model.rule import NormalizedRule
from ..model.tree import to_compact
from .run import replay
from .sources import discover_events

# Events of a rule's log source at which measurement and estimate weigh the same.
EVIDENCE_HALF_WEIGHT = 10_000


@dataclass(frozen=True)
class Measured:
    hits: int  # background hits (the recorded attacks' own removed)
    scope_events: int  # baseline events of the rule's log source
    events: int  # baseline events in all

    def rate_score(self) -> float:
        if self.scope_events == 0:
            return 0.0
        rate = self.hits / self.scope_events
        return max(0.0, min(1.0, (math.log10(rate) + 6) / 6)) if rate > 0 else 0.0

    def weight(self) -> float:
        return self.scope_events / (self.scope_events + EVIDENCE_HALF_WEIGHT)

    def combine(self, estimate: float | None) -> float:
        """The measured rate weighed against the estimate; alone where there is no estimate
        (a rule whose volume its logic does not tell is still measured when replayed)."""
        if estimate is None:
            return round(self.rate_score(), 3)
        w = self.weight()
        return round(w * self.rate_score() + (1 - w) * estimate, 3)

    def describe(self) -> str:
        return (f"fired {self.hits:,} times in {_size(self.events)} baseline events "
                f"({_size(self.scope_events)} of its log source)")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1_000_000 else f"{n:,}"


def logic_digest(rule: NormalizedRule) -> str:
    """What decides a rule's hits: its logic and log source, never its title or metadata."""
    preds = [(p.field, p.op, p.values, p.case_sensitive, p.transform, p.notes, p.native_field, tuple(map(tuple, p.native)))
             for p in rule.predicates]
    key = repr((rule.vendor, rule.kind, rule.logsource.product, rule.logsource.category, rule.logsource.service,
                preds, to_compact(rule.tree), tuple(rule.steps), rule.maxspan, rule.beyond_query,
                rule.extra.get("index"), rule.extra.get("datamodel")))
    return hashlib.sha1(key.encode()).hexdigest()


def _baseline_digest(files: list[str]) -> str:
    from .. import __version__

    h = hashlib.sha1(__version__.encode())
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def baseline_print(paths: list[str]) -> str:
    """What the baseline's content is, for run caches: its files' names, sizes and times."""
    files = discover_events(paths)
    return _baseline_digest(files) if files else ""


def evidence(rules: list[NormalizedRule], paths: list[str], cache_dir: str | None = None,
             jobs: int | None = None) -> dict[str, Measured]:
    """Rule key -> measured background hits on the baseline (rules that can be judged only)."""
    files = discover_events(paths)
    if not files:
        return {}
    store_path = os.path.join(cache_dir, f"baseline-{_baseline_digest(files)}.json") if cache_dir else None
    stored: dict = {}
    if store_path and os.path.exists(store_path):
        try:
            with open(store_path, encoding="utf-8") as fh:
                stored = json.load(fh)
        except (OSError, ValueError):
            stored = {}
    known = stored.get("rules", {})
    digests = {r.key: logic_digest(r) for r in rules if r.has_logic}
    todo = [r for r in rules if r.key in digests and digests[r.key] not in known]
    if todo:
        res = replay(todo, files, jobs, keep_events=False)
        for n, r in enumerate(todo):
            if n in res.not_judged:
                known[digests[r.key]] = None
                continue
            h = res.hits.get(n)
            known[digests[r.key]] = [(h.hits - h.attack_hits) if h else 0, res.scope_events.get(n, 0)]
        stored = {"events": res.events, "rules": known}
        if store_path:
            try:
                os.makedirs(cache_dir, exist_ok=True)  # type: ignore[arg-type]
                tmp = f"{store_path}.{os.getpid()}.part"
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(stored, fh)
                os.replace(tmp, store_path)
            except OSError:
                pass
    total = int(stored.get("events", 0))
    out = {}
    for key, d in digests.items():
        got = known.get(d)
        if got is not None:
            out[key] = Measured(int(got[0]), int(got[1]), total)
    return out
