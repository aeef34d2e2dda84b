"""Replay benchmark: every rule of ../shared/corpus over the lab recordings of ../shared/prevalence.

    python bench/replay.py [--jobs N] [--events DIR]

Prints wall time, events per second, rule evaluations avoided by the candidate index, and the
peak memory of the run (this process and its workers), as a Markdown table for docs/replay.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--corpus", default=str(SHARED / "corpus"))
    ap.add_argument("--events", default=str(SHARED / "prevalence" / "otrf-security-datasets" / "atomic"))
    args = ap.parse_args()
    from rulelint.engine import load_corpus
    from rulelint.replay.run import replay
    from rulelint.replay.sources import discover_events
    from rulelint.settings import Settings

    t0 = time.perf_counter()
    loaded, _ = load_corpus([args.corpus], Settings(jobs=args.jobs))
    t1 = time.perf_counter()
    files = discover_events([args.events])
    res = replay(loaded.rules, files, args.jobs, keep_events=False)
    t2 = time.perf_counter()
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    judged = len(loaded.rules) - len(res.not_judged)
    print("| measure | value |\n|---|---:|")
    print(f"| rules loaded | {len(loaded.rules):,} ({t1 - t0:.1f} s) |")
    print(f"| rules judged on single events | {judged:,} |")
    print(f"| events | {res.events:,} in {len(files)} files |")
    print(f"| replay wall time ({args.jobs} jobs) | {t2 - t1:.1f} s |")
    print(f"| events per second | {res.events / (t2 - t1):,.0f} |")
    print(f"| rule-event verdicts per second | {judged * res.events / (t2 - t1):,.0f} |")
    print(f"| rules with hits | {len(res.hits):,} |")
    print(f"| peak memory of one process | {peak / 1024:,.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
