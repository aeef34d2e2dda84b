"""The collector pause: off inside, restored after, and what a kept burst built is frozen."""

from __future__ import annotations

import gc

from rulelint import collector


def test_paused_turns_the_collector_off_and_back_on():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_kept_work_is_frozen_and_young_garbage_collected_past_the_limit(monkeypatch):
    before = gc.get_freeze_count()
    with collector.paused(keep=True):
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() >= before + len(kept)
    gc.unfreeze()

    monkeypatch.setattr(collector, "YOUNG_LIMIT", 10)
    with collector.paused():
        for _ in range(100):  # reference cycles: only the collector frees them
            a: list = []
            a.append(a)
    assert gc.get_count()[0] < 100  # collected when the burst ended
