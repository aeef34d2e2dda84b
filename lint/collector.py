"""Pausing Python's cycle collector around bursts of allocation."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


# Objects left alive since the last collection (what a collection of the youngest
# generation scans) above which a burst ends with one; below it, the next burst's end.
YOUNG_LIMIT = 500_000


@contextmanager
def paused(keep: bool = False) -> Iterator[None]:
    """Run a burst of work (a worker's chunk of files, a slice of rules to judge) with
    the cycle collector paused. Parsing and judging allocate millions of short-lived
    objects that reference counting frees; the collector would keep rescanning the
    parse trees and memo tables alive at that moment, for a tenth of the time. What is
    left at the end (a few reference cycles) is collected once enough has piled up, so
    memory stays bounded however many bursts a process runs.

    With `keep`, what the burst built lives as long as the process (the loaded corpus
    and its index): it is frozen instead, never scanned again, not even once."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        elif gc.get_count()[0] > YOUNG_LIMIT:
            gc.collect(0)
        if was_enabled:
            gc.enable()
