"""Configuration files: where they are found, what they hold, and every mistake named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rulelint.config import Config, ConfigError, find_config, glob_match, load_config
from rulelint.findings import Finding

PYPROJECT = """\
[project]
name = "rules"

[tool.rulelint]
corpus = ["rules/", "../shared/corpus"]
select = ["RL1", "parse-error"]
ignore = ["RL102"]
fail-on = "error"
reference = "origin/main"
cache-dir = ".cache/rulelint"

[tool.rulelint.options.noisy-standalone-indicator]
min_reach = 5
common_share = 1

[tool.rulelint.options.RL102]
min_share = 0.75

[tool.rulelint.per-path-ignores]
"deprecated/**" = ["RL101"]

[tool.rulelint.per-rule-ignores]
"0B6C9A1E-0000-4000-8000-000000000001" = ["missing-common-exclusion"]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def finding(path: str, code: str = "RL101", name: str = "noisy-standalone-indicator", rule_id: str = "") -> Finding:
    return Finding(code=code, name=name, severity="warning", message="m", path=path, line=3, rule_id=rule_id)


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(str(path))
    return str(exc.value)


# --- finding the file ----------------------------------------------------------------------

def test_rulelint_toml_wins_over_pyproject_in_one_folder(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.rulelint]\nselect = ['RL1']\n")
    write(tmp_path / ".rulelint.toml", "select = ['RL0']\n")
    assert find_config(str(tmp_path)) == str(tmp_path / ".rulelint.toml")
    assert load_config(start=str(tmp_path)).select == ["RL0"]


def test_pyproject_counts_only_with_a_tool_rulelint_table(tmp_path):
    write(tmp_path / ".rulelint.toml", "ignore = ['RL102']\n")
    write(tmp_path / "sub" / "pyproject.toml", "[tool.ruff]\nline-length = 100  # not rulelint\n")
    assert find_config(str(tmp_path / "sub")) == str(tmp_path / ".rulelint.toml")
    write(tmp_path / "sub" / "pyproject.toml", "[tool.rulelint]\nignore = ['RL101']\n")
    assert find_config(str(tmp_path / "sub")) == str(tmp_path / "sub" / "pyproject.toml")


def test_walks_up_from_a_file_or_folder(tmp_path):
    write(tmp_path / ".rulelint.toml", "fail-on = 'info'\n")
    rule = write(tmp_path / "rules" / "windows" / "x.yml", "title: x\n")
    assert find_config(str(rule)) == str(tmp_path / ".rulelint.toml")
    assert find_config(str(rule.parent)) == str(tmp_path / ".rulelint.toml")
    assert load_config(start=str(rule)).fail_on == "info"


def test_no_config_gives_defaults(tmp_path):
    (tmp_path / "rules").mkdir()
    cfg = load_config(start=str(tmp_path / "rules"))
    if cfg.source is None:  # unless a folder above the temporary folder holds one
        assert cfg == Config(root=str(tmp_path / "rules"))
        assert not cfg.ignored_for(finding(str(tmp_path / "rules" / "x.yml")))


def test_explicit_path_is_used_as_is(tmp_path):
    write(tmp_path / ".rulelint.toml", "select = ['RL0']\n")
    other = write(tmp_path / "elsewhere" / "lint.toml", "select = ['RL101']\n")
    cfg = load_config(str(other), start=str(tmp_path))
    assert cfg.select == ["RL101"] and cfg.source == str(other) and cfg.root == str(other.parent)


def test_explicit_missing_file_is_an_error(tmp_path):
    assert "cannot read" in error_of(tmp_path / "nope.toml")


# --- what it holds -------------------------------------------------------------------------

def test_pyproject_keys_and_paths_resolved_against_its_folder(tmp_path):
    path = write(tmp_path / "proj" / "pyproject.toml", PYPROJECT)
    cfg = load_config(start=str(tmp_path / "proj"))
    root = str(tmp_path / "proj")
    assert cfg.source == str(path) and cfg.root == root
    assert cfg.corpus == [os.path.join(root, "rules"), str(tmp_path / "shared" / "corpus")]
    assert cfg.select == ["RL1", "parse-error"] and cfg.ignore == ["RL102"]
    assert cfg.fail_on == "error" and cfg.reference == "origin/main"
    assert cfg.cache_dir == os.path.join(root, ".cache", "rulelint")
    # Options keyed by check name, whether given by name or code; an int is a float's value.
    assert cfg.options == {"noisy-standalone-indicator": {"min_reach": 5, "common_share": 1.0},
                           "missing-common-exclusion": {"min_share": 0.75}}
    assert isinstance(cfg.options["noisy-standalone-indicator"]["common_share"], float)
    assert cfg.per_path_ignores == {"deprecated/**": ["RL101"]}


