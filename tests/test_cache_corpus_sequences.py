"""The cache gives the uncached answer at corpus scale, in the two sequences that once
did not: targets A, then B, then A again with one cache folder; and the whole corpus
first, then targets A against its stored index. A and B are edited copies of real
Sigma rules (same ids: each replaces the corpus rule it edits), so they meet the whole
corpus: subsumptions, duplicates, correlations, peers.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from rulelint.engine import run
from rulelint.settings import Settings

PER_SET = 150


def edited_copies(corpus: Path, out: Path, seed: int) -> list[str]:
    """PER_SET Sigma rules of the corpus, a third of them with one list value dropped."""
    files = sorted((corpus / "sigma").rglob("*.yml"))
    rng = random.Random(seed)
    out.mkdir()
    written = []
    for i, src in enumerate(rng.sample(files, PER_SET)):
        lines = src.read_text(encoding="utf-8").split("\n")
        values = [j for j, line in enumerate(lines) if re.match(r"\s+- '", line)]
        if i % 3 == 0 and len(values) > 1:
            del lines[rng.choice(values)]
        dst = out / f"{i:03d}" / src.name  # the rule's own file name: an edit, not a copy
        dst.parent.mkdir()
        dst.write_text("\n".join(lines), encoding="utf-8")
        written.append(str(dst))
    return written


def answer(result) -> tuple:
    return ([f.to_dict() for f in result.findings], result.noise, result.counts, result.corpus_errors)


@pytest.fixture(scope="module")
def target_sets(shared_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("sequences")
    return edited_copies(shared_corpus, root / "A", 1), edited_copies(shared_corpus, root / "B", 2)


@pytest.fixture(scope="module")
def uncached(shared_corpus, target_sets):
    a, b = target_sets
    settings = Settings(jobs=2)
    return answer(run([str(shared_corpus)], a, settings)), answer(run([str(shared_corpus)], b, settings))


def test_targets_a_then_b_then_a_share_one_cache(shared_corpus, target_sets, uncached, tmp_path):
    (a, b), (want_a, want_b) = target_sets, uncached
    settings = Settings(jobs=2, cache_dir=str(tmp_path / "cache"))
    assert answer(run([str(shared_corpus)], a, settings)) == want_a
    assert answer(run([str(shared_corpus)], b, settings)) == want_b
    again = run([str(shared_corpus)], a, settings)
    assert answer(again) == want_a
    assert again.from_cache  # answered from the stored run, and that answer is the right one


def test_whole_corpus_then_targets_against_the_stored_index(shared_corpus, target_sets, uncached, tmp_path):
    (a, _), (want_a, _) = target_sets, uncached
    settings = Settings(jobs=2, cache_dir=str(tmp_path / "cache"))
    run([str(shared_corpus)], None, settings)
    found = run([str(shared_corpus)], a, settings)
    assert found.corpus == []  # judged against the stored index, the corpus not loaded
    assert answer(found) == want_a
    # The sequence reaches what once went missing: subsumptions of targets by corpus rules.
    assert any(f["name"] == "subsumed-rule" for f in want_a[0])
