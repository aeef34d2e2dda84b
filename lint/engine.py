"""One lint run: load the corpus and the targets, index, check, score."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing as mp
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from .analysis.commonness import Commonness, CommonnessOptions
from .analysis.noise import noise_score
from . import reference, suppression
from .collector import paused
from .cache import Cache, Stamp
from .config import Config
from .checks import CHECKS, BY_NAME, Check, Context, matches
from .findings import Finding, severity_rank
from .loaders import discover, load_paths, reset_memos
from .loaders.result import LoadResult
from .model import snapshot
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
    config: Config | None = None  # per-path and per-rule ignores
    reference: str | None = None  # a reference index file whose rules join the corpus

    def key(self) -> str:
        """What, besides the files, decides a run's findings."""
        cfg = self.config
        ignores = (cfg.root, sorted(cfg.per_path_ignores.items()), sorted(cfg.per_rule_ignores.items())) if cfg else ()
        ref = reference.fingerprint(self.reference) if self.reference else ""
        return repr((sorted(self.select), sorted(self.ignore),
                     sorted((k, sorted(v.items())) for k, v in self.options.items()), ignores, ref))

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
    reset_memos()  # what earlier work in this process remembered about macros
    files = discover(paths)
    tick = progress(len(files), "Loading rules") if progress else None
    return load_paths(files, settings.jobs, tick, cache), len(files)


def open_cache(settings: Settings) -> Cache | None:
    return Cache(settings.cache_dir) if settings.cache_dir else None


@dataclass
class CorpusBase:
    """The corpus a run judges against: its index, and its rules when they were loaded."""

    index: CorpusIndex
    rules: list[NormalizedRule]
    load: LoadResult
    errors: int
    reference: str  # the reference index joined to it, described
    from_snapshot: bool


class _IndexFeed:
    """Builds the corpus index while the files load: rules arrive in file order, each
    gets a key unique in the run (as `_unique_keys` gives them) and joins the index."""

    def __init__(self) -> None:
        self.index = CorpusIndex([])
        self.seen: set[str] = set()

    def add(self, result: LoadResult) -> None:
        for r in result.rules:
            if r.key in self.seen:
                r.key = f"{r.key}@{r.path}"
            self.seen.add(r.key)
            self.index.add(r)


def corpus_index(
    corpus_files: list[str],
    settings: Settings,
    cache: Cache | None = None,
    progress: ProgressFactory | None = None,
    stamps: dict[str, Stamp] | None = None,
    stored_print: str | None = None,
    warnings: list[str] | None = None,
    later: list[Callable[[], None]] | None = None,
) -> CorpusBase:
    """The corpus index: the stored snapshot when `stored_print` names an unchanged
    corpus, else built from the loaded rules, the reference joined, and stored for
    next time. With `later`, storing it is left there for the caller to run (while
    the checks run), as long as the index stays as returned until then."""
    warnings = warnings if warnings is not None else []
    if cache and stored_print:
        data = cache.snapshot(stored_print)
        if data is not None:
            try:
                index, meta = snapshot.load(data)
                return CorpusBase(index, [], LoadResult(), int(meta.get("errors", 0)),
                                  str(meta.get("reference", "")), True)
            except ValueError as e:
                warnings.append(f"cache file {cache.snapshot_path} was damaged ({e}) and is rebuilt")
    tick = progress(len(corpus_files), "Loading rules") if progress else None
    # The parent mostly waits while workers parse: it indexes rules as they come in and
    # reads the reference meanwhile, instead of after the last file.
    feed = _IndexFeed()
    ref: list[tuple[CorpusIndex, dict]] = []
    read_reference = (lambda: ref.append(reference.read(settings.reference))) if settings.reference else None
    # Everything built here lives as long as the run: no garbage for the collector to find.
    with paused(keep=True):
        load = load_paths(corpus_files, settings.jobs, tick, cache, stamps, consume=feed.add, meanwhile=read_reference)
        index = feed.index
        ref_label = ""
        if ref:
            ref_index, meta = ref[0]
            reference.merge(index, ref_index)
            ref_label = reference.describe(meta)
    if cache:
        # The index holds today's content of every corpus file: key it so.
        corpus_print = _corpus_print(settings, cache, corpus_files)
        if corpus_print:  # the corpus alone, before any target replaces a rule
            def store() -> None:
                cache.store_snapshot(corpus_print, snapshot.dump(
                    index, None, {"errors": len(load.findings), "reference": ref_label}))
            if later is not None:
                later.append(store)
            else:
                store()
    return CorpusBase(index, load.rules, load, len(load.findings), ref_label, False)


