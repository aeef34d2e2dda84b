"""Nothing from a rules folder is ever executed or imported: no eql plugin, no module
beside the rules, no unsafe YAML tag, no pickle planted in the cache folder."""

from __future__ import annotations

import ast
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import yaml

from rulelint.cache import SEAL_MAGIC, key_path, seal, unseal
from rulelint.loaders import load_file
from rulelint.loaders.yamlnodes import _BoundedLoader

from .hostile_files import elastic, sigma

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("rulelint")  # the console script pre-commit runs

EQL_RULE = elastic('process where process.name == "cmd.exe" and process.args : "/c"', "eql")


def marker_module(marker: Path) -> str:
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"


def run_rulelint(args: list[str], cwd: Path, entry: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPT)] if entry == "script" else [sys.executable, "-m", "rulelint"]
    return subprocess.run(cmd + args + ["--no-progress", "--no-reference"], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


# -- imports -------------------------------------------------------------------------------------

def test_eql_plugins_in_the_rules_folder_or_cwd_are_never_imported(tmp_path):
    rules, cwd = tmp_path / "rules", tmp_path / "cwd"
    rules.mkdir(), cwd.mkdir()
    marker = tmp_path / "MARKER"
    for folder in (rules, cwd):
        (folder / "eql_evil.py").write_text(marker_module(marker), encoding="utf-8")
    (rules / "rule.toml").write_text(EQL_RULE, encoding="utf-8")
    (cwd / "local.toml").write_text(EQL_RULE.replace("0000000e1a57", "0000000e1a58"), encoding="utf-8")

    # The control: eql's plugin loader, if it ran with these folders on sys.path, imports the module.
    probe = (f"import sys; sys.path[:0] = [{str(rules)!r}]; import eql.utils; eql.utils.load_extensions(force=True)")
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
    assert marker.exists()
    marker.unlink()

    for entry in ("script", "module"):
        for where in (cwd, rules):
            proc = run_rulelint([str(rules), ".", "--format", "json", "--no-cache"], where, entry,
                                {"PYTHONPATH": str(rules)})
            assert proc.returncode in (0, 1), proc.stderr[-2000:]
            assert not marker.exists(), (entry, where)
            doc = json.loads(proc.stdout)
            assert sum(r["vendor"] == "elastic" for r in doc["rules"]) == 2  # the EQL rules were parsed
            assert not [f for f in doc["findings"] if f["name"] == "parse-error"]


def test_modules_in_the_working_directory_shadow_nothing(tmp_path):
    """`python -m rulelint` run inside a rules repo must not import its yaml.py or lark.py."""
    marker = tmp_path / "MARKER"
    for name in ("yaml", "lark", "networkx", "eql", "sigma", "rich", "tomli"):
        (tmp_path / f"{name}.py").write_text(marker_module(marker), encoding="utf-8")
    (tmp_path / "rule.yml").write_text(sigma("sel"), encoding="utf-8")
    (tmp_path / "rule.toml").write_text(EQL_RULE, encoding="utf-8")
    for entry in ("module", "script"):
        proc = run_rulelint(["."], tmp_path, entry)
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        assert not marker.exists(), entry


# -- YAML ------------------------------------------------------------------------------------------

def test_python_yaml_tags_are_never_constructed(tmp_path):
    marker = tmp_path / "MARKER"
    for i, tag in enumerate([
        f"!!python/object/apply:os.system ['touch {marker}']",
        f"!!python/object/apply:subprocess.call [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
    ]):
        path = tmp_path / f"tag{i}.yml"
        path.write_text(sigma("sel") + f"custom: {tag}\n", encoding="utf-8")
        res = load_file(str(path))
        assert not res.rules and [f.name for f in res.findings] == ["parse-error"], tag
        assert "invalid YAML" in res.findings[0].data["reason"]
        (tmp_path / "macros").mkdir(exist_ok=True)  # macro files are read with the same loader
        (tmp_path / "macros" / f"m{i}.yml").write_text(f"name: m{i}\ndefinition: {tag}\n", encoding="utf-8")
    splunk = tmp_path / "detection.yml"
    splunk.write_text("name: x\nid: abc\ntype: TTP\nsearch: '`m0` `m1` `m2` `m3` a=b'\n", encoding="utf-8")
    assert len(load_file(str(splunk)).rules) == 1
    assert not marker.exists()


def test_every_yaml_loader_in_the_code_is_a_safe_one():
    assert issubclass(_BoundedLoader, yaml.SafeLoader) or issubclass(_BoundedLoader, yaml.CSafeLoader)
    unsafe = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}
    offenders = []
    for path in sorted((REPO / "lint").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "yaml":
                if node.attr in unsafe or node.attr in ("Loader", "FullLoader", "UnsafeLoader", "CLoader",
                                                        "CFullLoader", "CUnsafeLoader"):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} yaml.{node.attr}")
    assert offenders == []


