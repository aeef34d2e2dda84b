"""`rulelint report pr`: findings new and fixed against a base, in a scratch git repository."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from rulelint.cli.main import main
from rulelint.engine import Settings
from rulelint.reports.pr import build, discoverable
from rulelint.reports.pr_render import render

from ..conftest import REPO, sigma_rule

EXAMPLES = REPO / "corpus"

NOISY_ID = "00000000-0000-4000-8000-0000000000a1"
RARE_ID = "00000000-0000-4000-8000-0000000000a2"
RUSTDESK_ID = "00000000-0000-4000-8000-0000000000a3"
# The checks these scenarios are built for; others (duplicates, ATT&CK tags) judge them too.
CHECKS = ("--select", "RL001,RL101,RL102")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                          env=env, check=True, capture_output=True, text=True).stdout


def cmd_rule(i: int, flag: str) -> str:
    return sigma_rule(f"Cmd {flag}", f"""
        selection:
          Image|endswith: '\\\\cmd.exe'
          CommandLine|contains: '{flag}'
        condition: selection
    """, rule_id=f"00000000-0000-4000-8000-00000000000{i}")


def dns_rule(domain: str, with_filter: bool, rule_id: str) -> str:
    flt = """
        filter_browsers:
          Image:
            - 'C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe'
            - 'C:\\\\Program Files\\\\Mozilla Firefox\\\\firefox.exe'
        condition: selection and not filter_browsers
    """ if with_filter else "\n        condition: selection\n"
    return sigma_rule(f"{domain} resolved", f"""
        selection:
          QueryName|endswith: ['.{domain}', '.rustdesk.com']""" + flt, category="dns_query", tags=("attack.t1219",), rule_id=rule_id)


NOISY = sigma_rule("Any cmd", """
    selection:
      Image|endswith: '\\\\cmd.exe'
    condition: selection
""", rule_id=NOISY_ID)
RARE = sigma_rule("Rare flag", """
    selection:
      CommandLine|contains: 'rare-flag-a'
    condition: selection
""", rule_id=RARE_ID)
RARE_NOISY = sigma_rule("Rare flag", """
    selection:
      CommandLine|contains: 'rare-flag-a'
    noisy:
      Image|endswith: '\\\\cmd.exe'
    condition: selection or noisy
