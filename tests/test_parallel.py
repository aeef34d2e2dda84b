"""The collector policy and the worker pools of `rulelint.parallel`."""

from __future__ import annotations

import gc

import pytest

from rulelint import parallel


@pytest.fixture
def library_process(monkeypatch):
    """Tests run as a library user does; a test may make the process own its heap."""
    monkeypatch.setattr(parallel, "_owns_heap", False)


def test_paused_turns_the_collector_off_and_back_on():
    assert gc.isenabled()
    with parallel.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with parallel.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_kept_work_is_frozen_only_in_a_process_that_is_one_run(library_process, monkeypatch):
    before = gc.get_freeze_count()
    with parallel.paused(keep=True):
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == before, "a library call must not freeze the caller's heap"
    monkeypatch.setattr(parallel, "_owns_heap", True)
    try:
        with parallel.paused(keep=True):
            kept += [[i] for i in range(1000)]
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()


def test_young_garbage_is_collected_past_the_limit(monkeypatch):
    monkeypatch.setattr(parallel, "YOUNG_LIMIT", 10)
    with parallel.paused():
        for _ in range(100):  # reference cycles: only the collector frees them
            a: list = []
            a.append(a)
    assert gc.get_count()[0] < 100  # collected when the burst ended


def _scaled(state: dict, item: int) -> int:
    return item * state["factor"]


@pytest.mark.skipif(not parallel.can_fork(), reason="no fork start method on this platform")
def test_fork_map_hands_workers_their_state_and_keeps_order(library_process):
    calls = []
    before = gc.get_freeze_count()
    out = list(parallel.fork_map(_scaled, {"factor": 3}, list(range(50)), 2, meanwhile=lambda: calls.append(1)))
    assert out == [i * 3 for i in range(50)]
    assert calls == [1]
    assert parallel._WORK is None, "the parent never holds the workers' state"
    if before == 0:
        assert gc.get_freeze_count() == 0, "what fork_map froze is released in a library process"


@pytest.mark.skipif(not parallel.can_fork(), reason="no fork start method on this platform")
def test_fork_map_keeps_freezes_made_before_it(library_process):
    kept = [[i] for i in range(100)]
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert list(parallel.fork_map(_scaled, {"factor": 1}, [1, 2], 2)) == [1, 2]
        assert gc.get_freeze_count() >= before, "fork_map undid a freeze made elsewhere"
    finally:
        gc.unfreeze()
    assert kept


def test_a_lint_run_in_process_leaves_the_collector_as_it_was(tmp_path):
    from pathlib import Path

    from rulelint.cli.main import main

    examples = Path(__file__).resolve().parent.parent / "corpus"
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert main([str(examples), "--no-cache", "--no-progress", "--format", "json", "-o", str(tmp_path / "o.json")]) == 1
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == frozen and gc.isenabled()
