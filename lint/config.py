"""Project configuration: `.rulelint.toml` (top-level keys) or `[tool.rulelint]` in
`pyproject.toml`, found by walking up from the linted path, as ruff and yamllint do.

Every mistake is a ConfigError naming the file, the table, the key and the problem:
a typo in a config file must never silently lint with defaults.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .checks import finding_matches, lookup, token_known
from .findings import SEVERITIES, Finding

CONFIG_NAMES = (".rulelint.toml", "pyproject.toml")  # in order of precedence within one folder
LIST_KEYS = ("corpus", "select", "ignore", "baseline")
STR_KEYS = ("fail-on", "reference", "cache-dir")
TABLE_KEYS = ("options", "per-path-ignores", "per-rule-ignores")
KNOWN_KEYS = LIST_KEYS + STR_KEYS + TABLE_KEYS


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says where and why."""


@dataclass
class Config:
    corpus: list[str] = field(default_factory=list)  # absolute, normalized
    baseline: list[str] = field(default_factory=list)  # event files of ordinary activity; absolute, normalized
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: str | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # check name -> option -> value
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)  # glob (relative to root) -> tokens
    per_rule_ignores: dict[str, list[str]] = field(default_factory=dict)  # rule id -> tokens
    reference: str | None = None  # kept as written
    cache_dir: str | None = None  # absolute, normalized
    source: str | None = None
    root: str = field(default_factory=os.getcwd)

    def ignored_for(self, finding: Finding) -> bool:
        """Whether a per-path or per-rule ignore covers this finding."""
        tokens = self.per_rule_ignores.get(finding.rule_id.lower(), []) if finding.rule_id else []
        if any(finding_matches(finding, t) for t in tokens):
            return True
        if not self.per_path_ignores:
            return False
        rel = os.path.relpath(os.path.abspath(finding.path), self.root).replace(os.sep, "/")
        return any(glob_match(pattern, rel) and any(finding_matches(finding, t) for t in tokens)
                   for pattern, tokens in self.per_path_ignores.items())


# --- glob ---------------------------------------------------------------------------------

def glob_match(pattern: str, rel_path: str) -> bool:
    """Match a `/`-separated path against a glob: `*` and `?` stay within one folder,
    `**` spans folders, a trailing `/` means everything below, and a pattern without
    `/` also matches the file name alone (as in .gitignore and ruff)."""
    pattern = pattern.replace("\\", "/").removeprefix("./")
    if pattern.endswith("/"):
        pattern += "**"
    if _glob_regex(pattern).fullmatch(rel_path):
        return True
    return "/" not in pattern and bool(_glob_regex(pattern).fullmatch(rel_path.rsplit("/", 1)[-1]))


MAX_GLOB_WILDCARDS = 6


def _wildcards(pattern: str) -> int:
    """`*` runs and `?`s in a glob (`**` counts once)."""
    return len(re.findall(r"\*+|\?", pattern))


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more folders
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == n:
            out.append("(?:/.*)?")  # the folder itself and everything below
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out))


# --- finding and loading ------------------------------------------------------------------

