"""`rulelint hook FILE...`: the changed files judged against the configured corpus, non-rule
files ignored; the hook manifest; and the hook run by pre-commit itself (try-repo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rulelint.cli.main import main
from rulelint.config import find_config

from ..conftest import REPO, sigma_rule

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def cmd_rule(i: int, *, noisy: bool = False, rule_id: str | None = None) -> str:
    """A cmd.exe rule: specific (a rare command line) or noisy (the image name alone)."""
    detection = """
        selection:
          Image|endswith: '\\cmd.exe'
        condition: selection
    """ if noisy else f"""
        selection:
          Image|endswith: '\\cmd.exe'
          CommandLine|contains: 'rare-hook-flag-{i}'
        condition: selection
    """
    return sigma_rule(f"cmd rule {i}", detection, rule_id=rule_id or f"7b3f0c1d-2e4a-4b5c-8d6e-{i:012d}")


def other_rule(i: int) -> str:
    return sigma_rule(f"other rule {i}", f"""
        selection:
          Image|endswith: '\\other-tool-{i}.exe'
        condition: selection
    """, rule_id=f"7b3f0c1d-2e4a-4b5c-8d6e-1000000000{i:02d}")


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


N_OTHER = 12


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A rules repository whose configuration names `rules/` as the corpus; `other/` lies
    beside it, outside the corpus; a few files that are not rules."""
    files = {f"rules/cmd_{i}.yml": cmd_rule(i) for i in range(4)}
    files["rules/new_rule.yml"] = cmd_rule(9, noisy=True)
    files.update({f"other/other_{i}.yml": other_rule(i) for i in range(N_OTHER)})
    files[".rulelint.toml"] = 'corpus = ["rules"]\n'
    files["README.md"] = "# rules\n"
    files["tool.py"] = "print('not a rule')\n"
    files["docker-compose.yml"] = "services:\n  app:\n    image: alpine\n"
    return write(tmp_path / "repo", files)