def test_no_code_runs_rule_text():
    """No eval/exec/compile of anything, and imports only of rulelint's own modules."""
    offenders = []
    for path in sorted((REPO / "lint").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                    "eval", "exec", "compile", "__import__"):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {node.func.id}()")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module":
                arg = node.args[0] if node.args else None
                own = isinstance(arg, ast.JoinedStr) and any(
                    isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name) and v.value.id == "__package__"
                    for v in arg.values)
                if not own:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} import_module")
    assert offenders == []


# -- the cache ---------------------------------------------------------------------------------------

class Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("unpickled",))


def test_a_pickle_planted_in_the_cache_folder_is_never_loaded(tmp_path):
    """A rules repo can commit `.rulelint_cache/` (or name any cache-dir in its config):
    its files must be authenticated before unpickling."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "rule.yml").write_text(sigma("sel"), encoding="utf-8")
    (repo / "rule.toml").write_text(EQL_RULE, encoding="utf-8")
    env = {"XDG_CACHE_HOME": str(tmp_path / "home-cache"), "RULELINT_CACHE_DIR": ""}
    first = run_rulelint(["."], repo, "module", env)  # the default ./.rulelint_cache
    assert first.returncode in (0, 1), first.stderr[-2000:]
    cache = repo / ".rulelint_cache"
    planted = [p for p in cache.rglob("*") if p.is_file() and p.suffix in (".pkl", ".bin")]
    assert planted, list(cache.rglob("*"))

    marker = tmp_path / "MARKER"
    payload = pickle.dumps({"x": Evil(str(marker))})
    pickle.loads(payload)  # the control: unpickling it does write the marker
    assert marker.exists()
    marker.unlink()
    forged = SEAL_MAGIC + b"\0" * 32 + payload
    for i, p in enumerate(planted):
        p.write_bytes(payload if i % 2 == 0 else forged)  # unsealed, and sealed with a wrong MAC

    second = run_rulelint(["."], repo, "module", env)
    assert second.returncode == first.returncode, second.stderr[-2000:]
    assert not marker.exists()
    assert "damaged" in second.stderr  # refused and rebuilt, and the user is told
    third = run_rulelint(["."], repo, "module", env)
    assert "warning" not in third.stderr and not marker.exists()


def test_the_cache_key_lives_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    key = Path(key_path())
    assert key.is_relative_to(tmp_path / "xdg")
    from rulelint import cache
    cache._secret.cache_clear()
    try:
        blob = seal(b"payload")
        assert key.is_file() and (key.stat().st_mode & 0o077) == 0  # readable by its owner only
        assert unseal(blob) == b"payload"
        tampered = blob[:-1] + b"X"
        for bad in (tampered, b"payload", blob[:20]):
            try:
                unseal(bad)
            except ValueError:
                continue
            raise AssertionError(f"accepted {bad!r}")
    finally:
        cache._secret.cache_clear()