def test_snake_case_keys_are_accepted(tmp_path):
    write(tmp_path / ".rulelint.toml", 'fail_on = "warning"\ncache_dir = "c"\n'
                                       '[per_path_ignores]\n"old/*.yml" = ["RL1"]\n'
                                       '[per_rule_ignores]\n"abc" = ["RL102"]\n')
    cfg = load_config(start=str(tmp_path))
    assert cfg.fail_on == "warning" and cfg.cache_dir == str(tmp_path / "c")
    assert cfg.per_path_ignores == {"old/*.yml": ["RL1"]} and cfg.per_rule_ignores == {"abc": ["RL102"]}


def test_same_key_in_both_spellings_is_an_error(tmp_path):
    msg = error_of(write(tmp_path / ".rulelint.toml", 'fail-on = "info"\nfail_on = "error"\n'))
    assert "'fail-on' is given twice" in msg


# --- mistakes, each named ------------------------------------------------------------------

def test_unknown_option_names_the_file_table_and_known_options(tmp_path):
    path = write(tmp_path / "pyproject.toml", "[tool.rulelint.options.noisy-standalone-indicator]\nmin_rech = 5\n")
    msg = error_of(path)
    assert msg.startswith(str(path) if os.path.relpath(path).startswith("..") else os.path.relpath(path))
    assert "[tool.rulelint.options.noisy-standalone-indicator] unknown option 'min_rech' for noisy-standalone-indicator" in msg
    assert "(known: min_share, native_reach, min_reach, common_share, max_per_rule)" in msg


def test_wrong_option_type_is_an_error(tmp_path):
    path = write(tmp_path / ".rulelint.toml", '[options.RL101]\nmin_reach = "5"\nmax_per_rule = true\n')
    msg = error_of(path)
    assert "[options.RL101] option 'min_reach' for noisy-standalone-indicator must be an integer, not a string" in msg
    assert "option 'max_per_rule' for noisy-standalone-indicator must be an integer, not a boolean" in msg


def test_float_option_refuses_a_string(tmp_path):
    msg = error_of(write(tmp_path / ".rulelint.toml", '[options.missing-common-exclusion]\nmin_share = "half"\n'))
    assert "option 'min_share' for missing-common-exclusion must be a number" in msg


def test_unknown_check_in_options_is_an_error(tmp_path):
    msg = error_of(write(tmp_path / ".rulelint.toml", "[options.noisy-indicator]\nmin_reach = 5\n"))
    assert "[options] unknown check 'noisy-indicator'" in msg


def test_unknown_checks_in_select_and_ignores_are_errors(tmp_path):
    path = write(tmp_path / ".rulelint.toml", 'select = ["RL9", "RL101"]\nignore = ["nope"]\n'
                                              '[per-path-ignores]\n"a/**" = ["RL777"]\n')
    msg = error_of(path)
    assert "'select' names unknown check 'RL9'" in msg
    assert "'ignore' names unknown check 'nope'" in msg
    assert "[per-path-ignores] 'a/**' names unknown check 'RL777'" in msg


def test_all_unknown_top_level_keys_are_named(tmp_path):
    path = write(tmp_path / "pyproject.toml", '[tool.rulelint]\nselct = ["RL1"]\nfail-on = "info"\nfoo = 1\n')
    msg = error_of(path)
    assert "[tool.rulelint] unknown keys 'selct', 'foo'" in msg and "known: corpus, select" in msg


def test_tool_table_in_rulelint_toml_gets_a_hint(tmp_path):
    msg = error_of(write(tmp_path / ".rulelint.toml", "[tool.rulelint]\nselect = ['RL1']\n"))
    assert "unknown key 'tool'" in msg and "keys are top-level" in msg


def test_invalid_toml_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path / "pyproject.toml", "[tool.rulelint]\nselect = [RL1\n")
    assert find_config(str(tmp_path)) == str(path)  # found, so that the error is reported, not skipped
    with pytest.raises(ConfigError, match="pyproject.toml: invalid TOML"):
        load_config(start=str(tmp_path))


