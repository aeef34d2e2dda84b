#!/usr/bin/env python3
"""Benchmark rulelint on the reference corpus and print a table.

    python bench/bench.py [CORPUS] [--runs N]

CORPUS defaults to ../shared/corpus (Sigma, Elastic and Splunk). Each scenario runs the installed
`rulelint` as a fresh process (what a user waits for), `--runs` times, and
reports the median and the best wall time; a stage breakdown comes from one
in-process run. There is no persistent cache yet, so every run is cold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"


def rulelint_cmd() -> list[str]:
    exe = shutil.which("rulelint") or str(Path(sys.executable).with_name("rulelint"))
    return [exe]


def timed(cmd: list[str], runs: int) -> tuple[float, float, int]:
    times = []
    rc = 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        rc = proc.returncode
        if rc not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({rc}): {proc.stderr[-500:]}")
    return statistics.median(times), min(times), rc


def stages(corpus: str) -> list[tuple[str, float, str]]:
    """One in-process run split by stage."""
    from rulelint.engine import Settings, commonness_for, judge
    from rulelint.checks import CHECKS, Context
    from rulelint.loaders import discover, load_paths
    from rulelint.model.index import CorpusIndex

    out = []
    t = time.perf_counter()
    files = discover([corpus])
    out.append(("discover", time.perf_counter() - t, f"{len(files)} files"))
    t = time.perf_counter()
    loaded = load_paths(files)
    errors = sum(1 for f in loaded.findings if f.name == "parse-error")
    vendors = ", ".join(f"{n} {v}" for v, n in sorted(Counter(r.vendor for r in loaded.rules).items()))
    out.append(("load + parse", time.perf_counter() - t, f"{len(loaded.rules)} rules ({vendors}), {errors} parse errors"))
    t = time.perf_counter()
    index = CorpusIndex(loaded.rules)
    out.append(("index", time.perf_counter() - t, f"{len(index.usage)} indicators"))
    t = time.perf_counter()
    common = commonness_for(index, Settings())
    ctx = Context(index=index, common=common)
    findings, _ = judge(loaded.rules, [c for c in CHECKS if c.run], ctx)
    out.append(("checks + noise", time.perf_counter() - t, f"{len(findings)} findings (all cores)"))
    t = time.perf_counter()
    g = index.graph
    out.append(("graph (reports)", time.perf_counter() - t, f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    corpus = args.corpus
    if not os.path.isdir(corpus):
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    cmd = rulelint_cmd()
    one = next(iter(sorted(Path(corpus).rglob("*.toml")) or sorted(Path(corpus).rglob("*.yml"))))
    scenarios = [
        ("cold, whole corpus (text)", cmd + [corpus, "--no-progress"]),
        ("cold, whole corpus (json)", cmd + [corpus, "--format", "json"]),
        ("one file judged against the corpus", cmd + [corpus, "--target", str(one), "--no-progress"]),
        ("indicators table (json)", cmd + ["indicators", corpus, "--format", "json"]),
    ]
    print(f"rulelint benchmark on {corpus} ({os.cpu_count()} cores, {args.runs} runs each)\n")
    print(f"| {'scenario':<38} | {'median s':>8} | {'best s':>7} |")
    print(f"|{'-' * 40}|{'-' * 10}|{'-' * 9}|")
    for name, c in scenarios:
        med, best, _ = timed(c, args.runs)
        print(f"| {name:<38} | {med:>8.2f} | {best:>7.2f} |")
    print("| warm cache                             |      n/a |     n/a |  (no persistent cache yet)")
    print("\nStages of one in-process run:\n")
    print(f"| {'stage':<16} | {'s':>6} | detail")
    print(f"|{'-' * 18}|{'-' * 8}|{'-' * 40}")
    for name, secs, detail in stages(corpus):
        print(f"| {name:<16} | {secs:>6.2f} | {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
