"""The command line end to end: formats, exit codes, select/ignore, targets, sub-commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rulelint.cli.main import main

from ..conftest import REPO, sigma_rule

EXAMPLES = REPO / "corpus"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def example_rule_count() -> int:
    """How many rules the examples hold: every rule document that loads (others add examples too)."""
    from rulelint.loaders import discover, load_paths

    return len(load_paths(discover([str(EXAMPLES)]), 1).rules)


def test_examples_json_contract(capsys):
    code, out, _ = run_cli(capsys, str(EXAMPLES), "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert set(doc) == {"rules", "findings", "summary"}
    for r in doc["rules"]:
        assert {"key", "id", "title", "vendor", "path", "techniques", "noise_score"} <= set(r)
        assert r["vendor"] in ("sigma", "elastic", "splunk")
        assert (0 <= r["noise_score"] <= 1) if r["noise_score"] is not None else r["noise_note"]
    assert {r["vendor"] for r in doc["rules"]} == {"sigma", "elastic", "splunk"}
    names = {f["name"] for f in doc["findings"]}
    assert {"parse-error", "noisy-standalone-indicator", "missing-common-exclusion"} <= names
    for f in doc["findings"]:
        assert {"code", "name", "severity", "message", "path", "line", "rule_id"} <= set(f)
    # One broken example per vendor's language: two Sigma, one EQL, one SPL.
    assert doc["summary"]["by_check"]["parse-error"] == 4


def test_text_output_names_the_file_its_findings_and_a_summary(capsys):
    code, out, _ = run_cli(capsys, str(EXAMPLES), "--no-progress")
    assert code == 1
    assert "proc_creation_win_cmd_any_execution.yml" in out
    assert "RL101" in out and "rulelint summary" in out


def test_exit_codes_follow_fail_on(tmp_path, capsys):
    rule = tmp_path / "r.yml"
    rule.write_text(sigma_rule("specific", """
        selection:
          CommandLine|contains: 'some-very-rare-flag'
        condition: selection
    """))
    assert run_cli(capsys, str(tmp_path))[0] == 0
    assert run_cli(capsys, str(EXAMPLES), "--fail-on", "error")[0] == 1  # parse errors are errors
    # The other errors of the examples: a rule that can never match (contradictory-logic),
    # a copied rule that kept its original's id (duplicate-id), an Elastic threshold rule
    # without its count (missing-required-field), a Splunk search calling a misspelt macro
    # (undefined-macro).
    assert run_cli(capsys, str(EXAMPLES), "--ignore", "parse-error", "--fail-on", "error")[0] == 1
    assert run_cli(capsys, str(EXAMPLES), "--ignore",
                   "parse-error,contradictory-logic,duplicate-id,missing-required-field,undefined-macro",
                   "--fail-on", "error")[0] == 0
    assert run_cli(capsys, str(tmp_path / "missing"))[0] == 2
    assert run_cli(capsys, str(tmp_path), "--select", "RL999")[0] == 2
    assert run_cli(capsys, "--format", "xml", str(tmp_path))[0] == 2


@pytest.mark.parametrize("token", ["RL101", "noisy-standalone-indicator", "rl10"])
def test_select_accepts_codes_names_and_prefixes(capsys, token):
    _, out, _ = run_cli(capsys, str(EXAMPLES), "--format", "json", "--select", token)
    names = {f["name"] for f in json.loads(out)["findings"]}
    assert "noisy-standalone-indicator" in names and "parse-error" not in names


def test_ignore_comma_separated(capsys):
    _, out, _ = run_cli(capsys, str(EXAMPLES), "--format", "json", "--ignore", "RL101,missing-common-exclusion")
    names = {f["name"] for f in json.loads(out)["findings"]}
    # The unused suppression names RL101, which did not run: it cannot be judged unused.
    assert not names & {"noisy-standalone-indicator", "missing-common-exclusion", "unused-suppression"}
    assert {"parse-error", "no-query-logic"} <= names


def test_target_judged_against_corpus_and_replaces_same_id(tmp_path, capsys):
    # An edited copy of an example rule (its id, its file name): it must replace, not
    # double, the corpus rule.
    src = EXAMPLES / "sigma" / "process_creation" / "proc_creation_win_cmd_any_execution.yml"
    target = tmp_path / src.name
    target.write_text(src.read_text())
    _, out, _ = run_cli(capsys, str(EXAMPLES), "--target", str(target), "--format", "json", "--no-reference")
    doc = json.loads(out)
    assert [r["path"] for r in doc["rules"]] == [str(target)]
    assert all(f["path"] == str(target) for f in doc["findings"])
    noisy = [f for f in doc["findings"] if f["name"] == "noisy-standalone-indicator"]
    # 3 Sigma, 1 Elastic and 1 Splunk example test the cmd.exe process name besides this
    # one; the replaced copy is not counted twice.
    assert noisy and "6 rules use process.name eq 'cmd.exe')" in noisy[0]["message"]
    # Every loadable example is in the corpus once: the edited copy replaced its original.
    _, whole, _ = run_cli(capsys, str(EXAMPLES), "--format", "json", "--no-reference", "--select", "RL001")
    assert doc["summary"]["corpus_rules"] == json.loads(whole)["summary"]["rules"] and doc["summary"]["rules"] == 1
    assert not [f for f in doc["findings"] if f["name"] == "duplicate-id"]


def test_target_copy_under_another_name_is_a_duplicate_not_an_edit(tmp_path, capsys):
    # The same id in a file of another name: a copy whose id was not changed. As every
    # target with a corpus rule's id, it takes that rule's place in the index (never its
    # own peer), and its duplicate-id finding names the original's id line.
    src = EXAMPLES / "sigma" / "process_creation" / "proc_creation_win_cmd_any_execution.yml"
    target = tmp_path / "proc_creation_win_cmd_copy.yml"
    target.write_text(src.read_text())
    _, out, _ = run_cli(capsys, str(EXAMPLES), "--target", str(target), "--format", "json", "--no-reference",
                        "--select", "RL005")
    doc = json.loads(out)
    _, whole, _ = run_cli(capsys, str(EXAMPLES), "--format", "json", "--no-reference", "--select", "RL001")
    assert doc["summary"]["corpus_rules"] == json.loads(whole)["summary"]["rules"]
    (dup,) = doc["findings"]
    assert dup["name"] == "duplicate-id" and dup["path"] == str(target) and dup["line"] == 2
    assert f"{src}:2" in dup["message"]


def test_indicators_json_contract(capsys):
    code, out, _ = run_cli(capsys, "indicators", str(EXAMPLES), "--format", "json", "--no-reference")
    assert code == 0
    rows = json.loads(out)["indicators"]
    # Image ends_with '\cmd.exe', KQL process.name:cmd.exe and SPL Processes.process_name=cmd.exe
    # are one indicator.
    cmd = next(r for r in rows if r["field"] == "process.name" and r["value"] == "cmd.exe")
    assert cmd["op"] == "eq" and cmd["reach"] == 6
    assert cmd["vendors"] == {"sigma": 4, "elastic": 1, "splunk": 1}
    assert cmd["aliases"] == ["Image", "Processes.process_name", "process.name"]
    assert cmd["written"][0] == "Image ends_with '\\cmd.exe'"
    assert [r["reach"] for r in rows] == sorted((r["reach"] for r in rows), reverse=True)


def test_indicators_text_filters(capsys):
    code, out, _ = run_cli(capsys, "indicators", str(EXAMPLES), "--field", "QueryName")
    assert code == 0 and "rustdesk" in out and "\\cmd.exe" not in out


def test_rule_docs_have_fixed_sections(capsys):
    for token in ("RL001", "noisy-standalone-indicator", "RL102"):
        code, out, _ = run_cli(capsys, "rule", token)
        assert code == 0
        for section in ("## What it does", "## Why it matters", "## Example", "## Use instead", "## Options"):
            assert section in out
    assert run_cli(capsys, "rule", "nope")[0] == 2


def test_rules_lists_every_check(capsys):
    code, out, _ = run_cli(capsys, "rules", "--format", "json")
    assert code == 0
    from rulelint.checks import CHECKS

    names = [c["name"] for c in json.loads(out)]
    assert names == [c.name for c in CHECKS]
    assert {"parse-error", "noisy-standalone-indicator", "missing-common-exclusion"} <= set(names)


def test_python_m_rulelint_lints_the_examples(tmp_path):
    """`python -m rulelint` runs the CLI in a fresh process (the console script is not run here)."""
    proc = subprocess.run([sys.executable, "-m", "rulelint", str(EXAMPLES), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["summary"]["rules"] == example_rule_count()


def test_output_file(tmp_path, capsys):
    dest = tmp_path / "out.json"
    code, out, _ = run_cli(capsys, str(EXAMPLES), "--format", "json", "-o", str(dest))
    assert code == 1 and out == ""
    assert json.loads(dest.read_text())["findings"]


def test_control_characters_in_rule_text_render_inert(tmp_path, capsys):
    """A value carrying an ANSI escape is shown escaped in the terminal output, never raw."""
    for i in range(4):
        (tmp_path / f"r{i}.yml").write_text(sigma_rule(f"r{i}", """
            selection:
              Image|endswith: "\\\\evil\\x1b[31m.exe"
            condition: selection
        """))
    code, out, _ = run_cli(capsys, str(tmp_path), "--no-progress", "--no-reference")
    assert code == 1 and "duplicate-logic" in out  # RL201 names the four rules' shared value
    assert "\x1b[31m" not in out and "\\x1b[31m" in out


# -- the bundled reference index ------------------------------------------------------

def test_three_rules_of_your_own_get_reach_from_the_bundled_reference(tmp_path, capsys):
    """A tiny private corpus learns from the public corpora that `\\cmd.exe` is everywhere."""
    from rulelint.reference import BUNDLED

    assert BUNDLED.is_file()
    rules = {
        "cmd.yml": ("cmd alone", "selection:\n  Image|endswith: '\\cmd.exe'\ncondition: selection"),
        "vss.yml": ("vss", "selection:\n  CommandLine|contains: 'vssadmin delete shadows'\ncondition: selection"),
        "any.yml": ("anydesk", "selection:\n  Image|endswith: '\\anydesk.exe'\n  CommandLine|contains: '--install'\n"
                               "condition: selection"),
    }
    for name, (title, det) in rules.items():
        (tmp_path / name).write_text(sigma_rule(title, det))
    code, out, _ = run_cli(capsys, str(tmp_path), "--format", "json")
    doc = json.loads(out)
    noisy = [f for f in doc["findings"] if f["name"] == "noisy-standalone-indicator"]
    assert code == 1 and [f["path"] for f in noisy] == [str(tmp_path / "cmd.yml")]
    reach = int(re.search(r"(\d+) rules use process.name", noisy[0]["message"]).group(1))
    assert reach > 200  # Sigma, Elastic and Splunk rules of the reference test the cmd.exe name
    assert doc["summary"]["rules"] == 3 and doc["summary"]["corpus_rules"] > 7000
    assert "SigmaHQ/sigma@" in doc["summary"]["reference"]
    # Without the reference the prevalence prior still knows cmd.exe; no other rule uses it.
    code, out, _ = run_cli(capsys, str(tmp_path), "--format", "json", "--no-reference")
    alone = [f for f in json.loads(out)["findings"] if f["name"] == "noisy-standalone-indicator"]
    assert code == 1 and [f["path"] for f in alone] == [str(tmp_path / "cmd.yml")]
    assert "native Windows binary" in alone[0]["message"] and "1 rule uses" in alone[0]["message"]  # itself
    # The indicators table counts the reference too.
    _, out, _ = run_cli(capsys, "indicators", str(tmp_path), "--format", "json", "--field", "process.name")
    cmd = next(r for r in json.loads(out)["indicators"] if r["value"] == "cmd.exe")
    assert cmd["reach"] > 200 and all(cmd["vendors"][v] > 0 for v in ("sigma", "elastic", "splunk"))


def test_reference_rules_are_replaced_by_the_corpus_version(tmp_path, capsys):
    """A rule linted with the id of a reference rule is not also counted as that reference rule."""
    from rulelint import reference

    index, meta = reference.read(reference.BUNDLED)
    stub = next(r for r in index.rules.values() if r.vendor == "sigma" and r.id and r.positive_keys())
    (tmp_path / "mine.yml").write_text(sigma_rule("mine", "selection:\n  CommandLine|contains: 'zz-unique-zz'\n"
                                                          "condition: selection", rule_id=stub.id))
    _, out, _ = run_cli(capsys, str(tmp_path), "--format", "json")
    doc = json.loads(out)
    assert doc["summary"]["corpus_rules"] == meta["rules"]  # one replaced, none added twice


def test_reference_option_errors(tmp_path, capsys):
    (tmp_path / "r.yml").write_text(sigma_rule("r", "selection:\n  CommandLine|contains: 'x'\ncondition: selection"))
    assert run_cli(capsys, str(tmp_path), "--reference", str(tmp_path / "missing.idx"))[0] == 2
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"not an index")
    code, _, err = run_cli(capsys, str(tmp_path), "--reference", str(bad), "--no-cache")
    assert code == 2 and "not a rulelint reference index" in err


def test_index_build_round_trip(tmp_path, capsys):
    out_file = tmp_path / "ref.idx"
    code, out, _ = run_cli(capsys, "index", "build", str(EXAMPLES), "-o", str(out_file), "--no-progress")
    assert code == 0 and out_file.is_file() and f"{example_rule_count()} rules" in out
    from rulelint import reference

    index, meta = reference.read(out_file)
    assert meta["rules"] == len(index.rules) == example_rule_count()
    assert all(r.title == "" for r in index.rules.values())  # no rule text
    assert all(not r.path.startswith("/") for r in index.rules.values())
    assert run_cli(capsys, "index", "nope")[0] == 2