def indicator_index(paths: list[str], settings: Settings,
                    progress: ProgressFactory | None = None) -> tuple[CorpusIndex, list[str]]:
    """The index `rulelint indicators` reads: the stored one when the corpus is unchanged."""
    reset_memos()
    cache = open_cache(settings)
    files = discover(paths)
    warnings: list[str] = []
    stored = _corpus_print(settings, cache, files) if cache else None
    base = corpus_index(files, settings, cache, progress, stored_print=stored, warnings=warnings)
    if cache:
        cache.save()
        warnings += cache.warnings
    return base.index, warnings


def _files_print(cache: Cache, files: list[str], old_ok: frozenset[str] = frozenset()) -> str | None:
    """Fingerprint of the files' contents; None when one is not in the cache yet.

    Files in `old_ok` (absolute paths) count as the version the cache last saw, or
    not at all if it never saw them."""
    h = hashlib.sha1()
    for p in files:
        old = old_ok and os.path.abspath(p) in old_ok
        stamp = cache.known(p) if old else cache.fresh(p)
        if stamp is None:
            if old:
                continue
            return None
        h.update(f"{p}\0{stamp.digest}\0{stamp.deps}\n".encode())  # as spelled: reports show it
    return h.hexdigest()


def run(
    paths: list[str],
    targets: list[str] | None = None,
    settings: Settings | None = None,
    progress: ProgressFactory | None = None,
    need_rules: bool = True,
) -> RunResult:
    """Lint: load the corpus (and targets), index it, judge the targets (every corpus
    rule when there are none).

    With a cache: a run identical to an earlier one is answered from its stored
    findings (rules are loaded only if `need_rules`), and targets are judged against
    the stored index of an unchanged corpus without loading the corpus at all.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    reset_memos()  # macros and their fingerprints may have changed since an earlier run
    cache = open_cache(settings)
    corpus_files = discover(paths)
    target_files = discover(targets) if targets else []
    corpus_print = _corpus_print(settings, cache, corpus_files, target_files) if cache else None
    run_key = _run_key(settings, cache, corpus_print, target_files, bool(targets)) if corpus_print else None
    cached = cache.run_result(run_key) if cache and run_key else None
    warnings = cache.warnings if cache else []
    if cached is not None:
        findings, noise, counts, nfiles, corpus_errors = cached
        cache.save()  # touched files: remember their new mtimes
        judged: list[NormalizedRule] = []
        if need_rules:  # the JSON output lists the judged rules
            judged = load_paths(target_files or corpus_files, settings.jobs, None, cache).rules
            _unique_keys(judged)
        return RunResult([], judged, findings, None, None, noise, nfiles, corpus_errors,
                         time.perf_counter() - started, counts, True, warnings)

    stamps: dict[str, Stamp] = {}  # what each loaded file held (suppression reads only some)
    # Cache writes that can wait for the checks' workers: the parent is idle meanwhile.
    # Targets change the index, so with targets the snapshot is stored before they do.
    later: list[Callable[[], None]] = []
    base = corpus_index(corpus_files, settings, cache, progress, stamps,
                        stored_print=corpus_print if targets else None, warnings=warnings,
                        later=None if targets else later)
    if cache:
        later.append(cache.save)
    index, corpus_rules, corpus_load = base.index, base.rules, base.load
    corpus_errors, ref_label, from_snapshot = base.errors, base.reference, base.from_snapshot
    judged_noise: dict[str, float] = {}
    if targets:
        # Against a stored index, the cache keeps the targets' old version: it is what
        # that index holds, so the next changed version still finds it.
        keep = frozenset(os.path.abspath(p) for p in corpus_files) if from_snapshot else frozenset()
        target_load = load_paths(target_files, settings.jobs, None, cache, stamps, keep_cached=keep)
        judged, load_findings = target_load.rules, target_load.findings
        target_paths = {os.path.abspath(p) for p in target_files}
        replace_in_index(index, judged, target_paths)
        nfiles = len(target_paths)
    else:
        judged, load_findings = corpus_rules, corpus_load.findings
        corpus_errors, nfiles = 0, len(corpus_files)
    common = commonness_for(index, settings)
    counts = {
        "rules": len(judged), "corpus_rules": len(index),
        "by_vendor": dict(Counter(r.vendor for r in judged)), "common_threshold": common.threshold,
        "reference": ref_label,
    }
    ctx = Context(index=index, common=common, options=settings.options)
    enabled = settings.enabled()
    findings: list[Finding] = [f for f in load_findings if any(c.name == f.name for c in enabled)]
    checks = [c for c in enabled if c.run is not None]

    def store_meanwhile() -> None:
        for step in later:
            step()

    judged_findings, judged_noise = judge(judged, checks, ctx, settings.jobs, meanwhile=store_meanwhile)
    findings.extend(judged_findings)
    findings = _silence(findings, target_files if targets else corpus_files, settings, enabled, stamps)
    if cache:
        cache.save()
        if not run_key:
            # Against the stored index the corpus is as the start's print saw it; after a
            # load the cache holds new versions of targets inside the corpus.
            print_now = corpus_print if from_snapshot else _corpus_print(settings, cache, corpus_files, target_files)
            run_key = _run_key(settings, cache, print_now, target_files, bool(targets))
        if run_key:
            cache.store_run(run_key, (findings, judged_noise, counts, nfiles, corpus_errors))
    return RunResult(
        corpus=corpus_rules, targets=judged, findings=findings, index=index, common=common,
        noise=judged_noise, files=nfiles, corpus_errors=corpus_errors, seconds=time.perf_counter() - started,
        counts=counts, warnings=warnings,
    )


def _silence(findings: list[Finding], paths: list[str], settings: Settings, enabled: list[Check],
             stamps: dict[str, Stamp] | None = None) -> list[Finding]:
    """Inline suppression comments, then the configuration's per-path and per-rule ignores."""
    stamps = stamps or {}

    def read(path: str) -> str | None:
        stamp = stamps.get(path)
        return None if stamp is not None and not stamp.mentions else suppression.read_text(path)

    kept, unused = suppression.apply(findings, paths, read_text=read, enabled=enabled)
    out = kept + unused
    if settings.config is not None:
        out = [f for f in out if not settings.config.ignored_for(f)]
    return sorted(out, key=Finding.sort_key)


