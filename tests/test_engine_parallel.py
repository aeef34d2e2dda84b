"""The parent's work overlapped with its workers' (indexing while files load, the
reference read and the cache writes meanwhile, prepared checks beside the forked
ones) gives what the same run does one step after another."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rulelint.loaders as loaders
from rulelint import judge
from rulelint.cache import Cache
from rulelint.engine import _IndexFeed, gather, run
from rulelint.loaders import discover, load_files, load_paths
from rulelint.loaders.result import LoadResult
from rulelint.model import snapshot
from rulelint.model.index import CorpusIndex
from rulelint.model.rule import claim_key
from rulelint.reference import BUNDLED
from rulelint.run_cache import corpus_print, open_cache
from rulelint.settings import Settings

EXAMPLES = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The example corpus, with a copy of one rule (same id) so keys must be made unique."""
    root = tmp_path / "corpus"
    shutil.copytree(EXAMPLES, root)
    some = sorted((root / "sigma").rglob("*.yml"))[0]
    shutil.copy(some, some.with_name("zz_copy_" + some.name))
    return root


@pytest.fixture
def always_parallel(monkeypatch):
    """Workers even for a few files and rules, as for the real corpus."""
    monkeypatch.setattr(loaders, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(judge, "PARALLEL_JUDGE_THRESHOLD", 1)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("cached", [False, True])
def test_loads_arrive_in_file_order_and_meanwhile_runs_once(corpus, tmp_path, always_parallel, jobs, cached):
    files = discover([str(corpus)])
    cache = Cache(str(tmp_path / "cache"), dependency_print=loaders.dependency_print) if cached else None
    for _ in range(2 if cached else 1):  # with a cache: cold, then every file from it
        fed: list[LoadResult] = []
        calls: list[int] = []
        loads = load_files(files, jobs, cache, meanwhile=lambda: calls.append(len(fed)))
        total = gather(loads, cache, consume=fed.append)
        assert calls and len(calls) == 1
        assert [loaded for loaded in fed] and len(fed) == len(files)
        assert [r.key for res in fed for r in res.rules] == [r.key for r in total.rules]
        assert [r for res in fed for r in res.rules] == total.rules
        assert total.rules == load_paths(files, 1).rules, "parallel, cached or not, loads what one process does"


def test_index_fed_while_loading_is_the_index_built_after(corpus):
    load = load_paths(discover([str(corpus)]), 1)
    feed = _IndexFeed()
    for r in load.rules:
        feed.add(LoadResult(rules=[r]))
    again = load_paths(discover([str(corpus)]), 1).rules
    taken: set[str] = set()
    for r in again:
        claim_key(r, taken)
        taken.add(r.key)
    assert [r.key for r in load.rules] == [r.key for r in again]
    assert len(set(r.key for r in again)) == len(again)  # the copy was renamed
    assert snapshot.dump(feed.index, stable=True) == snapshot.dump(CorpusIndex(again), stable=True)


def outputs(result) -> tuple:
    return ([f.to_dict() for f in result.findings], result.noise, result.counts)


def test_parallel_run_equals_sequential(corpus, tmp_path, always_parallel):
    ref = str(BUNDLED) if BUNDLED.is_file() else None
    sequential = run([str(corpus)], settings=Settings(jobs=1, reference=ref))
    parallel = run([str(corpus)], settings=Settings(jobs=2, reference=ref))
    assert any(c.prepares for c in Settings().enabled()), "no check prepares: the parent-side path went untested"
    assert sequential.findings
    assert outputs(parallel) == outputs(sequential)
    # With a cache, the snapshot is stored while the checks run: it is the corpus's index.
    cached = run([str(corpus)], settings=Settings(jobs=2, reference=ref, cache_dir=str(tmp_path / "c")))
    assert outputs(cached) == outputs(sequential)
    cache = open_cache(Settings(cache_dir=str(tmp_path / "c")))
    stored = cache.snapshot(corpus_print(Settings(reference=ref), cache, discover([str(corpus)])))
    assert stored is not None
    assert snapshot.load(stored)[0].usage.keys() == parallel.index.usage.keys()
