"""The whole shared corpus linted together with a folder of hostile files, in one cold
run: it finishes, exits 1, reports every hostile file, and loses no real rule.

One cold run over the corpus (about 12 s on two cores); it runs in CI like every other
test, skipped only where the shared corpus is absent.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path

from rulelint.reference import BUNDLED, read

from .hostile_files import write_hostile_folder

REPO = Path(__file__).resolve().parents[2]


def _limits() -> None:
    # A regression must fail the test, not hang or swap CI.
    resource.setrlimit(resource.RLIMIT_CPU, (900, 910))
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


def test_corpus_with_hostile_folder(shared_corpus, tmp_path):
    hostile = tmp_path / "hostile"
    cases = write_hostile_folder(hostile)
    proc = subprocess.run(
        [sys.executable, "-m", "rulelint", str(shared_corpus), str(hostile), "--format", "json",
         "--no-progress", "--no-cache", "--no-reference"],
        cwd=REPO, capture_output=True, text=True, timeout=1200, preexec_fn=_limits)
    assert proc.returncode == 1, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)

    errors: dict[str, list[str]] = {}
    for f in doc["findings"]:
        if f["name"] == "parse-error":
            errors.setdefault(f["path"], []).append(f["message"])
    for case, path in cases:
        if case.expect == "error":
            assert str(path) in errors, f"{case.name} was not reported"
            assert str(path) in errors[str(path)][0]  # the message names the file
            assert case.hint in errors[str(path)][0], (case.name, errors[str(path)])
        elif case.expect in ("load", "silent"):
            assert str(path) not in errors, (case.name, errors.get(str(path)))
    unexpected = [p for p in errors if not p.startswith((str(hostile), str(shared_corpus)))]
    assert unexpected == []

    # Every real rule still loaded: the bundled reference index is built from this very
    # corpus (tests/test_reference_corpus.py keeps it current), so its counts are what a
    # run without the hostile folder loads.
    _, meta = read(BUNDLED)
    real = Counter(r["vendor"] for r in doc["rules"] if r["path"].startswith(str(shared_corpus)))
    assert dict(real) == meta["vendors"]
    assert sum(real.values()) == meta["rules"]
    hostile_rules = [r for r in doc["rules"] if r["path"].startswith(str(hostile))]
    assert len(hostile_rules) >= sum(c.expect == "load" for c, _ in cases)


def test_hostile_pair_is_bounded_and_named(tmp_path):
    """The hostile folder alone, the 100,000-value rule and the 5 MB value judged together:
    the overlap analyses leave both out and say why (RL004), and the run ends. The CPU
    limit is a hang guard, not a timing: the run takes seconds (bench figures in
    docs/performance.md), it took hours before the bounds."""
    hostile = tmp_path / "hostile"
    write_hostile_folder(hostile)
    proc = subprocess.run(
        [sys.executable, "-m", "rulelint", str(hostile), "--format", "json", "--no-progress", "--no-cache",
         "--no-reference", "--jobs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=600, preexec_fn=_limits)
    assert proc.returncode == 1, proc.stderr[-3000:]
    skipped = {Path(f["path"]).name: f["message"] for f in json.loads(proc.stdout)["findings"]
               if f["name"] == "analysis-skipped"}
    assert "it holds 100,000 values, over the bound of 10,000" in skipped["sigma_100k_values.yml"]
    assert "characters long, over the bound of 16,384" in skipped["sigma_5mb_value.yml"]
