"""One lint run: load the corpus and the targets, index, check, score."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from .analysis.commonness import Commonness, CommonnessOptions
from .analysis.noise import noise_score
from .cache import Cache
from .checks import CHECKS, BY_NAME, Check, Context, matches
from .findings import Finding, severity_rank
from .loaders import discover, load_paths
from .loaders.result import LoadResult
from .model.index import CorpusIndex
from .model.rule import NormalizedRule

ProgressFactory = Callable[[int, str], Callable[[int], None]]


@dataclass
class Settings:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: int | None = None
    cache_dir: str | None = None  # None: no persistent cache

    def key(self) -> str:
        """What, besides the files, decides a run's findings."""
        return repr((sorted(self.select), sorted(self.ignore), sorted((k, sorted(v.items())) for k, v in self.options.items())))

    def enabled(self) -> list[Check]:
        chosen = [c for c in CHECKS if not self.select or any(matches(c, t) for t in self.select)]
        return [c for c in chosen if not any(matches(c, t) for t in self.ignore)]


@dataclass
class RunResult:
    """What a run found. From a cached run, `index` and `common` are None, and the
    rules are loaded only when asked for (`need_rules`)."""

    corpus: list[NormalizedRule]
    targets: list[NormalizedRule]
    findings: list[Finding]
    index: CorpusIndex | None
    common: Commonness | None
    noise: dict[str, float]
    files: int
    corpus_errors: int
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)  # rules, corpus_rules, by_vendor, common_threshold
    from_cache: bool = False
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        by_sev = Counter(f.severity for f in self.findings)
        by_check = Counter(f.name for f in self.findings)
        return {
            "files": self.files,
            **self.counts,
            "findings": len(self.findings),
            "by_severity": {s: by_sev.get(s, 0) for s in ("error", "warning", "info")},
            "by_check": dict(sorted(by_check.items())),
            "corpus_parse_errors": self.corpus_errors,
            "seconds": round(self.seconds, 3),
        }


def commonness_for(index: CorpusIndex, settings: Settings) -> Commonness:
    opts = settings.options.get("noisy-standalone-indicator", {})
    defaults = CommonnessOptions()
    return Commonness(index, CommonnessOptions(
        min_reach=int(opts.get("min_reach", defaults.min_reach)),
        common_share=float(opts.get("common_share", defaults.common_share)),
    ))


def load_corpus(paths: list[str], settings: Settings, progress: ProgressFactory | None = None,
                cache: Cache | None = None) -> tuple[LoadResult, int]:
    files = discover(paths)
    tick = progress(len(files), "Loading rules") if progress else None
    return load_paths(files, settings.jobs, tick, cache), len(files)


def open_cache(settings: Settings) -> Cache | None:
    return Cache(settings.cache_dir) if settings.cache_dir else None


def _run_key(settings: Settings, cache: Cache, corpus_files: list[str], target_files: list[str]) -> str | None:
    """The identity of a run: settings and every file's content. None when a file is
    not in the cache yet (the run must load it anyway)."""
    h = hashlib.sha1(settings.key().encode())
    for group in (corpus_files, target_files):
        h.update(b"\0group")
        for p in group:
            stamp = cache.fresh(p)
            if stamp is None:
                return None
            h.update(f"{os.path.abspath(p)}\0{stamp.digest}\0{stamp.deps}\n".encode())
    return h.hexdigest()


