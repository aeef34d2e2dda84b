"""Pass/fail cases of every check, one YAML file per code (tests/checks/cases/CODE.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rulelint.checks import CHECKS, BY_CODE
from rulelint.engine import Settings, run

from ..conftest import sigma_rule

CASES = Path(__file__).parent / "cases"


def _cases():
    for path in sorted(CASES.glob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            yield pytest.param(path.stem, spec.get("background", []), case, id=f"{path.stem}: {case['name']}")


def _rule_text(r: dict, title: str) -> str:
    return sigma_rule(r.get("title", title), r["detection"], category=r.get("category", "process_creation"),
                      tags=tuple(r.get("tags", ())))


def test_every_check_has_cases():
    assert {p.stem for p in CASES.glob("*.yml")} == {c.code for c in CHECKS}


@pytest.mark.parametrize("code,background,case", list(_cases()))
def test_case(code, background, case, tmp_path):
    check = BY_CODE[code]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, r in enumerate(background):
        # A background rule is Sigma detection shorthand, or a whole file of any vendor.
        text = r["file"] if "file" in r else _rule_text(r, f"background {i}")
        (corpus / f"bg_{i}{r.get('suffix', '.yml')}").write_text(text, encoding="utf-8")
    target = tmp_path / f"target{case.get('suffix', '.yml')}"
    target.write_text(case["file"] if "file" in case else _rule_text(case["rule"], "case rule"), encoding="utf-8")
    options = {check.name: case.get("options", {})}
    if check.name != "noisy-standalone-indicator" and "options" in case:
        options["noisy-standalone-indicator"] = {}
    # A case may run more checks than its own (unused suppressions need the check they name).
    settings = Settings(select=[code, *case.get("also_run", [])], options=options, jobs=1)
    result = run([str(corpus)], [str(target)], settings)
    found = [f for f in result.findings if f.code == code]
    messages = " | ".join(f.message for f in found)
    if case["expect"] == "fail":
        assert found, f"expected {code} to fire"
        for text in case.get("message", []):
            assert text in messages, f"{text!r} not in {messages!r}"
        if "line" in case:
            assert found[0].line == case["line"]
        for f in found:
            # A check may grade some findings below its default (RL301: revoked ids are warnings).
            assert f.path == str(target) and f.name == check.name and f.severity == case.get("severity", check.severity)
    else:
        assert not found, f"expected no {code}, got: {messages}"
    for text in case.get("message_absent", []):
        assert text not in messages
