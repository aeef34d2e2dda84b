#!/usr/bin/env python3
"""Benchmark rulelint on the reference corpus and print a table.

    python bench/bench.py [CORPUS] [--runs N] [--no-peer]

CORPUS defaults to ../shared/corpus (Sigma, Elastic and Splunk). Each scenario runs
the installed `rulelint` as a fresh process (what a user waits for), `--runs` times,
and reports the median and best wall time and the peak memory of the process tree's
largest process:

- cold: a new, empty cache folder for every run (the cost of a first run, cache
  writing included);
- warm: an unchanged corpus with its cache in place;
- one changed file through the hook path: `rulelint hook FILE` in a copy of the
  corpus whose `.rulelint.toml` names it as the corpus, one rule of it edited
  before every run (what pre-commit does on a commit touching one rule);
- the peer figure: `sigma check` of sigma-cli on the Sigma rules, installed in a
  throwaway venv by this script and run with `validators: []` (parse only: some
  validators want network data), which is what a one-rule linter costs.

A stage breakdown comes from one in-process run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"


def rulelint_cmd() -> list[str]:
    exe = shutil.which("rulelint") or str(Path(sys.executable).with_name("rulelint"))
    return [exe]


def run_once(cmd: list[str], cwd: str | None = None) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS in MB of the process or its largest child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-500:]}")
    return wall, proc.returncode, usage.ru_maxrss // 1024


def timed(cmd: list[str], runs: int, before=None, cwd: str | None = None) -> tuple[float, float, int]:
    times, peak = [], 0
    for i in range(runs):
        if before:
            before(i)
        wall, _, rss = run_once(cmd, cwd)
        times.append(wall)
        peak = max(peak, rss)
    return statistics.median(times), min(times), peak


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (pool workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def stages(corpus: str) -> list[tuple[str, float, float, str]]:
    """One in-process run split by stage (no cache): (stage, wall s, CPU s, detail).
    A real run overlaps some of them (it indexes and reads the reference while workers
    parse, and stores the snapshot while they judge); here each is timed alone."""
    from rulelint import reference
    from rulelint.analysis.robustness import score_rule
    from rulelint.analysis.run_state import Analysis
    from rulelint.checks import CHECKS
    from rulelint.judge import judge
    from rulelint.loaders import discover, load_paths
    from rulelint.model import snapshot
    from rulelint.model.index import CorpusIndex
    from rulelint.model.rule import claim_key
    from rulelint.parallel import own_heap
    from rulelint.settings import Settings

    own_heap()  # as the CLI does
    out = []
    clock = [time.perf_counter(), cpu_seconds()]

    def stage(name: str, detail: str) -> None:
        now = [time.perf_counter(), cpu_seconds()]
        out.append((name, now[0] - clock[0], now[1] - clock[1], detail))
        clock[:] = [time.perf_counter(), cpu_seconds()]

    files = discover([corpus])
    stage("discover", f"{len(files)} files")
    loaded = load_paths(files)
    errors = sum(1 for f in loaded.findings if f.name == "parse-error")
    vendors = ", ".join(f"{n} {v}" for v, n in sorted(Counter(r.vendor for r in loaded.rules).items()))
    stage("load + parse", f"{len(loaded.rules)} rules ({vendors}), {errors} parse errors (all cores)")
    index = CorpusIndex([])
    for r in loaded.rules:
        claim_key(r, index.rules)
        index.add(r)
    stage("index", f"{len(index.usage)} indicators")
    ref_index, meta = reference.read(reference.BUNDLED)
    added = reference.merge(index, ref_index)
    stage("reference", f"bundled index read and joined ({added} rules added)")
    data = snapshot.dump(index, None, {})
    stage("snapshot dump", f"{len(data) / 1e6:.1f} MB (what the cache stores)")
    scored = [score_rule(r) for r in loaded.rules]
    stage("robustness", f"{len(scored)} rules scored again, {sum(s.level is None for s in scored)} without a level "
                        "(one core; a run scores them within load + parse)")
    ctx = Analysis(index=index, common=Settings().commonness(index))
    findings, _ = judge(loaded.rules, list(CHECKS), ctx)
    stage("checks + noise", f"{len(findings)} findings (all cores)")
    g = index.graph
    stage("graph (reports)", f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
    return out


def sigma_check(sigma_rules: Path, work: Path, runs: int) -> tuple[float, float, int] | str:
    """`sigma check` in a throwaway venv, parse only (`validators: []`)."""
    venv = work / "sigma-cli-venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "sigma-cli"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as e:
        return f"n/a (sigma-cli could not be installed: {e})"
    config = work / "validation.yml"
    config.write_text("validators: []\n", encoding="utf-8")
    return timed([str(venv / "bin" / "sigma"), "check", "-c", str(config), str(sigma_rules)], runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-peer", action="store_true", help="skip the sigma-cli peer figure")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    if not os.path.isdir(corpus):
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    cmd = rulelint_cmd()
    # An installed package carries its bytecode; an editable one run where
    # PYTHONDONTWRITEBYTECODE is set would compile every module on every run.
    import rulelint
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(rulelint.__file__).parent)],
                   check=False, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="rulelint-bench-") as tmp:
        work = Path(tmp)
        warm = str(work / "warm-cache")
        # The pre-commit case: a repository holding the whole corpus, one rule in it changed.
        hook_dir = work / "repo"
        shutil.copytree(corpus, hook_dir, ignore=shutil.ignore_patterns("regression_data", ".git"))
        changed = next(iter(sorted((hook_dir / "sigma").rglob("*.yml")) or sorted(hook_dir.rglob("*.yml"))))
        hook_cache = str(work / "hook-cache")
        (hook_dir / ".rulelint.toml").write_text(f'corpus = ["."]\ncache-dir = "{hook_cache}"\n', encoding="utf-8")

        def fresh_cache(i: int) -> None:
            shutil.rmtree(work / "cold-cache", ignore_errors=True)

        def edit(i: int) -> None:
            with open(changed, "a", encoding="utf-8") as fh:
                fh.write(f"# edit {time.time_ns()}\n")

        rows: list[tuple[str, tuple | str]] = [
            ("cold, whole corpus (text)", timed(cmd + [corpus, "--no-progress", "--cache-dir", str(work / "cold-cache")],
                                                args.runs, fresh_cache)),
        ]
        run_once(cmd + [corpus, "--no-progress", "--cache-dir", warm])  # fill the warm caches
        run_once(cmd + ["--no-progress"], cwd=str(hook_dir))
        rows += [
            ("warm, whole corpus (text)", timed(cmd + [corpus, "--no-progress", "--cache-dir", warm], args.runs)),
            ("warm, whole corpus (json)", timed(cmd + [corpus, "--format", "json", "--cache-dir", warm], args.runs)),
            ("one changed file, hook path (warm)", timed(cmd + ["hook", str(changed.relative_to(hook_dir))],
                                                         args.runs, edit, cwd=str(hook_dir))),
            ("indicators table (json, warm)", timed(cmd + ["indicators", corpus, "--format", "json", "--cache-dir", warm],
                                                    args.runs)),
        ]
        sigma = Path(corpus) / "sigma" / "rules"
        if not args.no_peer and sigma.is_dir():
            rows.append(("peer: sigma check, sigma/rules, parse only", sigma_check(sigma, work, args.runs)))

    print(f"rulelint benchmark on {corpus} ({os.cpu_count()} cores, {args.runs} runs each)\n")
    print(f"| {'scenario':<42} | {'median s':>8} | {'best s':>7} | {'peak MB':>7} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 9}|{'-' * 9}|")
    for name, r in rows:
        if isinstance(r, str):
            print(f"| {name:<42} | {r} |")
        else:
            med, best, peak = r
            print(f"| {name:<42} | {med:>8.2f} | {best:>7.2f} | {peak:>7} |")
    print("\nStages of one in-process run (no cache); CPU counts every process, so it is the")
    print("figure to compare on a busy machine:\n")
    print(f"| {'stage':<16} | {'wall s':>6} | {'CPU s':>6} | detail")
    print(f"|{'-' * 18}|{'-' * 8}|{'-' * 8}|{'-' * 40}")
    for name, secs, cpu, detail in stages(corpus):
        print(f"| {name:<16} | {secs:>6.2f} | {cpu:>6.2f} | {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