def run(
    paths: list[str],
    targets: list[str] | None = None,
    settings: Settings | None = None,
    progress: ProgressFactory | None = None,
    need_rules: bool = True,
) -> RunResult:
    """Lint: load the corpus (and targets), index it, judge the targets (every corpus
    rule when there are none). With a cache, a run identical to an earlier one is
    answered from it without loading rules unless `need_rules`."""
    settings = settings or Settings()
    started = time.perf_counter()
    cache = open_cache(settings)
    corpus_files = discover(paths)
    target_files = discover(targets) if targets else []
    key = _run_key(settings, cache, corpus_files, target_files) if cache else None
    cached = cache.run_result(key) if cache and key else None
    if cached is not None and not need_rules:
        findings, noise, counts, nfiles, corpus_errors = cached
        return RunResult([], [], findings, None, None, noise, nfiles, corpus_errors,
                         time.perf_counter() - started, counts, True, cache.warnings)
    tick = progress(len(corpus_files), "Loading rules") if progress else None
    corpus_load = load_paths(corpus_files, settings.jobs, tick, cache)
    if targets:
        target_load = load_paths(target_files, settings.jobs, None, cache)
        target_paths = set(target_files)  # discover() already normalizes
        target_ids = {r.id for r in target_load.rules if r.id}
        # A target replaces the corpus rule it edits: a rule is never its own peer.
        corpus_rules = [r for r in corpus_load.rules
                        if r.id not in target_ids and os.path.normpath(r.path) not in target_paths]
        judged = target_load.rules
        load_findings = target_load.findings
        corpus_errors = len(corpus_load.findings)
        nfiles = len(target_paths)
    else:
        corpus_rules, judged = [], corpus_load.rules
        load_findings, corpus_errors = corpus_load.findings, 0
        nfiles = len(corpus_files)
    _unique_keys(corpus_rules + judged)
    counts = {
        "rules": len(judged), "corpus_rules": len(corpus_rules) + len(judged),
        "by_vendor": dict(Counter(r.vendor for r in judged)),
    }
    if cached is not None:
        findings, noise, counts, nfiles, corpus_errors = cached
        if cache:
            cache.save()
        return RunResult(corpus_rules + judged, judged, findings, None, None, noise, nfiles, corpus_errors,
                         time.perf_counter() - started, counts, True, cache.warnings if cache else [])
    index = CorpusIndex(corpus_rules + judged)
    common = commonness_for(index, settings)
    counts["common_threshold"] = common.threshold
    ctx = Context(index=index, common=common, options=settings.options)
    enabled = settings.enabled()
    findings: list[Finding] = [f for f in load_findings if any(c.name == f.name for c in enabled)]
    checks = [c for c in enabled if c.run is not None]
    judged_findings, noise = judge(judged, checks, ctx, settings.jobs)
    findings.extend(judged_findings)
    findings.sort(key=Finding.sort_key)
    warnings: list[str] = []
    if cache:
        cache.save()
        key = key or _run_key(settings, cache, corpus_files, target_files)
        if key:
            cache.store_run(key, (findings, noise, counts, nfiles, corpus_errors))
        warnings = cache.warnings
    return RunResult(
        corpus=corpus_rules + judged, targets=judged, findings=findings, index=index, common=common,
        noise=noise, files=nfiles, corpus_errors=corpus_errors, seconds=time.perf_counter() - started,
        counts=counts, warnings=warnings,
    )


# Below this many judged rules, forking costs more than it saves.
PARALLEL_JUDGE_THRESHOLD = 400
_JUDGE_STATE: tuple | None = None  # what forked workers read: set just before forking


def _judge_slice(bounds: tuple[int, int]) -> tuple[list[Finding], dict[str, float]]:
    judged, checks, ctx = _JUDGE_STATE  # type: ignore[misc]
    findings: list[Finding] = []
    noise: dict[str, float] = {}
    for rule in judged[bounds[0]:bounds[1]]:
        for check in checks:
            findings.extend(check.run(check, rule, ctx))
        noise[rule.key] = noise_score(rule, ctx.common)
    return findings, noise


def judge(judged: list[NormalizedRule], checks: list, ctx: Context, jobs: int | None = None
          ) -> tuple[list[Finding], dict[str, float]]:
    """Run the checks and the noise score on every judged rule. With many rules and
    several cores, forked workers share the index read-only and split the rules."""
    global _JUDGE_STATE
    jobs = jobs or os.cpu_count() or 1
    _JUDGE_STATE = (judged, checks, ctx)
    try:
        if jobs <= 1 or len(judged) < PARALLEL_JUDGE_THRESHOLD or "fork" not in mp.get_all_start_methods():
            return _judge_slice((0, len(judged)))
        step = -(-len(judged) // (jobs * 4))
        slices = [(i, min(i + step, len(judged))) for i in range(0, len(judged), step)]
        findings: list[Finding] = []
        noise: dict[str, float] = {}
        with mp.get_context("fork").Pool(jobs) as pool:
            for part_findings, part_noise in pool.imap(_judge_slice, slices):
                findings.extend(part_findings)
                noise.update(part_noise)
        return findings, noise
    finally:
        _JUDGE_STATE = None


def _unique_keys(rules: list[NormalizedRule]) -> None:
    """Rule ids repeat across files (copies, deprecated versions): keep keys unique per run."""
    seen: set[str] = set()
    for r in rules:
        if r.key in seen:
            r.key = f"{r.key}@{r.path}"
        seen.add(r.key)


def exit_code(findings: list[Finding], fail_on: str) -> int:
    limit = severity_rank(fail_on)
    return 1 if any(severity_rank(f.severity) >= limit for f in findings) else 0


__all__ = ["Settings", "RunResult", "run", "exit_code", "BY_NAME"]
