"""`rulelint test` on SigmaHQ's regression samples, and `rulelint replay`'s JSON contract."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout
from pathlib import Path

from rulelint.cli.main import main


def _run(argv: list[str]) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(argv)
    return code, buf.getvalue()


def test_every_sigmahq_regression_sample_matches_its_rule(shared_corpus):
    code, out = _run(["test", str(shared_corpus / "sigma" / "regression_data"), "--no-progress", "--format", "json"])
    doc = json.loads(out)
    assert doc["summary"]["tests"] >= 200
    assert doc["summary"]["failed"] == 0, [f["message"] for f in doc["findings"]]
    assert doc["summary"]["passed"] == doc["summary"]["tests"]
    assert code == 0


def test_a_broken_sample_is_a_finding_at_the_rule(shared_corpus, tmp_path):
    """Copy one regression case, make its sample an event the rule cannot match: exit 1, finding at the rule."""
    src = next((shared_corpus / "sigma" / "regression_data" / "rules" / "windows" / "process_creation").glob("*/info.yml"))
    case = tmp_path / "regression_data" / "rules" / "case"
    case.mkdir(parents=True)
    info = src.read_text(encoding="utf-8")
    rule_id = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.strip().startswith("- id:"))
    rules = [p for p in (shared_corpus / "sigma" / "rules").rglob("*.yml") if rule_id in p.read_text(encoding="utf-8")]
    assert rules
    (tmp_path / "rules").mkdir()
    shutil.copy(rules[0], tmp_path / "rules" / rules[0].name)
    sample = {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "h"},
                        "EventData": {"Image": "C:\\Windows\\notepad.exe", "CommandLine": "notepad"}}}
    (case / "s.json").write_text(json.dumps(sample), encoding="utf-8")
    (case / "info.yml").write_text(
        f"rule_metadata:\n  - id: {rule_id}\nregression_tests_info:\n  - name: Positive\n    type: evtx\n"
        f"    path: regression_data/rules/case/s.json\n", encoding="utf-8")
    code, out = _run(["test", str(tmp_path / "regression_data"), "--no-progress", "--no-cache", "--format", "json"])
    doc = json.loads(out)
    assert code == 1
    (finding,) = doc["findings"]
    assert finding["code"] == "RL005" and finding["path"].endswith(rules[0].name)
    assert finding["line"] and "matches 0 of the 1 events" in finding["message"]
    # The same sample as a must-not-match test passes.
    (case / "info.yml").write_text((case / "info.yml").read_text().replace("type: evtx", "type: json\n    match_count: 0"))
    code, out = _run(["test", str(tmp_path / "regression_data"), "--no-progress", "--no-cache", "--format", "json"])
    assert code == 0, out


def test_replay_json_contract(shared_corpus, tmp_path):
    """Every rule of the corpus over SigmaHQ's samples: the contract's shape, positions in file order."""
    events = shared_corpus / "sigma" / "regression_data" / "rules" / "windows" / "process_creation"
    code, out = _run(["replay", "--events", str(events), str(shared_corpus / "sigma" / "rules" / "windows" / "process_creation"),
                      str(shared_corpus / "elastic" / "rules" / "windows"), "--format", "json", "--no-progress"])
    assert code == 0
    doc = json.loads(out)
    assert set(doc) >= {"rules", "summary"}
    fired = [r for r in doc["rules"] if r["hits"]]
    assert len(fired) >= 50
    for r in doc["rules"]:
        assert set(r) >= {"path", "id", "vendor", "hits", "events"}
        assert r["hits"] == len(r["events"])
        for e in r["events"]:
            assert set(e) == {"file", "index"} and e["index"] >= 0
            assert Path(e["file"]).is_file() and Path(e["file"]).is_relative_to(events)
    # A regression sample fires its own rule.
    by_path = {Path(r["path"]).stem: r for r in doc["rules"]}
    stem = "proc_creation_win_sc_stop_service"
    if stem in by_path:
        assert by_path[stem]["hits"] >= 1
    s = doc["summary"]
    assert s["events"] > 100 and s["rules_with_hits"] == len(fired)
    assert all(r["reason"] for r in doc["not_judged"])


def test_replay_text_and_markdown(shared_corpus, tmp_path):
    events = shared_corpus / "sigma" / "regression_data" / "rules" / "windows" / "registry"
    rules = shared_corpus / "sigma" / "rules" / "windows" / "registry"
    code, out = _run(["replay", "--events", str(events), str(rules), "--no-progress"])
    assert code == 0 and "Most hits" in out and "Replayed" in out
    code, out = _run(["replay", "--events", str(events), str(rules), "--format", "markdown", "--no-progress"])
    assert out.startswith("# Replay summary") and "| hits |" in out
    code, out = _run(["replay", "--events", str(events), str(rules), "--format", "html", "--no-progress"])
    assert "<table>" in out


def test_replay_bad_events_are_reported_and_the_rest_read(tmp_path, shared_corpus):
    f = tmp_path / "ev.ndjson"
    good = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "C:\\Windows\\System32\\whoami.exe",
            "CommandLine": "whoami /all", "Hostname": "h"}
    f.write_text(json.dumps(good) + "\n{not json\n" + json.dumps(good) + "\n", encoding="utf-8")
    code, out = _run(["replay", "--events", str(f), str(shared_corpus / "sigma" / "rules" / "windows" / "process_creation"),
                      "--format", "json", "--no-progress"])
    doc = json.loads(out)
    assert doc["summary"]["events"] == 2 and doc["summary"]["read_errors"] == 1
    whoami = [r for r in doc["rules"] if r["hits"] and "whoami" in r["path"]]
    assert whoami and all(e["index"] in (0, 1) for r in whoami for e in r["events"])
