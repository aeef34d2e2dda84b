"""One lint run, start to end: load the corpus and the targets, index, judge, silence.

The stages live elsewhere (loaders, model.index, judge, suppression, renderers);
this module decides their order, what the cache may answer, and what a cached
run still has to load. Parallelism is `parallel`'s, the cache's identity of a run
is `run_cache`'s.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import reference, suppression
from .analysis.overlap import facts_of
from .analysis.run_state import Analysis
from .cache import Cache, Stamp
from .checks import Check
from .findings import Finding
from .judge import judge
from .loaders import Loaded, discover, load_files, reset_memos
from .loaders.result import LoadResult
from .model import snapshot
from .model.index import CorpusIndex
from .model.rule import NormalizedRule, claim_key
from .parallel import paused
from .run_cache import corpus_print, open_cache, run_key
from .run_result import RunResult
from .settings import Settings

ProgressFactory = Callable[[int, str], Callable[[int], None]]


def gather(loads: Iterable[Loaded], cache: Cache | None = None, stamps: dict[str, Stamp] | None = None,
           keep_cached: frozenset[str] = frozenset(), progress: Callable[[int], None] | None = None,
           consume: Callable[[LoadResult], None] | None = None) -> LoadResult:
    """Take in loads as they come: parsed results go to the cache (except files in
    `keep_cached`, absolute paths), each file's stamp to `stamps`, each result to
    `consume` (the index, built while later files still parse), all to one LoadResult."""
    total = LoadResult()
    for loaded in loads:
        if loaded.stamp is not None:
            if cache is not None and not loaded.from_cache and os.path.abspath(loaded.path) not in keep_cached:
                cache.store(loaded.path, loaded.stamp, loaded.result, loaded.blob)
            if stamps is not None:
                stamps[loaded.path] = loaded.stamp
        if consume is not None:
            consume(loaded.result)
        if progress:
            progress(1)
        total.extend(loaded.result)
    return total


def load_corpus(paths: list[str], settings: Settings, progress: ProgressFactory | None = None,
                cache: Cache | None = None) -> tuple[LoadResult, int]:
    reset_memos()  # what earlier work in this process remembered about macros
    files = discover(paths)
    tick = progress(len(files), "Loading rules") if progress else None
    return gather(load_files(files, settings.jobs, cache), cache, progress=tick), len(files)


@dataclass
class CorpusBase:
    """The corpus a run judges against: its index, and its rules when they were loaded."""

    index: CorpusIndex
    rules: list[NormalizedRule]
    load: LoadResult
    errors: dict[str, int]  # load findings per file (absolute path): files that do not load
    reference: str  # the reference index joined to it, described
    from_snapshot: bool
    upstream: dict[str, str] = field(default_factory=dict)  # its sources' repository -> commit


class _IndexFeed:
    """Builds the corpus index while the files load: rules arrive in file order, each
    gets a key unique in the run and joins the index."""

    def __init__(self) -> None:
        self.index = CorpusIndex([])

    def add(self, result: LoadResult) -> None:
        for r in result.rules:
            claim_key(r, self.index.rules)
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
                index, meta = snapshot.load(data, _stored_rules(cache))
                return CorpusBase(index, [], LoadResult(), dict(meta.get("errors", {})),
                                  str(meta.get("reference", "")), True, dict(meta.get("upstream", {})))
            except (ValueError, TypeError) as e:
                warnings.append(f"cache file {cache.snapshot_path} was damaged ({e}) and is rebuilt")
    tick = progress(len(corpus_files), "Loading rules") if progress else None
    # The parent mostly waits while workers parse: it indexes rules as they come in and
    # reads the reference meanwhile, instead of after the last file.
    feed = _IndexFeed()
    ref: list[tuple[CorpusIndex, dict]] = []
    read_reference = (lambda: ref.append(reference.read(settings.reference))) if settings.reference else None
    # Everything built here lives as long as the run: no garbage for the collector to find.
    with paused(keep=True):
        load = gather(load_files(corpus_files, settings.jobs, cache, meanwhile=read_reference), cache, stamps,
                      progress=tick, consume=feed.add)
        index = feed.index
        ref_label, upstream = "", {}
        if ref:
            ref_index, meta = ref[0]
            reference.merge(index, ref_index)
            ref_label = reference.describe(meta)
            upstream = reference.upstream_commits(meta)
    errors = _errors_by_file(load)
    if cache:
        # The index holds today's content of every corpus file: key it so.
        corpus_key = corpus_print(settings, cache, corpus_files)
        if corpus_key:  # the corpus alone, before any target replaces a rule
            def store() -> None:
                cache.store_snapshot(corpus_key, snapshot.dump(
                    index, None, {"errors": errors, "reference": ref_label, "upstream": upstream}, facts=facts_of))
            if later is not None:
                later.append(store)
            else:
                store()
    return CorpusBase(index, load.rules, load, errors, ref_label, False, upstream)


def _errors_by_file(load: LoadResult) -> dict[str, int]:
    out: dict[str, int] = {}
    # Only parse errors: a file with a control character or no query logic still loads.
    for f in load.findings:
        if f.name != "parse-error":
            continue
        p = os.path.abspath(f.path)
        out[p] = out.get(p, 0) + 1
    return out


def _stored_rules(cache: Cache) -> snapshot.Resolver:
    """Loads a stored index's rules from the per-file cache, the version the index was
    built from (the corpus print that chose the index vouches for every file's entry)."""
    files: dict[str, list[NormalizedRule]] = {}

    def resolve(path: str, place: int) -> NormalizedRule:
        rules = files.get(path)
        if rules is None:
            try:
                rules = files[path] = cache.stored(path).rules
            except Exception as e:  # the entry went missing or does not load: nothing to answer with
                raise RuntimeError(f"the cache lost {path}, which its stored index holds ({e}); "
                                   "run again with --no-cache") from None
        return rules[place]

    return resolve


def indicator_index(paths: list[str], settings: Settings,
                    progress: ProgressFactory | None = None) -> tuple[CorpusIndex, list[str]]:
    """The index `rulelint indicators` reads: the stored one when the corpus is unchanged."""
    reset_memos()
    cache = open_cache(settings)
    files = discover(paths)
    warnings: list[str] = []
    stored = corpus_print(settings, cache, files) if cache else None
    base = corpus_index(files, settings, cache, progress, stored_print=stored, warnings=warnings)
    if cache:
        cache.save()
        warnings += cache.warnings
    return base.index, warnings


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
    corpus_key = corpus_print(settings, cache, corpus_files, target_files) if cache else None
    key = run_key(settings, cache, corpus_key, target_files, bool(targets)) if corpus_key else None
    cached = cache.run_result(key) if cache and key else None
    warnings = cache.warnings if cache else []
    if cached is not None:
        findings, noise, counts, nfiles, corpus_errors = cached
        cache.save()  # touched files: remember their new mtimes
        judged: list[NormalizedRule] = []
        if need_rules:  # the JSON output lists the judged rules
            judged = gather(load_files(target_files or corpus_files, settings.jobs, cache), cache).rules
            taken: set[str] = set()
            for r in judged:
                claim_key(r, taken)
                taken.add(r.key)
        return RunResult([], judged, findings, None, None, noise, nfiles, corpus_errors,
                         time.perf_counter() - started, counts, True, warnings)

    stamps: dict[str, Stamp] = {}  # what each loaded file held (suppression reads only some)
    # Cache writes that can wait for the checks' workers: the parent is idle meanwhile.
    # Targets change the index, so with targets the snapshot is stored before they do.
    later: list[Callable[[], None]] = []
    base = corpus_index(corpus_files, settings, cache, progress, stamps,
                        stored_print=corpus_key if targets else None, warnings=warnings,
                        later=None if targets else later)
    if cache:
        later.append(cache.save)
    index, corpus_rules, corpus_load = base.index, base.rules, base.load
    ref_label, from_snapshot = base.reference, base.from_snapshot
    corpus_errors = sum(base.errors.values())
    judged_noise: dict[str, float] = {}
    if targets:
        # Against a stored index, the cache keeps the targets' old version: it is what
        # that index holds, so the next changed version still finds it.
        keep = frozenset(os.path.abspath(p) for p in corpus_files) if from_snapshot else frozenset()
        target_load = gather(load_files(target_files, settings.jobs, cache), cache, stamps, keep)
        judged, load_findings = target_load.rules, target_load.findings
        target_paths = {os.path.abspath(p) for p in target_files}
        copies = replace_in_index(index, judged, target_paths)
        nfiles = len(target_paths)
        if from_snapshot:
            # The stored index may hold an older version of targets inside the corpus: a
            # fresh load counts what their current version yields.
            now = _errors_by_file(target_load)
            in_corpus = {os.path.abspath(c) for c in corpus_files}
            corpus_errors = sum(n for p, n in base.errors.items() if p not in target_paths) + sum(
                n for p, n in now.items() if p in in_corpus)
    else:
        judged, load_findings = corpus_rules, corpus_load.findings
        copies = {}
        corpus_errors, nfiles = 0, len(corpus_files)
    common = settings.commonness(index)
    counts = {
        "rules": len(judged), "corpus_rules": len(index),
        "by_vendor": dict(Counter(r.vendor for r in judged)), "common_threshold": common.threshold,
        "reference": ref_label, "upstream": base.upstream,
    }
    ctx = Analysis(index=index, common=common, options=settings.options, copies=copies)
    enabled = settings.enabled()
    findings: list[Finding] = [f for f in load_findings if any(c.name == f.name for c in enabled)]
    checks = [c for c in enabled if c.runs]

    def store_meanwhile() -> None:
        for step in later:
            step()

    judged_findings, judged_noise = judge(judged, checks, ctx, settings.jobs, meanwhile=store_meanwhile)
    if settings.baseline:
        _join_baseline(judged, judged_noise, counts, settings)
    findings.extend(judged_findings)
    findings = _silence(findings, target_files if targets else corpus_files, settings, enabled, stamps)
    if cache:
        cache.save()
        if not key:
            # Against the stored index the corpus is as the start's print saw it; after a
            # load the cache holds new versions of targets inside the corpus.
            print_now = corpus_key if from_snapshot else corpus_print(settings, cache, corpus_files, target_files)
            key = run_key(settings, cache, print_now, target_files, bool(targets))
        if key:
            cache.store_run(key, (findings, judged_noise, counts, nfiles, corpus_errors))
    return RunResult(
        corpus=corpus_rules, targets=judged, findings=findings, index=index, common=common,
        noise=judged_noise, files=nfiles, corpus_errors=corpus_errors, seconds=time.perf_counter() - started,
        counts=counts, warnings=warnings,
    )


def _join_baseline(judged: list[NormalizedRule], noise: dict[str, float], counts: dict, settings: Settings) -> None:
    """Measured hits on the user's baseline logs outrank the estimate where they exist."""
    from .replay.baseline import evidence

    measured = evidence(judged, settings.baseline, settings.cache_dir, settings.jobs)
    for key, m in measured.items():
        if key in noise:
            noise[key] = m.combine(noise[key])
    events = next(iter(measured.values())).events if measured else 0
    counts["baseline"] = {"events": events, "rules_measured": len(measured)}


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


def replace_in_index(index: CorpusIndex, judged: list[NormalizedRule], paths: set[str],
                     by_id: bool = True) -> dict[str, list]:
    """Put judged rules in the index in place of the corpus rules they edit (same id, or
    from the same file, `paths` absolute): a rule is never its own peer. Returns, per
    judged rule's key, the rules it displaced from files of the user's corpus with another
    name: a copy whose id was not changed (duplicate-id reports them). A file of the same
    name elsewhere is an edited version of the rule, not a copy."""
    ids = {r.id: r for r in judged if r.id} if by_id else {}
    displaced: dict[int, list] = {}
    for key in [k for k, r in index.rules.items() if r.id in ids or os.path.abspath(r.path) in paths]:
        old = index.rules[key]
        target = ids.get(old.id) if old.id else None
        if (target is not None and old.has_logic and os.path.abspath(old.path) not in paths
                and os.path.basename(old.path) != os.path.basename(target.path)):
            displaced.setdefault(id(target), []).append(old)
        index.remove(key)
    for r in judged:
        claim_key(r, index.rules)
        index.add(r)
    return {r.key: displaced[id(r)] for r in judged if id(r) in displaced}


__all__ = ["Settings", "RunResult", "run", "corpus_index", "indicator_index", "load_corpus", "replace_in_index"]
