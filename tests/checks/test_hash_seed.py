"""Findings do not depend on Python's string hashing: a tie between two equally good
indicators (a set's order) once named a different one from run to run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..conftest import sigma_rule

TAGS = ("attack.execution", "attack.t1059.001")
REPO = Path(__file__).resolve().parents[2]
SELECTION = """
selection:
    Description: 'System.Management.Automation'
    ImageLoaded|contains: 'System.Management.Automation'
"""


def _messages(corpus: Path, target: Path, seed: int) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    proc = subprocess.run([sys.executable, "-m", "rulelint", str(corpus), "--target", str(target), "--format", "json",
                           "--no-progress", "--no-cache", "--no-reference", "--select", "RL102"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return sorted(f["message"] for f in json.loads(proc.stdout)["findings"])


def test_a_tie_between_indicators_names_the_same_one_under_every_hash_seed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"peer{i}.yml").write_text(sigma_rule(
            f"PowerShell host {i}", SELECTION + f"filter:\n    Image|endswith: '\\\\host{i}.exe'\n"
            "filter_pwsh:\n    Image: 'C:\\Program Files\\PowerShell\\7\\pwsh.exe'\n"
            "condition: selection and not 1 of filter*\n", category="image_load", tags=TAGS), encoding="utf-8")
    for i in range(12):  # other rules on the log source, so that the shared value is not common to it
        (corpus / f"other{i}.yml").write_text(sigma_rule(
            f"Other module {i}", f"selection:\n    ImageLoaded|endswith: '\\\\module{i}.dll'\ncondition: selection\n",
            category="image_load"), encoding="utf-8")
    target = corpus / "target.yml"
    target.write_text(sigma_rule("PowerShell loaded", SELECTION + "condition: selection\n", category="image_load",
                                 tags=TAGS),
                      encoding="utf-8")
    runs = {json.dumps(_messages(corpus, target, seed)) for seed in range(1, 9)}
    assert len(runs) == 1, runs
    messages = json.loads(runs.pop())
    assert messages and "pwsh.exe" in messages[0]
    assert "ImageLoaded contains 'system.management.automation'" in messages[0]  # the tie broken by canonical field name
