"""Where rulelint uses several processes, and how it treats Python's cycle collector.

Both policies live here so that no other module touches `gc` or starts processes.

- A run builds hundreds of thousands of small acyclic objects (rules, keys, the
  index) and, while parsing or judging, millions of short-lived ones that reference
  counting frees. The cycle collector would rescan the long-lived ones over and over:
  bursts of work run with it paused (`paused`), and what lives as long as the run is
  frozen (never scanned again) when the process ends with the run (the command
  line: `own_heap`). Used as a library, rulelint leaves the collector as it found it.
- Parsing files uses a process pool (`process_map`); judging rules forks workers
  that share the parent's index read-only (`fork_map`), each given its work
  through the pool's initializer, never through a global set by the parent.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Objects left alive since the last collection (what a collection of the youngest
# generation scans) above which a burst ends with one; below it, the next burst's end.
YOUNG_LIMIT = 500_000

_owns_heap = False  # set by the command line: the process ends with the run


def own_heap() -> None:
    """The process is one run (the `rulelint` command): collect rarely, and freeze what
    the run keeps. Collecting every 700 allocations would rescan the index endlessly."""
    global _owns_heap
    _owns_heap = True
    gc.set_threshold(200_000, 50, 50)


def jobs_for(jobs: int | None) -> int:
    return jobs or os.cpu_count() or 1


@contextmanager
def paused(keep: bool = False) -> Iterator[None]:
    """Run a burst of work (a worker's chunk of files, a slice of rules to judge) with
    the cycle collector paused. What is left at the end (a few reference cycles) is
    collected once enough has piled up, so memory stays bounded however many bursts
    a process runs. With `keep`, what the burst built lives as long as the run (the
    loaded corpus and its index): in a process that is one run it is frozen instead."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            keep_for_run()
        elif gc.get_count()[0] > YOUNG_LIMIT:
            gc.collect(0)
        if was_enabled:
            gc.enable()


def keep_for_run() -> None:
    """Everything alive now lives as long as the run: never scan it again (command line only)."""
    if _owns_heap:
        gc.freeze()


def process_map(work: Callable[[T], R], items: list[T], jobs: int,
                meanwhile: Callable[[], None] | None = None) -> Iterator[R]:
    """`work` over `items` in a pool of `jobs` processes, results in order; `meanwhile`
    is the caller's own work, run once while the workers start."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = pool.map(work, items)
        if meanwhile:
            meanwhile()
        yield from results


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


_WORK: tuple[Callable[[Any, Any], Any], Any] | None = None  # set in each worker by its initializer


def _install(work: Callable[[Any, Any], Any], state: Any) -> None:
    global _WORK
    _WORK = (work, state)


def _call(item: Any) -> Any:
    work, state = _WORK  # type: ignore[misc]
    return work(state, item)


def fork_map(work: Callable[[Any, T], R], state: Any, items: Iterable[T], jobs: int,
             meanwhile: Callable[[], None] | None = None) -> Iterator[R]:
    """`work(state, item)` for every item in forked workers, results in order. The
    workers inherit `state` (the index, the rules) without pickling it; `meanwhile`
    is the parent's own work, run while they start."""
    # Frozen objects are never scanned: a collection in a worker would otherwise write
    # to the header of every inherited object and copy the whole heap. Freezes made
    # before (the run's index) stay; only what is frozen here is released after.
    was_frozen = gc.get_freeze_count()
    gc.freeze()
    try:
        with mp.get_context("fork").Pool(jobs, initializer=_install, initargs=(work, state)) as pool:
            results = pool.imap(_call, items)
            if meanwhile:
                meanwhile()
            yield from results
    finally:
        if not was_frozen:
            gc.unfreeze()