def find_config(start: str) -> str | None:
    """The nearest config file at or above `start` (a file or folder): `.rulelint.toml`
    wins over `pyproject.toml` in one folder; a pyproject.toml counts only with a
    `[tool.rulelint]` table."""
    folder = os.path.abspath(start)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    while True:
        candidate = os.path.join(folder, ".rulelint.toml")
        if os.path.isfile(candidate):
            return candidate
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate) and _has_tool_table(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _has_tool_table(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return False
    if "rulelint" not in text:
        return False  # the common case: no need to parse someone else's pyproject
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "[tool.rulelint" in text  # let load_config report the syntax error
    return isinstance(data.get("tool"), dict) and "rulelint" in data["tool"]


def load_config(path: str | None = None, start: str = ".") -> Config:
    """The config from `path` (e.g. --config), or the one found from `start`; defaults
    when there is none. Raises ConfigError on any mistake in the file."""
    if path is None:
        path = find_config(start)
        if path is None:
            folder = os.path.abspath(start)
            return Config(root=folder if os.path.isdir(folder) else os.path.dirname(folder))
    shown = _display(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: invalid TOML: not UTF-8") from None
    root = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("rulelint", {}) if isinstance(tool, dict) else {}
        prefix = "tool.rulelint"
    else:
        table, prefix = data, ""
    if not isinstance(table, dict):
        raise ConfigError(f"{shown}: [{prefix}] must be a table")
    return _Parser(shown, prefix, root).parse(table, source=os.path.abspath(path))


def _display(path: str) -> str:
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel.startswith("..") else rel


class _Parser:
    """Validates one table, collecting every error so the user fixes them in one go."""

    def __init__(self, shown: str, prefix: str, root: str) -> None:
        self.shown, self.prefix, self.root = shown, prefix, root
        self.errors: list[str] = []

    def where(self, sub: str = "") -> str:
        name = ".".join(p for p in (self.prefix, sub) if p)
        return f"{self.shown}: [{name}]" if name else f"{self.shown}:"

    def error(self, sub: str, message: str) -> None:
        self.errors.append(f"{self.where(sub)} {message}")

    def parse(self, table: dict[str, Any], source: str) -> Config:
        values = self.normalize_keys(table)
        cfg = Config(source=source, root=self.root)
        for key in LIST_KEYS:
            if key in values:
                setattr(cfg, key, self.str_list(key, values[key]))
        for key in ("select", "ignore"):
            self.check_tokens("", key, getattr(cfg, key))
        cfg.corpus = [os.path.normpath(os.path.join(self.root, p)) for p in cfg.corpus]
        cfg.baseline = [os.path.normpath(os.path.join(self.root, p)) for p in cfg.baseline]
        for key in STR_KEYS:
            if key in values:
                if isinstance(values[key], str):
                    setattr(cfg, key.replace("-", "_"), values[key])
                else:
                    self.error("", f"'{key}' must be a string, not {_type(values[key])}")
        if cfg.fail_on is not None and cfg.fail_on not in SEVERITIES:
            self.error("", f"'fail-on' must be one of {', '.join(SEVERITIES)}, not {cfg.fail_on!r}")
        if cfg.cache_dir is not None:
            cfg.cache_dir = os.path.normpath(os.path.join(self.root, cfg.cache_dir))
        if "options" in values:
            cfg.options = self.options(values["options"])
        if "per-path-ignores" in values:
            cfg.per_path_ignores = self.ignores("per-path-ignores", values["per-path-ignores"])
        if "per-rule-ignores" in values:
            ignores = self.ignores("per-rule-ignores", values["per-rule-ignores"])
            cfg.per_rule_ignores = {k.lower(): v for k, v in ignores.items()}  # ids compare without case
        if self.errors:
            raise ConfigError("\n".join(self.errors))
        return cfg

    def normalize_keys(self, table: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        unknown = []
        for key, value in table.items():
            canon = key.replace("_", "-")
            if canon not in KNOWN_KEYS:
                unknown.append(key)
            elif canon in values:
                self.error("", f"'{canon}' is given twice (kebab-case and snake_case)")
            else:
                values[canon] = value
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            hint = " (in .rulelint.toml the keys are top-level, without [tool.rulelint])" if "tool" in unknown and not self.prefix else ""
            self.error("", f"unknown key{'s' if len(unknown) > 1 else ''} {names}{hint} (known: {', '.join(KNOWN_KEYS)})")
        return values

    def str_list(self, key: str, value: Any, sub: str = "") -> list[str]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.error(sub, f"'{key}' must be a list of strings, not {_type(value)}")
        return []

    def check_tokens(self, sub: str, key: str, tokens: list[str]) -> None:
        bad = [t for t in tokens if not token_known(t)]
        if bad:
            self.error(sub, f"'{key}' names unknown check{'s' if len(bad) > 1 else ''} "
                            f"{', '.join(repr(t) for t in bad)} (see `rulelint rules`)")

    def ignores(self, sub: str, value: Any) -> dict[str, list[str]]:
        if not isinstance(value, dict):
            self.error("", f"'{sub}' must be a table, not {_type(value)}")
            return {}
        out = {}
        for key, tokens in value.items():
            if sub == "per-path-ignores" and _wildcards(key) > MAX_GLOB_WILDCARDS:
                # Each `*` can backtrack over the others: a repository's config must not
                # be able to stall every run that matches paths against it.
                self.error(sub, f"{key!r} has more than {MAX_GLOB_WILDCARDS} wildcards")
                continue
            out[key] = self.str_list(key, tokens, sub)
            self.check_tokens(sub, key, out[key])
        return out

    def options(self, value: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(value, dict):
            self.error("", f"'options' must be a table, not {_type(value)}")
            return {}
        out: dict[str, dict[str, Any]] = {}
        for key, opts in value.items():
            sub = f"options.{key}"
            check = lookup(key)
            if check is None:
                self.error("options", f"unknown check {key!r} (see `rulelint rules`)")
                continue
            if not isinstance(opts, dict):
                self.error("options", f"'{key}' must be a table, not {_type(opts)}")
                continue
            known = {o.name: o.default for o in check.options}
            for name, given in opts.items():
                if name not in known:
                    listed = f"known: {', '.join(known)}" if known else "it has no options"
                    self.error(sub, f"unknown option {name!r} for {check.name} ({listed})")
                    continue
                coerced = _coerce(given, known[name])
                if coerced is None:
                    self.error(sub, f"option {name!r} for {check.name} must be {_type(known[name])}, "
                                    f"not {_type(given)} ({given!r})")
                    continue
                out.setdefault(check.name, {})[name] = coerced
        return out


def _coerce(value: Any, default: Any) -> Any:
    """The value if it has the default's type (an int is accepted for a float), else None."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None  # bool is an int in Python, never a number here
    if isinstance(default, float):
        return float(value) if isinstance(value, (int, float)) else None
    if isinstance(default, int):
        return value if isinstance(value, int) else None
    if isinstance(default, str):
        return value if isinstance(value, str) else None
    return value  # an option without a simple default type: passed through


def _type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


__all__ = ["Config", "ConfigError", "find_config", "load_config", "glob_match",
           "token_known", "finding_matches"]