def _corpus_print(settings: Settings, cache: Cache, corpus_files: list[str],
                  target_files: list[str] = ()) -> str | None:  # type: ignore[assignment]
    """The corpus's identity: its files, and the reference index joined to it.

    Targets inside the corpus (the pre-commit case) count as the version the cache
    last saw, or not at all if it never saw them: the stored index of that corpus is
    still the right base, since targets replace their old version anyway."""
    files = _files_print(cache, corpus_files, frozenset(os.path.abspath(p) for p in target_files))
    if files is None or not settings.reference:
        return files
    return hashlib.sha1(f"{files}|{reference.fingerprint(settings.reference)}".encode()).hexdigest()


def _run_key(settings: Settings, cache: Cache, corpus_print: str | None, target_files: list[str],
             has_targets: bool) -> str | None:
    """The identity of a run: settings and every file's content (None until all are cached)."""
    target_print = _files_print(cache, target_files) if corpus_print else None
    if not (corpus_print and target_print):
        return None
    return hashlib.sha1(f"{settings.key()}|{corpus_print}|{target_print}|{has_targets}".encode()).hexdigest()


# Below this many judged rules, forking costs more than it saves.
PARALLEL_JUDGE_THRESHOLD = 400
_SLICES = 16  # per worker
_JUDGE_STATE: tuple | None = None  # what forked workers read: set just before forking