def lint_json(capsys, *args: str) -> tuple[int, dict, str]:
    code = main([*map(str, args), "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def stable(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["summary"].pop("seconds", None)
    return doc


def same_file(a: str, b: str | Path) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


# -- the hook on the command line ---------------------------------------------------------

def test_hook_judges_the_changed_file_against_the_configured_corpus(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    code, hook, err = lint_json(capsys, "hook", "rules/new_rule.yml")
    assert code == 1, err
    assert len(hook["rules"]) == 1 and same_file(hook["rules"][0]["path"], "rules/new_rule.yml")
    assert hook["findings"] and all(same_file(f["path"], "rules/new_rule.yml") for f in hook["findings"])
    assert "noisy-standalone-indicator" in {f["name"] for f in hook["findings"]}
    assert hook["summary"]["files"] == 1 and hook["summary"]["rules"] == 1

    # The same as naming that corpus and that target explicitly ...
    _, explicit, _ = lint_json(capsys, repo / "rules", "--target", "rules/new_rule.yml")
    assert stable(hook)["findings"] == stable(explicit)["findings"]
    assert stable(hook)["summary"] == stable(explicit)["summary"]
    # ... and not the whole folder: other/ is outside the configured corpus.
    _, whole, _ = lint_json(capsys, ".", "--target", "rules/new_rule.yml")
    assert whole["summary"]["corpus_rules"] - hook["summary"]["corpus_rules"] == N_OTHER


def test_hook_text_output_and_clean_change(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["hook", "rules/new_rule.yml", "--no-progress"]) == 1
    out, _ = capsys.readouterr()
    assert "new_rule.yml" in out and "RL101" in out and "noisy-standalone-indicator" in out
    (repo / "rules" / "new_rule.yml").write_text(cmd_rule(9), encoding="utf-8")  # now specific
    assert main(["hook", "rules/new_rule.yml", "--no-progress"]) == 0
    capsys.readouterr()


def test_hook_ignores_files_that_are_not_rules(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["hook", "README.md", "tool.py"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    # YAML and TOML that are not rules (pre-commit passes them: types yaml, toml) load as nothing.
    code, doc, err = lint_json(capsys, "hook", "docker-compose.yml", ".rulelint.toml", "README.md")
    assert code == 0, err
    assert doc["rules"] == [] and doc["findings"] == []
    # Mixed: only the rule is judged.
    code, doc, _ = lint_json(capsys, "hook", "README.md", "rules/new_rule.yml", "tool.py")
    assert code == 1
    assert [os.path.basename(r["path"]) for r in doc["rules"]] == ["new_rule.yml"]
    assert doc["summary"]["files"] == 1


def test_hook_without_configuration_judges_against_the_current_folder(tmp_path, capsys, monkeypatch):
    plain = write(tmp_path / "plain", {
        **{f"a/cmd_{i}.yml": cmd_rule(i) for i in range(4)},
        **{f"b/other_{i}.yml": other_rule(i) for i in range(N_OTHER)},
        "new_rule.yml": cmd_rule(9, noisy=True),
    })
    if find_config(str(plain)) is not None:
        pytest.skip(f"a configuration above the test folder applies: {find_config(str(plain))}")
    monkeypatch.chdir(plain)
    code, hook, err = lint_json(capsys, "hook", "new_rule.yml")
    assert code == 1, err
    assert "noisy-standalone-indicator" in {f["name"] for f in hook["findings"]}
    _, explicit, _ = lint_json(capsys, ".", "--target", "new_rule.yml")
    assert stable(hook)["findings"] == stable(explicit)["findings"]
    assert stable(hook)["summary"] == stable(explicit)["summary"]
    _, only_a, _ = lint_json(capsys, "a", "--target", "new_rule.yml")
    # b/ is in the corpus; new_rule.yml counts once either way (a target, or the corpus copy it replaces).
    assert hook["summary"]["corpus_rules"] - only_a["summary"]["corpus_rules"] == N_OTHER


def test_hook_config_errors_exit_2(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    (repo / ".rulelint.toml").write_text('corpus = "rules"\n')
    assert main(["hook", "rules/new_rule.yml"]) == 2
    assert ".rulelint.toml" in capsys.readouterr().err


def test_hook_changed_rule_without_id_replaces_its_corpus_copy(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    text = cmd_rule(9, noisy=True)
    (repo / "rules" / "new_rule.yml").write_text("".join(line for line in text.splitlines(True)
                                                         if not line.startswith("id:")))
    _, hook, _ = lint_json(capsys, "hook", "rules/new_rule.yml", "--no-cache")
    # Relative corpus paths, as the target's: here the copy is replaced. (`rules` alone would be
    # the `rulelint rules` sub-command.)
    _, explicit, _ = lint_json(capsys, "./rules", "--target", "rules/new_rule.yml", "--no-cache")
    assert hook["summary"]["corpus_rules"] == explicit["summary"]["corpus_rules"]
    assert [f["message"] for f in hook["findings"]] == [f["message"] for f in explicit["findings"]]


def test_hook_reports_the_paths_it_was_given(repo, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(repo)
    _, doc, _ = lint_json(capsys, "hook", "rules/new_rule.yml", "--cache-dir", tmp_path / "cache")
    assert [r["path"] for r in doc["rules"]] == ["rules/new_rule.yml"]
    assert {f["path"] for f in doc["findings"]} == {"rules/new_rule.yml"}


# -- the manifest ----------------------------------------------------------------------------

def test_pre_commit_hooks_manifest():
    manifest = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(manifest, list) and len(manifest) == 1
    hook = manifest[0]
    assert hook["id"] == "rulelint"
    assert hook["entry"] == "rulelint hook"
    assert hook["language"] == "python"
    assert {"yaml", "toml"} <= set(hook["types_or"])
    # The entry's executable is the console script the package installs.
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'rulelint = "rulelint.cli.main:entry"' in pyproject


def test_pre_commit_accepts_the_manifest():
    clientlib = pytest.importorskip("pre_commit.clientlib")
    hooks = clientlib.load_manifest(str(REPO / ".pre-commit-hooks.yaml"))
    assert [h["id"] for h in hooks] == ["rulelint"]


# -- pre-commit try-repo ---------------------------------------------------------------------

def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason=f"pre-commit is not installed ({PRE_COMMIT} missing): "
                                                    "pip install '.[test]'")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_try_repo(tmp_path):
    """pre-commit clones the committed HEAD of this checkout (`--ref`: uncommitted changes
    are not tested here), installs it into its own venv and runs the hook on the changed file."""
    try:
        head = git("rev-parse", "HEAD", cwd=REPO).strip()
    except subprocess.CalledProcessError:
        pytest.skip(f"{REPO} is not a git checkout")
    scratch = write(tmp_path / "scratch", {
        **{f"rules/cmd_{i}.yml": cmd_rule(i) for i in range(5)},
        ".rulelint.toml": 'corpus = ["rules"]\n',
    })
    git("init", "-q", cwd=scratch)
    git("config", "user.email", "tests@example.com", cwd=scratch)
    git("config", "user.name", "tests", cwd=scratch)
    git("config", "commit.gpgsign", "false", cwd=scratch)
    git("add", "-A", cwd=scratch)
    git("commit", "-qm", "rules", cwd=scratch)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "RULELINT_CACHE_DIR": str(tmp_path / "rulelint-cache")}
    cmd = [str(PRE_COMMIT), "try-repo", str(REPO), "rulelint", "--ref", head, "--files", "rules/cmd_2.yml"]

    (scratch / "rules" / "cmd_2.yml").write_text(cmd_rule(2, noisy=True), encoding="utf-8")
    git("add", "rules/cmd_2.yml", cwd=scratch)
    noisy = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=1200)
    out = noisy.stdout + noisy.stderr
    assert noisy.returncode == 1, out
    assert "Failed" in out and "cmd_2.yml" in out
    assert "noisy-standalone-indicator" in out and "RL101" in out

    (scratch / "rules" / "cmd_2.yml").write_text(cmd_rule(22), encoding="utf-8")  # a specific rule again
    git("add", "rules/cmd_2.yml", cwd=scratch)
    clean = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=1200)
    out = clean.stdout + clean.stderr
    assert clean.returncode == 0, out
    assert "Passed" in out and "RL101" not in out
    assert not (scratch / ".rulelint_cache").exists()  # the cache went where RULELINT_CACHE_DIR says
