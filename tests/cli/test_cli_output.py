"""What a rule author sees and types: findings as `path:line:col:` that editors jump to, a
compact summary for the hook and `--target`, tables that fit 100 columns, and PATH
defaults that follow `rulelint hook` (configuration, else the repository)."""

from __future__ import annotations

import json
import os
import re

import pytest

from rulelint.cli.main import main

from ..conftest import REPO, sigma_rule

NOISY = """
selection:
    Image|endswith: '\\cmd.exe'
condition: selection
"""
SPECIFIC = """
selection:
    CommandLine|contains: 'rare-output-token-{n}'
condition: selection
"""


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A private repository: a configuration naming `rules/`, a few rules, the cwd inside."""
    (tmp_path / "rules").mkdir()
    for n in range(3):
        (tmp_path / "rules" / f"specific_{n}.yml").write_text(sigma_rule(f"Specific {n}", SPECIFIC.format(n=n)))
    (tmp_path / "rules" / "noisy.yml").write_text(sigma_rule("Cmd Started", NOISY, tags=("attack.execution",)))
    (tmp_path / ".rulelint.toml").write_text('corpus = ["rules"]\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_findings_start_with_path_line_col_then_the_code(repo, capsys):
    code, out, _ = run_cli(capsys, "rules", "--no-progress", "--no-reference")
    assert code == 1
    lines = [l for l in out.splitlines() if "RL101" in l]
    assert lines, out
    assert re.match(r"^rules[/\\]noisy\.yml:\d+:\d+: RL101 warning: Image ends_with", lines[0]), lines[0]


def test_related_places_are_indented_path_line(capsys):
    code, out, _ = run_cli(capsys, str(REPO / "corpus"), "--no-progress", "--no-reference")
    see = [l for l in out.splitlines() if l.lstrip().startswith("see ")]
    assert see and all(l.startswith("    see ") for l in see)
    assert all(re.match(r"^    see \S+:\d+  ", l) for l in see), see[:3]


def test_a_parse_error_carries_its_column(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\nlogsource:\n\tproduct: windows\n")
    code, out, _ = run_cli(capsys, str(bad), "--no-progress", "--no-reference")
    assert code == 1
    assert re.search(r"bad\.yml:3:\d+: RL001 error: ", out), out


def test_summary_table_fits_100_columns(capsys):
    # The bundled reference index names its three sources: the row that used to make it 140 wide.
    code, out, _ = run_cli(capsys, str(REPO / "corpus"), "--no-progress")
    table = out[out.index("rulelint summary"):].splitlines()
    assert any("reference index" in l for l in table)
    assert max(len(l) for l in table) <= 100, max(table, key=len)


def test_the_hook_reports_one_finding_in_a_few_lines(repo, capsys):
    (repo / "rules" / "new.yml").write_text(sigma_rule("New Cmd", NOISY))
    code, out, _ = run_cli(capsys, "hook", "rules/new.yml", "--no-progress", "--no-reference")
    assert code == 1
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) <= 6, out
    assert lines[-1].startswith("rulelint: ") and "finding" in lines[-1] and "corpus rules" in lines[-1]
    assert "┃" not in out and "rulelint summary" not in out


def test_target_then_path_does_not_swallow_the_corpus(repo, capsys):
    (repo / "new.yml").write_text(sigma_rule("New Cmd", NOISY))
    code, out, _ = run_cli(capsys, "--target", "new.yml", "rules", "--format", "json", "--no-reference")
    doc = json.loads(out)
    assert [os.path.basename(r["path"]) for r in doc["rules"]] == ["new.yml"]
    assert doc["summary"]["corpus_rules"] == 5  # the four rules of rules/ and the target


def test_explain_defaults_to_the_configured_corpus(repo, capsys):
    code, out, err = run_cli(capsys, "explain", "rules/noisy.yml", "--no-progress", "--no-reference")
    assert code == 0, err
    assert "cmd.exe" in out


def test_explain_without_configuration_reads_the_current_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "r.yml").write_text(sigma_rule("Cmd Started", NOISY))
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "explain", "r.yml", "--no-progress", "--no-reference")
    assert code == 0, err
    assert "no PATH given" not in err


def test_report_technique_rejects_an_id_attack_does_not_have(repo, capsys):
    code, out, err = run_cli(capsys, "report", "technique", "T1999.999", "rules", "--no-progress")
    assert code == 2 and "T1999.999 is not a technique of ATT&CK" in err and out == ""


def test_report_technique_says_what_it_wrote(repo, capsys):
    code, _, err = run_cli(capsys, "report", "technique", "T1059", "rules", "-o", "page.md", "--no-progress",
                           "--no-reference")
    assert code == 0 and (repo / "page.md").is_file()
    assert "wrote the T1059 page" in err and "page.md" in err


def test_lint_explain_and_indicators_give_one_reach(capsys):
    """One number per fact: the reach of `process.name eq cmd.exe` over the examples and the
    bundled reference is the same in a lint message, in explain and in the indicators table."""
    examples = str(REPO / "corpus")
    rule = str(REPO / "corpus" / "sigma" / "process_creation" / "proc_creation_win_cmd_any_execution.yml")
    _, out, _ = run_cli(capsys, examples, "--format", "json", "--no-progress")
    [lint_reach] = {int(m) for f in json.loads(out)["findings"] if f["path"] == rule
                    for m in re.findall(r"(\d+) rules use process\.name eq 'cmd\.exe'", f["message"])}
    _, out, _ = run_cli(capsys, "explain", rule, examples, "--format", "json", "--no-progress")
    [doc] = json.loads(out)["rules"]
    [explain_reach] = [p["reach"] for p in doc["breakdown"]["predicates"] if p["value"] == "cmd.exe"]
    _, out, _ = run_cli(capsys, "indicators", examples, "--format", "json", "--field", "process.name",
                        "--no-progress")
    [table_reach] = [r["reach"] for r in json.loads(out)["indicators"] if r["value"] == "cmd.exe" and r["op"] == "eq"]
    assert lint_reach == explain_reach == table_reach > 200


def test_indicators_table_fits_100_columns(capsys):
    code, out, _ = run_cli(capsys, "indicators", str(REPO / "corpus"), "--limit", "40", "--no-progress")
    assert code == 0 and "cmd.exe" in out and "Image" in out
    assert max(len(l) for l in out.splitlines()) <= 100, max(out.splitlines(), key=len)