def _judge_slice(bounds: tuple[int, int]) -> tuple[list[Finding], dict[str, float]]:
    judged, checks, ctx = _JUDGE_STATE  # type: ignore[misc]
    findings: list[Finding] = []
    noise: dict[str, float] = {}
    with paused():
        for rule in judged[bounds[0]:bounds[1]]:
            for check in checks:
                findings.extend(check.run(check, rule, ctx))
            noise[rule.key] = noise_score(rule, ctx.common)
    return findings, noise


def judge(judged: list[NormalizedRule], checks: list, ctx: Context, jobs: int | None = None,
          meanwhile: Callable[[], None] | None = None) -> tuple[list[Finding], dict[str, float]]:
    """Run the checks and the noise score on every judged rule. With many rules and
    several cores, forked workers share the index read-only and split the rules.
    `meanwhile` is the parent's own work, run once while the workers judge."""
    global _JUDGE_STATE
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(judged) < PARALLEL_JUDGE_THRESHOLD or "fork" not in mp.get_all_start_methods():
        for check in checks:
            if check.prepare is not None:
                check.prepare(check, judged, ctx)
        if meanwhile:
            meanwhile()
        _JUDGE_STATE = (judged, checks, ctx)
        try:
            return _judge_slice((0, len(judged)))
        finally:
            _JUDGE_STATE = None
    # Checks that prepare run-wide results (`Check.prepare`) prepare and run here, in the
    # parent, while the forked workers already run every other check and the noise score:
    # no core waits for the preparation. Their findings come last (run() sorts findings).
    prepared = [c for c in checks if c.prepare is not None]
    _JUDGE_STATE = (judged, [c for c in checks if c.prepare is None], ctx)
    step = -(-len(judged) // (jobs * _SLICES))  # small slices: no worker idles while one finishes a big one
    slices = [(i, min(i + step, len(judged))) for i in range(0, len(judged), step)]
    findings: list[Finding] = []
    noise: dict[str, float] = {}
    # Frozen objects are never scanned by the collector: a collection in a worker would
    # otherwise write to the header of every inherited object and copy the whole heap.
    gc.freeze()
    try:
        with mp.get_context("fork").Pool(jobs) as pool:
            parts = pool.imap(_judge_slice, slices)
            if meanwhile:
                meanwhile()
            for check in prepared:
                check.prepare(check, judged, ctx)
            own = [f for rule in judged for check in prepared for f in check.run(check, rule, ctx)]
            for part_findings, part_noise in parts:
                findings.extend(part_findings)
                noise.update(part_noise)
    finally:
        _JUDGE_STATE = None
        gc.unfreeze()
    return findings + own, noise


def replace_in_index(index: CorpusIndex, judged: list[NormalizedRule], paths: set[str]) -> None:
    """Put judged rules in the index in place of the corpus rules they edit (same id, or
    from the same file, `paths` absolute): a rule is never its own peer."""
    ids = {r.id for r in judged if r.id}
    for key in [k for k, r in index.rules.items() if r.id in ids or os.path.abspath(r.path) in paths]:
        index.remove(key)
    for r in judged:
        while r.key in index.rules:
            r.key = f"{r.key}@{r.path}"
        index.add(r)


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
