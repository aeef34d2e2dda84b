"""Every check's own documentation tells the truth: its `example` makes it fire and its
`use_instead` does not (a prose `use_instead`, advice rather than a rule, is not run).

The examples are snippets (`detection:` alone, or `tags:` + `logsource:` + `detection:`, or a
few lines of an Elastic `[rule]` table), so each is completed into a whole rule file of its
vendor, adding only what it lacks. An example showing several files (a heading comment names
each: `# elastic/.../x.toml`) is judged on its last one; the others join the corpus. Corpus
checks are judged against the `background` rules of their case file (tests/checks/cases/CODE.yml).
"""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml

from rulelint.checks import BY_CODE, CHECKS
from rulelint.engine import run
from rulelint.renderers.docs import example_blocks
from rulelint.settings import Settings

from .test_cases import CASES, _rule_text

SUFFIX = {"yaml": ".yml", "toml": ".toml"}
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.M)
# Detection logic for a snippet that shows only metadata (tags): specific to this rule.
_DETECTION = "detection:\n    selection:\n        CommandLine|contains: 'rulelint-example-marker'\n    condition: selection\n"


def _uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rulelint-example:{name}"))


def sigma_or_splunk_file(snippet: str, name: str) -> str:
    """A Sigma rule (or a Splunk detection, for a snippet with a `search`) from a YAML snippet."""
    have = set(_TOP_KEY.findall(snippet))
    if "search" in have and "detection" not in have:
        head = {"name": name, "id": _uuid(name)}
        return "".join(f"{k}: {v}\n" for k, v in head.items() if k not in have) + snippet + "\n"
    head = {"title": f"title: {name}\n", "id": f"id: {_uuid(name)}\n", "status": "status: test\n",
            "logsource": "logsource:\n    category: process_creation\n    product: windows\n"}
    text = "".join(line for k, line in head.items() if k not in have) + snippet + "\n"
    return text if "detection" in have else text + _DETECTION


def _query_language(query: str) -> tuple[str, str]:
    """(type, language) of an Elastic rule with this query."""
    if re.match(r"\s*(\w+\s+where\b|sequence\b|sample\b)", query):
        return "eql", "eql"
    if re.match(r"\s*from\s", query, re.I):
        return "esql", "esql"
    return "query", "kuery"


def elastic_file(snippet: str, name: str) -> str:
    """An Elastic rule from a TOML snippet: keys of the `[rule]` table (with or without its
    header), completed with a name, a rule_id, the query's type and language, `[metadata]`."""
    body = snippet if re.search(r"^\[rule\]\s*$", snippet, re.M) else "[rule]\n" + snippet
    rule = tomllib.loads(body).get("rule", {})
    defaults: dict[str, str] = {"name": name, "rule_id": _uuid(name)}
    if isinstance(rule.get("query"), str):
        defaults["type"], defaults["language"] = _query_language(rule["query"])
    added = "".join(f"{k} = {json.dumps(v)}\n" for k, v in defaults.items() if k not in rule)
    body = re.sub(r"^\[rule\]\s*\n", lambda m: m.group(0) + added, body, count=1, flags=re.M)
    if not re.search(r"^\[metadata\]\s*$", body, re.M):
        body = '[metadata]\nmaturity = "production"\n\n' + body
    return body + "\n"


def rule_file(lang: str, snippet: str, name: str) -> str:
    return elastic_file(snippet, name) if lang == "toml" else sigma_or_splunk_file(snippet, name)


def _case_file(code: str) -> dict:
    path = CASES / f"{code}.yml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def _background(code: str) -> list[dict]:
    return _case_file(code).get("background", [])


def judge(code: str, text: str, tmp_path: Path):
    """Write the corpus (the case file's background and the example's other files) and the
    example's last file, run the check alone on it: (findings of the check, run result)."""
    blocks = example_blocks(text)
    assert blocks and all(lang for lang, _ in blocks), f"{code}: not a rule snippet:\n{text}"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, r in enumerate(_background(code)):
        # As tests/checks/test_cases.py writes them: Sigma shorthand, or a whole file.
        body = r["file"] if "file" in r else _rule_text(r, f"background {i}")
        (corpus / f"bg_{i}{r.get('suffix', '.yml')}").write_text(body, encoding="utf-8")
    *others, (lang, snippet) = blocks
    for i, (other_lang, other) in enumerate(others):
        (corpus / f"example_{i}{SUFFIX[other_lang]}").write_text(
            rule_file(other_lang, other, f"{code} other rule {i}"), encoding="utf-8")
    # Files the example's folder needs (a Splunk `macros/` or `lookups/` folder): the case file's
    # `example_files`, by path relative to the folder holding the target.
    for rel, body in (_case_file(code).get("example_files") or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body, encoding="utf-8")
    target = tmp_path / f"target{SUFFIX[lang]}"
    target.write_text(rule_file(lang, snippet, f"{code} documented rule"), encoding="utf-8")
    # A check whose example needs lowered bounds says so in the example's first comment
    # and in its case file's `example_options` (RL004: four values against a bound of three).
    options = _case_file(code).get("example_options")
    result = run([str(corpus)], [str(target)],
                 Settings(select=[code], jobs=1, options={BY_CODE[code].name: options} if options else {}))
    found = [f for f in result.findings if f.code == code]
    assert all(f.path == str(target) for f in found)
    return found, result, target


def _runnable(text: str) -> bool:
    return all(lang for lang, _ in example_blocks(text))


EXAMPLES = [pytest.param(c.code, id=c.code) for c in CHECKS]
USE_INSTEAD = [pytest.param(c.code, id=c.code) for c in CHECKS if _runnable(c.use_instead)]


def test_every_example_is_a_rule():
    """The example shows a rule (prose would document nothing the check does); so does every
    `use_instead` except the advice of checks whose fix is not a rewrite of the rule."""
    assert all(_runnable(c.example) for c in CHECKS), [c.code for c in CHECKS if not _runnable(c.example)]
    prose = {c.code for c in CHECKS if not _runnable(c.use_instead)}
    assert prose <= {"RL002", "RL201", "RL202"}, f"use_instead is prose, not a rule: {sorted(prose)}"


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_fires(code, tmp_path):
    check = BY_CODE[code]
    found, result, target = judge(code, check.example, tmp_path)
    text = target.read_text(encoding="utf-8")
    assert found, f"{code} does not fire on its documented example:\n{text}"
    if check.name != "parse-error":  # the example loads; it is its logic the check reports
        assert len(result.targets) == 1, f"the example of {code} does not load as one rule:\n{text}"


@pytest.mark.parametrize("code", USE_INSTEAD)
def test_use_instead_is_clean(code, tmp_path):
    found, result, target = judge(code, BY_CODE[code].use_instead, tmp_path)
    text = target.read_text(encoding="utf-8")
    assert len(result.targets) == 1, f"the use_instead of {code} does not load as one rule:\n{text}"
    assert not found, f"{code} fires on its documented use_instead: {[f.message for f in found]}\n{text}"