@pytest.mark.parametrize("text,expected", [
    ('corpus = "rules"\n', "'corpus' must be a list of strings, not a string"),
    ('select = [1]\n', "'select' must be a list of strings, not a list"),
    ('fail-on = "fatal"\n', "'fail-on' must be one of info, warning, error, not 'fatal'"),
    ('reference = 3\n', "'reference' must be a string, not an integer"),
    ('per-rule-ignores = ["x"]\n', "'per-rule-ignores' must be a table, not a list"),
    ('[options]\nRL101 = 3\n', "[options] 'RL101' must be a table, not an integer"),
])
def test_wrong_value_types_are_errors(tmp_path, text, expected):
    assert expected in error_of(write(tmp_path / ".rulelint.toml", text))


def test_every_error_is_reported_at_once(tmp_path):
    msg = error_of(write(tmp_path / ".rulelint.toml", 'fail-on = "x"\n[options.RL101]\nbad = 1\n'))
    assert len(msg.splitlines()) == 2


# --- ignores -------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern,path,expected", [
    ("deprecated/**", "deprecated/x.yml", True),
    ("deprecated/**", "deprecated/a/b/x.yml", True),
    ("deprecated/**", "rules/deprecated/x.yml", False),
    ("**/deprecated/**", "rules/deprecated/x.yml", True),
    ("**/deprecated/**", "deprecated/x.yml", True),
    ("deprecated/", "deprecated/a/x.yml", True),
    ("rules/*.yml", "rules/x.yml", True),
    ("rules/*.yml", "rules/a/x.yml", False),
    ("rules/**/*.toml", "rules/x.toml", True),
    ("rules/**/*.toml", "rules/a/b/x.toml", True),
    ("*_test.yml", "rules/a/x_test.yml", True),  # no slash: the file name alone
    ("x_[0-9].yml", "x_7.yml", True),
    ("./old/*", "old/x.yml", True),
])
def test_glob(pattern, path, expected):
    assert glob_match(pattern, path) is expected


def test_per_path_ignores_are_relative_to_the_config_folder(tmp_path, monkeypatch):
    write(tmp_path / ".rulelint.toml", '[per-path-ignores]\n"deprecated/**" = ["RL101", "missing-common-exclusion"]\n'
                                       '"**/test_*.yml" = ["RL1"]\n')
    cfg = load_config(start=str(tmp_path))
    old = str(tmp_path / "deprecated" / "win" / "x.yml")
    assert cfg.ignored_for(finding(old))
    assert cfg.ignored_for(finding(old, "RL102", "missing-common-exclusion"))
    assert not cfg.ignored_for(finding(old, "RL001", "parse-error"))
    assert not cfg.ignored_for(finding(str(tmp_path / "rules" / "deprecated" / "x.yml")))
    assert cfg.ignored_for(finding(str(tmp_path / "rules" / "test_x.yml")))
    # Relative finding paths are taken from the working directory, as the loaders give them.
    monkeypatch.chdir(tmp_path)
    assert cfg.ignored_for(finding(os.path.join("deprecated", "win", "x.yml")))


def test_per_rule_ignores_by_rule_id(tmp_path):
    write(tmp_path / "pyproject.toml", PYPROJECT)
    cfg = load_config(start=str(tmp_path))
    rid = "0b6c9a1e-0000-4000-8000-000000000001"  # ids compare without case
    assert cfg.ignored_for(finding("any.yml", "RL102", "missing-common-exclusion", rule_id=rid))
    assert not cfg.ignored_for(finding("any.yml", "RL101", rule_id=rid))
    assert not cfg.ignored_for(finding("any.yml", "RL102", "missing-common-exclusion", rule_id="other"))


def test_a_glob_with_too_many_wildcards_is_refused(tmp_path):
    """`*a*a*a*a*a*a*a*a*b` backtracks exponentially: refused before any path meets it."""
    from rulelint.config import ConfigError, load_config

    cfg = tmp_path / ".rulelint.toml"
    cfg.write_text('[per-path-ignores]\n"*a*a*a*a*a*a*a*a*b" = ["RL101"]\n"rules/**/*.yml" = ["RL102"]\n')
    with pytest.raises(ConfigError, match="more than 6 wildcards"):
        load_config(str(cfg))
