"""The noise_score contract (DESIGN.md §4): real rules of each vendor keep their score when
only their level, status, false-positive notes, severity, risk score, building-block flag
or folder change.

Each variant is judged as a lint run judges a target: against the public corpora (the
bundled reference index), the reference's copy of the rule replaced by the variant.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rulelint.analysis.commonness import Commonness
from rulelint.analysis.noise import explain, noise_score
from rulelint.loaders import load_paths, reset_memos
from rulelint.model.index import CorpusIndex
from rulelint.reference import BUNDLED, read

SIGMA = "sigma/rules/windows/process_creation/proc_creation_win_remote_access_tools_anydesk.yml"
SIGMA_FILTERED = "sigma/rules/windows/process_creation/proc_creation_win_gup_suspicious_execution.yml"
ELASTIC = "elastic/rules_building_block/defense_evasion_download_susp_extension.toml"
SPLUNK = "splunk/detections/endpoint/icacls_grant_command.yml"


def _sub(text: str, pattern: str, new: str) -> str:
    out, n = re.subn(pattern, new, text, count=1, flags=re.M)
    assert n == 1, f"{pattern!r} not found: the test must really change the rule"
    return out


SIGMA_VARIANTS = {
    "level critical": lambda t: _sub(t, r"^level: \w+", "level: critical"),
    "level informational": lambda t: _sub(t, r"^level: \w+", "level: informational"),
    "status deprecated": lambda t: _sub(t, r"^status: \w+", "status: deprecated"),
    "status stable": lambda t: _sub(t, r"^status: \w+", "status: stable"),
    "false positives": lambda t: _sub(t, r"^falsepositives:\n(?:\s+- .*\n)+",
                                      "falsepositives:\n    - Everything\n    - Administrators\n    - Updates\n"),
    "no false positives": lambda t: _sub(t, r"^falsepositives:\n(?:\s+- .*\n)+", ""),
}
ELASTIC_VARIANTS = {
    "not a building block": lambda t: _sub(t, r'^building_block_type = "default"\n', ""),
    "severity critical": lambda t: _sub(t, r'^severity = "\w+"', 'severity = "critical"'),
    "risk score 99": lambda t: _sub(t, r"^risk_score = \d+", "risk_score = 99"),
    "maturity development": lambda t: _sub(t, r'^maturity = "\w+"', 'maturity = "development"'),
}
SPLUNK_VARIANTS = {
    "status experimental": lambda t: _sub(t, r"^status: \w+", "status: experimental"),
    "status deprecated": lambda t: _sub(t, r"^status: \w+", "status: deprecated"),
    "type Hunting": lambda t: _sub(t, r"^type: \w+", "type: Hunting"),
    "type Anomaly": lambda t: _sub(t, r"^type: \w+", "type: Anomaly"),
}
FOLDERS = ("rules", "deprecated", "building_block", "rules_building_block")


@pytest.fixture(scope="module")
def reference_index() -> CorpusIndex:
    if not BUNDLED.is_file():
        pytest.skip("the bundled reference index is missing")
    return read(BUNDLED)[0]


def _score(index: CorpusIndex, path: Path) -> tuple[float, dict]:
    reset_memos()
    [rule] = load_paths([str(path)], 1).rules
    stale = [k for k, r in index.rules.items() if r.id == rule.id]
    saved = {k: index.rules[k] for k in stale}
    for k in stale:
        index.remove(k)
    index.add(rule)
    try:
        common = Commonness(index)
        score = noise_score(rule, common)
        assert score == explain(rule, common).score
        return score, {"level": rule.level, "status": rule.status, "extra": dict(rule.extra)}
    finally:
        index.remove(rule.key)
        for r in saved.values():
            index.add(r)


def _write(root: Path, folder: str, name: str, text: str) -> Path:
    p = root / folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("rel, variants", [(SIGMA, SIGMA_VARIANTS), (SIGMA_FILTERED, SIGMA_VARIANTS),
                                           (ELASTIC, ELASTIC_VARIANTS), (SPLUNK, SPLUNK_VARIANTS)],
                         ids=["sigma", "sigma-with-filters", "elastic", "splunk"])
def test_metadata_and_folder_never_change_the_score(shared_corpus, reference_index, tmp_path, rel, variants):
    source = shared_corpus / rel
    text = source.read_text(encoding="utf-8")
    root = tmp_path / "corpus"
    if rel.startswith("splunk/"):  # the macros the search expands
        shutil.copytree(shared_corpus / "splunk" / "macros", root / "macros")
    base, base_meta = _score(reference_index, _write(root, "rules", source.name, text))
    assert 0.0 < base < 1.0
    seen_meta = [base_meta]
    for label, change in variants.items():
        changed = change(text)
        score, meta = _score(reference_index, _write(root / label.replace(" ", "_"), "rules", source.name, changed))
        assert score == base, label
        seen_meta.append(meta)
    for folder in FOLDERS:
        assert _score(reference_index, _write(root / "moved", folder, source.name, text))[0] == base, folder
    # The variants really differ in what must be ignored (the loader saw the change).
    assert len({repr(m) for m in seen_meta}) > 1
