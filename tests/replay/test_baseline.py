"""Baseline evidence: measured hits join the noise score of lint runs and explain."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

from rulelint.cli.main import main
from rulelint.replay.baseline import EVIDENCE_HALF_WEIGHT, Measured

SYSMON = "Microsoft-Windows-Sysmon/Operational"
RULE = """title: Whoami Run
id: 0f0e0d0c-1111-4222-8333-444455556666
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\\\whoami.exe'
    condition: selection
level: low
"""
QUIET = RULE.replace("Whoami Run", "Rare Tool Run").replace("whoami.exe", "neverseen.exe").replace(
    "0f0e0d0c-1111-4222-8333-444455556666", "0f0e0d0c-1111-4222-8333-444455556667")


def _events(n: int, whoami_every: int) -> str:
    lines = []
    for i in range(n):
        image = "C:\\Windows\\System32\\whoami.exe" if i % whoami_every == 0 else "C:\\Windows\\System32\\svchost.exe"
        lines.append(json.dumps({"EventID": 1, "Channel": SYSMON, "Hostname": "h", "Image": image,
                                 "CommandLine": image, "@timestamp": "2024-01-01T00:00:00Z"}))
    return "\n".join(lines) + "\n"


def _run(argv: list[str]) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        main(argv)
    return buf.getvalue()


def _setup(tmp_path, baseline: bool):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "whoami.yml").write_text(RULE, encoding="utf-8")
    (tmp_path / "rules" / "quiet.yml").write_text(QUIET, encoding="utf-8")
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "logs" / "day.ndjson").write_text(_events(2000, 4), encoding="utf-8")
    cfg = "corpus = ['rules']\n" + ("baseline = ['logs']\n" if baseline else "")
    (tmp_path / ".rulelint.toml").write_text(cfg, encoding="utf-8")


def _noise(tmp_path) -> dict[str, float]:
    out = json.loads(_run([str(tmp_path / "rules"), "--config", str(tmp_path / ".rulelint.toml"), "--format", "json",
                           "--no-progress", "--no-reference", "--cache-dir", str(tmp_path / "cache")]))
    return {r["title"]: r["noise_score"] for r in out["rules"]}


def test_measured_hits_move_the_lint_noise_score(tmp_path):
    _setup(tmp_path, baseline=False)
    before = _noise(tmp_path)
    _setup(tmp_path, baseline=True)
    after = _noise(tmp_path)
    # whoami fires on a quarter of the process events: noisier than even the prior's estimate
    # of a native binary the lab hosts run says (2,000 events of its source weigh 2,000 / 12,000).
    assert after["Whoami Run"] > before["Whoami Run"] + 0.02
    # The rule that never fires on 2,000 events of its source comes out quieter (or as quiet).
    assert after["Rare Tool Run"] <= before["Rare Tool Run"]
    # A second run reads the stored evidence and says the same.
    assert _noise(tmp_path) == after


def test_explain_names_the_evidence(tmp_path):
    _setup(tmp_path, baseline=True)
    text = _run(["explain", "Whoami Run", str(tmp_path / "rules"), "--config", str(tmp_path / ".rulelint.toml"),
                 "--no-progress", "--no-reference", "--cache-dir", str(tmp_path / "cache")])
    assert "fired 500 times in 2,000 baseline events (2,000 of its log source)" in text
    doc = json.loads(_run(["explain", "Whoami Run", str(tmp_path / "rules"), "--config",
                           str(tmp_path / ".rulelint.toml"), "--format", "json", "--no-progress", "--no-reference",
                           "--cache-dir", str(tmp_path / "cache")]))
    (rule,) = doc["rules"]
    assert rule["baseline"]["hits"] == 500 and rule["noise_score"] > rule["breakdown"]["score"]


def test_measurement_weighs_by_events_of_the_log_source():
    assert Measured(0, 0, 10).combine(0.4) == 0.4  # no event of the source: the estimate stands
    heavy = Measured(1000, 1000, 1000)
    assert heavy.rate_score() == 1.0
    assert Measured(1, 1_000_000, 1_000_000).rate_score() == 0.0
    assert abs(Measured(1, 1000, 1000).rate_score() - 0.5) < 1e-9
    w = Measured(5, EVIDENCE_HALF_WEIGHT, EVIDENCE_HALF_WEIGHT).weight()
    assert abs(w - 0.5) < 1e-9