""", rule_id=RARE_ID)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A committed corpus: four specific `\\cmd.exe` rules, one noisy (RL101), three DNS
    rules with browser exclusions and one without (RL102)."""
    root = tmp_path / "repo"
    rules = root / "rules"
    rules.mkdir(parents=True)
    for i, flag in enumerate(["vssadmin delete", "bcdedit /set", "wevtutil cl", "net user /add"]):
        (rules / f"cmd_{i}.yml").write_text(cmd_rule(i, flag))
    (rules / "noisy_cmd.yml").write_text(NOISY)
    (rules / "rare.yml").write_text(RARE)
    for domain in ("anydesk.com", "teamviewer.com", "screenconnect.com"):
        (rules / f"dns_{domain}.yml").write_text(dns_rule(domain, True, str(uuid.uuid5(uuid.NAMESPACE_DNS, domain))))
    (rules / "dns_rustdesk.yml").write_text(dns_rule("rustdesk.com", False, RUSTDESK_ID))
    (root / "README.md").write_text("not a rule\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "rules")
    monkeypatch.chdir(root)
    return root


def report_json(capsys, *extra: str) -> tuple[int, dict]:
    code = main(["report", "pr", "--base", "HEAD", "rules", "--no-reference", "--no-cache", "--format", "json",
                 *CHECKS, *extra])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def found(findings: list[dict]) -> set[tuple[str, str]]:
    return {(f["code"], Path(f["path"]).name) for f in findings}


def insert_above_detection(path: Path) -> None:
    path.write_text(path.read_text().replace("detection:", "# reviewed\n\n\n# by a human\ndetection:"))


def test_lists_exactly_what_the_change_introduced_and_fixed(repo, capsys):
    (repo / "rules" / "rare.yml").write_text(RARE_NOISY)  # a noisy indicator added
    (repo / "rules" / "dns_rustdesk.yml").write_text(dns_rule("rustdesk.com", True, RUSTDESK_ID))  # RL102 fixed
    insert_above_detection(repo / "rules" / "noisy_cmd.yml")  # its RL101 finding only moves
    code, doc = report_json(capsys)
    assert found(doc["new_findings"]) == {("RL101", "rare.yml")}
    assert found(doc["fixed_findings"]) == {("RL102", "dns_rustdesk.yml")}
    assert doc["summary"]["kept_findings"] == 1  # noisy_cmd.yml's, on another line now
    assert code == 1
    assert {(c["status"], c["path"]) for c in doc["changes"]} == {
        ("modified", "rules/rare.yml"), ("modified", "rules/dns_rustdesk.yml"), ("modified", "rules/noisy_cmd.yml")}
    rules = {r["id"]: r for r in doc["rules"]}
    rare = rules[RARE_ID]
    assert rare["noise_before"] < rare["noise_after"]
    # Each changed rule's robustness level before and after, and what sets it now.
    import re as _re

    for r in doc["rules"]:
        assert _re.fullmatch(r"[1-5][AUKHP]?|none", r["robustness_before"]), r["robustness_before"]
        assert _re.fullmatch(r"[1-5][AUKHP]?|none", r["robustness_after"]), r["robustness_after"]
    assert rare["robustness_reason"]
    cmd = next(i for i in rare["indicators"] if i["value"] == "cmd.exe")
    # Five other rules use `\cmd.exe`, at the base as now; it is common in this corpus.
    assert (cmd["field"], cmd["op"], cmd["written"], cmd["positive"]) == (
        "process.name", "eq", "Image ends_with '\\cmd.exe'", True)
    assert cmd["reach"] == cmd["reach_before"] == 5 and cmd["common"]
    assert len(rare["new"]) == 1 and rare["fixed"] == []
    assert [i["value"] for i in rare["indicators"] if i["added"]] == ["cmd.exe"] and rare["removed_indicators"] == []
    rust = rules[RUSTDESK_ID]
    assert rust["peers"] == 3 and rust["missing_exclusions"] == [] and len(rust["fixed"]) == 1
    excluded = {i["value"] for i in rust["indicators"] if not i["positive"]}
    assert excluded == {"c:\\program files\\google\\chrome\\application\\chrome.exe",
                        "c:\\program files\\mozilla firefox\\firefox.exe"}
    assert main(["report", "pr", "--base", "HEAD", "rules", "--no-reference", "--no-cache", "--fail-on", "error",
                 *CHECKS]) == 0


def test_a_rule_lacking_peer_exclusions_lists_them(repo, capsys):
    (repo / "rules" / "dns_rustdesk.yml").write_text(
        dns_rule("rustdesk.com", False, RUSTDESK_ID).replace("level: medium", "level: high"))
    _, doc = report_json(capsys)
    rust = doc["rules"][0]
    assert rust["id"] == RUSTDESK_ID and rust["peers"] == 3
    assert {(m["value"], m["peers"]) for m in rust["missing_exclusions"]} == {
        ("c:\\program files\\google\\chrome\\application\\chrome.exe", 3), ("c:\\program files\\mozilla firefox\\firefox.exe", 3)}
    assert doc["new_findings"] == [] and doc["fixed_findings"] == []  # the RL102 finding was there before


def test_line_moves_alone_are_not_news(repo, capsys):
    for name in ("noisy_cmd.yml", "dns_rustdesk.yml", "cmd_0.yml"):
        insert_above_detection(repo / "rules" / name)
    code, doc = report_json(capsys)
    assert doc["new_findings"] == [] and doc["fixed_findings"] == []
    assert doc["summary"]["kept_findings"] == 2 and len(doc["changes"]) == 3
    assert code == 0


def test_added_deleted_renamed_staged_and_untracked(repo, capsys):
    git(repo, "mv", "rules/noisy_cmd.yml", "rules/renamed_cmd.yml")  # staged rename: same rule id
    (repo / "rules" / "cmd_3.yml").unlink()  # a deleted rule: not a fix
    (repo / "rules" / "new_noisy.yml").write_text(sigma_rule("New", """
        selection:
          Image|endswith: '\\\\cmd.exe'
        condition: selection
    """))  # untracked
    (repo / "rules" / "broken.yml").write_text(RARE.replace("condition: selection", "condition: selection and not nope"))
    code, doc = report_json(capsys)
    changes = {(c["status"], c["path"], c["old_path"]) for c in doc["changes"]}
    assert changes == {("renamed", "rules/renamed_cmd.yml", "rules/noisy_cmd.yml"),
                       ("deleted", "rules/cmd_3.yml", ""), ("added", "rules/new_noisy.yml", ""),
                       ("added", "rules/broken.yml", "")}
    assert found(doc["new_findings"]) == {("RL101", "new_noisy.yml"), ("RL001", "broken.yml")}
    assert doc["fixed_findings"] == []  # renamed_cmd.yml keeps its finding; cmd_3.yml had none
    statuses = {r["path"]: r["status"] for r in doc["rules"]}
    assert statuses == {"rules/renamed_cmd.yml": "modified", "rules/cmd_3.yml": "deleted",
                        "rules/new_noisy.yml": "added"}
    assert code == 1


def test_deleted_rule_findings_are_gone_not_fixed(repo, capsys):
    (repo / "rules" / "noisy_cmd.yml").unlink()
    code, doc = report_json(capsys)
    assert doc["fixed_findings"] == [] and doc["summary"]["removed_with_deleted_rules"] == 1
    assert code == 0


def tree_state(repo: Path) -> tuple:
    files = {p.relative_to(repo).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
             for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    dot_git = sorted(p.relative_to(repo / ".git").as_posix() for p in (repo / ".git").rglob("*"))
    index = hashlib.sha1((repo / ".git" / "index").read_bytes()).hexdigest()
    return files, dot_git, index, git(repo, "status", "--porcelain"), git(repo, "worktree", "list")


def test_never_touches_the_working_tree_index_or_git_state(repo, capsys):
    (repo / "rules" / "rare.yml").write_text(RARE_NOISY)
    git(repo, "add", "rules/rare.yml")
    (repo / "rules" / "dns_rustdesk.yml").write_text(dns_rule("rustdesk.com", True, RUSTDESK_ID))
    before = tree_state(repo)
    report_json(capsys)
    assert tree_state(repo) == before


def test_markdown_has_a_collapsible_section_per_rule_and_inert_text(repo, capsys):
    # YAML's `\\e` is an ESC: the title carries a terminal escape once loaded.
    hostile = "</summary><script>alert(1)</script> @octocat | `x` \\e[31m<b>"
    (repo / "rules" / "rare.yml").write_text(RARE_NOISY.replace("title: Rare flag", f'title: "{hostile}"'))
    out_file = repo.parent / "report.md"
    code = main(["report", "pr", "--base", "HEAD", "rules", "--no-reference", "--no-cache", "-o", str(out_file),
                 *CHECKS])
    assert code == 1
    text = out_file.read_text()
    assert text.count("<details>") == text.count("</details>") == 1
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert {t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html)} <= {
        "h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "ul", "li", "strong", "em",
        "details", "summary", "b"}
    assert "@octocat" not in text and "\x1b" not in text
    assert "New findings (1)" in text and "noisy-standalone-indicator" in text
    summary = re.search(r"<summary>(.*)</summary>", html).group(1)
    shown = re.sub(r"<[^>]+>", "", summary).replace("&lt;", "<").replace("&gt;", ">").replace("\u200d", "")
    assert shown.startswith("</summary><script>alert(1)</script> @octocat | `x` <b> · sigma · modified")


def test_build_and_render_for_the_reports_command(repo):
    (repo / "rules" / "rare.yml").write_text(RARE_NOISY)
    report = build(str(repo), "HEAD", ["rules"], Settings(select=list(CHECKS[1].split(","))))
    assert [f.code for f in report.new_findings()] == ["RL101"]
    assert json.loads(render(report, "json"))["summary"]["new_findings"] == 1
    assert render(report, "markdown").startswith("## rulelint PR review")


def test_with_the_bundled_reference_index(repo, capsys):
    (repo / "rules" / "rare.yml").write_text(RARE_NOISY)
    code = main(["report", "pr", "--base", "HEAD", "rules", "--no-cache", "--format", "json", *CHECKS])
    doc = json.loads(capsys.readouterr().out)
    assert ("RL101", "rare.yml") in found(doc["new_findings"]) and code == 1
    cmd = next(i for i in doc["rules"][0]["indicators"] if i["value"] == "cmd.exe")
    assert cmd["reach"] > 100  # the public corpora's `\cmd.exe` rules count too


def test_errors_are_exit_2(tmp_path, repo, capsys, monkeypatch):
    assert main(["report", "pr", "--base", "no-such-ref", "rules", "--no-reference", "--no-cache"]) == 2
    assert "unknown base" in capsys.readouterr().err
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert main(["report", "pr", "--base", "HEAD", ".", "--no-reference", "--no-cache"]) == 2
    assert "not inside a git repository" in capsys.readouterr().err


def test_splunk_base_versions_expand_the_base_macros(tmp_path, monkeypatch, capsys):
    # The macros folder lies beside `detections/`, outside the PATH given: the base
    # versions of changed detections must still be expanded with it.
    root = tmp_path / "sc"
    shutil.copytree(EXAMPLES / "splunk", root / "splunk", ignore=shutil.ignore_patterns("broken"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "splunk")
    rule = root / "splunk" / "detections" / "endpoint" / "hidden_user_added_security_log.yml"
    rule.write_text(rule.read_text().replace("description: A user", "description: Still a user"))
    monkeypatch.chdir(root)
    code = main(["report", "pr", "--base", "HEAD", "splunk/detections", "--no-reference", "--no-cache",
                 "--format", "json", *CHECKS])
    doc = json.loads(capsys.readouterr().out)
    assert doc["new_findings"] == [] and doc["fixed_findings"] == [] and code == 0
    (changed,) = doc["rules"]
    assert changed["status"] == "modified" and changed["noise_before"] == changed["noise_after"]
    # Without the base macros the base version would lack the macro's tests.
    assert len(changed["indicators"]) >= 3 and not any(i["added"] for i in changed["indicators"])
    assert changed["removed_indicators"] == []


def test_discoverable_follows_discover_rules():
    assert discoverable("rules/a.yml", ["rules"]) and discoverable("rules/x/b.toml", ["."])
    assert not discoverable("rules/.hidden/a.yml", ["rules"]) and not discoverable("rules/tests/a.yml", ["rules"])
    assert not discoverable("other/a.yml", ["rules"]) and not discoverable("rules/README.md", ["rules"])


def test_a_change_that_only_adds_rules_still_gives_reach_at_the_base(repo, capsys):
    for i in (7, 8):
        (repo / "rules" / f"added_{i}.yml").write_text(cmd_rule(i, f"flag-{i}"))
    _, doc = report_json(capsys)
    assert {c["status"] for c in doc["changes"]} == {"added"} and len(doc["rules"]) == 2
    for rule in doc["rules"]:
        cmd = next(i for i in rule["indicators"] if i["value"] == "cmd.exe")
        # Now: the five committed `\cmd.exe` rules and the other added one; at the base, five.
        assert (cmd["reach"], cmd["reach_before"]) == (6, 5)
