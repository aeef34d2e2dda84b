"""`rulelint explain RULE [PATH...]`: the breakdown's total is the lint run's noise_score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rulelint.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "corpus"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def lint_scores() -> dict[str, dict]:
    """The JSON `noise_score` of every example rule, from one lint run."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main([str(EXAMPLES), "--format", "json", "--no-reference", "--no-progress"])
    return {r["path"]: r for r in json.loads(buf.getvalue())["rules"]}


def test_explain_total_equals_the_lint_noise_score_for_every_example(capsys, lint_scores):
    assert len(lint_scores) > 10
    for path, rule in lint_scores.items():
        code, out, err = run_cli(capsys, "explain", path, str(EXAMPLES), "--format", "json", "--no-reference")
        assert code == 0, err
        [doc] = [r for r in json.loads(out)["rules"] if r["key"] == rule["key"]]
        assert doc["noise_score"] == doc["breakdown"]["score"] == rule["noise_score"], path


def test_explain_finds_a_rule_by_id_and_by_title(capsys, lint_scores):
    rule = next(r for r in lint_scores.values() if r["path"].endswith("proc_creation_win_cmd_any_execution.yml"))
    by_id = json.loads(run_cli(capsys, "explain", rule["id"], str(EXAMPLES), "--format", "json", "--no-reference")[1])
    by_title = json.loads(run_cli(capsys, "explain", rule["title"].upper(), str(EXAMPLES), "--format", "json",
                                  "--no-reference")[1])
    assert by_id["rules"][0]["path"] == by_title["rules"][0]["path"] == rule["path"]
    assert by_id["rules"][0]["noise_score"] == rule["noise_score"]


def test_explain_text_shows_each_term(capsys):
    rule = EXAMPLES / "sigma" / "dns_query" / "dns_query_win_anydesk_domain_non_browser.yml"
    code, out, _ = run_cli(capsys, "explain", str(rule), str(EXAMPLES), "--no-reference", "--no-progress")
    assert code == 0
    for text in ("noise score", "log source windows/dns_query", "share", "QueryName ends_with",
                 "exclusion not (Image ends_with '\\chrome.exe'", "combined:", "total ="):
        assert text in out, text
    data = json.loads(run_cli(capsys, "explain", str(rule), str(EXAMPLES), "--format", "json", "--no-reference")[1])
    b = data["rules"][0]["breakdown"]
    assert b["exclusions"] and all(x["weight"] > 0 for x in b["exclusions"])
    assert b["estimate"] == pytest.approx(b["logic"] * b["beyond_factor"])
    assert b["score"] == data["rules"][0]["noise_score"] == round(b["estimate"] ** 0.25, 4)


def test_explain_errors(capsys, tmp_path):
    assert run_cli(capsys, "explain", "no-such-rule-anywhere", str(EXAMPLES), "--no-reference")[0] == 2
    code, _, err = run_cli(capsys, "explain", "Domain Resolved", str(EXAMPLES), "--no-reference")
    assert code == 2 and "give the id or the file" in err  # several titles match
    assert run_cli(capsys, "explain", "x", str(tmp_path / "missing"))[0] == 2
