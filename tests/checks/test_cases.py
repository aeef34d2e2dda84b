"""Pass/fail cases of every check, one YAML file per code (tests/checks/cases/CODE.yml).

File format::

    background:            # optional: rules of the corpus every case is judged against
      - title: ...         # Sigma shorthand (title, category, tags, detection) ...
        detection: |
          ...
      - file: |            # ... or a whole file of any vendor,
          ...
        suffix: .toml      # written with this suffix (default .yml)
    cases:
      - name: what the case shows
        findings: [[RL101, 9]]   # required: every finding of the selected codes, as [code, line]
        rule: {...}        # Sigma shorthand of the target, or
        file: |            # the whole target file (with `suffix` as above)
        also_run: [RL001]  # optional: codes selected beside the file's own
        options: {...}     # optional: options of the file's own check
        severity: warning  # optional: severity of its own findings (default: the check's)
        message: [...]     # optional: substrings the joined messages of its own findings hold
        message_absent: [...]  # optional: substrings they must not hold
        files:             # optional: more files beside the target, by path relative to the folder
          macros/x.yml: |  # that holds the target and the corpus folder (a Splunk `macros/` or
            ...            # `lookups/` folder found from the target's folder upwards)

`findings` pins the whole multiset: the sorted (code, line) pairs of the findings of the file's
own code and every `also_run` code must equal it exactly, so a finding that goes missing, doubles
or moves fails the case. A case passes its check when `findings` holds none of the file's own
code (`findings: []`) and fails it otherwise; there is no separate `expect`. Lines count from 1
in the target file; a Sigma shorthand rule is laid out by tests.conftest.sigma_rule (title, id,
status, tags, logsource, detection), so with no tags its first detection line is line 8.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rulelint.checks import CHECKS, BY_CODE
from rulelint.engine import Settings, run

from ..conftest import sigma_rule

CASES = Path(__file__).parent / "cases"
CASE_KEYS = {"name", "findings", "rule", "file", "suffix", "also_run", "options", "severity", "message",
             "message_absent", "files"}


def _cases():
    for path in sorted(CASES.glob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            yield pytest.param(path.stem, spec.get("background", []), case, id=f"{path.stem}: {case['name']}")


def _rule_text(r: dict, title: str) -> str:
    return sigma_rule(r.get("title", title), r["detection"], category=r.get("category", "process_creation"),
                      tags=tuple(r.get("tags", ())))


def _pairs(pairs) -> list[tuple[str, int | None]]:
    """(code, line) pairs in a stable order (a finding without a line sorts first)."""
    return sorted(((c, n) for c, n in pairs), key=lambda p: (p[0], p[1] is not None, p[1] or 0))


def expected_findings(case: dict, codes: list[str]) -> list[tuple[str, int | None]]:
    """The case's pinned `findings`, checked for shape."""
    assert "findings" in case, "every case pins its findings: `findings: [[CODE, line], ...]` or `[]`"
    pinned = case["findings"]
    assert isinstance(pinned, list) and all(
        isinstance(p, list) and len(p) == 2 and p[0] in codes and (p[1] is None or type(p[1]) is int)
        for p in pinned), f"`findings` must be [[code, line], ...] with a code among {codes}: {pinned!r}"
    return _pairs(tuple(p) for p in pinned)


def test_every_check_has_cases():
    assert {p.stem for p in CASES.glob("*.yml")} == {c.code for c in CHECKS}


@pytest.mark.parametrize("code,background,case", list(_cases()))
def test_case(code, background, case, tmp_path):
    assert set(case) <= CASE_KEYS, f"unknown keys {sorted(set(case) - CASE_KEYS)} (see the module docstring)"
    check = BY_CODE[code]
    # A case may run more checks than its own (unused suppressions need the check they name).
    codes = [code, *case.get("also_run", [])]
    expected = expected_findings(case, codes)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, r in enumerate(background):
        # A background rule is Sigma detection shorthand, or a whole file of any vendor.
        text = r["file"] if "file" in r else _rule_text(r, f"background {i}")
        (corpus / f"bg_{i}{r.get('suffix', '.yml')}").write_text(text, encoding="utf-8")
    for rel, body in (case.get("files") or {}).items():
        extra = tmp_path / rel
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(body, encoding="utf-8")
    target = tmp_path / f"target{case.get('suffix', '.yml')}"
    target.write_text(case["file"] if "file" in case else _rule_text(case["rule"], "case rule"), encoding="utf-8")
    options = {check.name: case.get("options", {})}
    if check.name != "noisy-standalone-indicator" and "options" in case:
        options["noisy-standalone-indicator"] = {}
    settings = Settings(select=codes, options=options, jobs=1)
    result = run([str(corpus)], [str(target)], settings)
    selected = [f for f in result.findings if f.code in codes]
    found = [f for f in selected if f.code == code]
    messages = " | ".join(f.message for f in found)
    got = _pairs((f.code, f.line) for f in selected)
    assert got == expected, f"findings {got} != pinned {expected}; messages: {messages}"
    for f in selected:
        assert f.path == str(target) and f.name == BY_CODE[f.code].name
    for f in found:
        # A check may grade some findings below its default (RL301: revoked ids are warnings).
        assert f.severity == case.get("severity", check.severity)
    for text in case.get("message", []):
        assert text in messages, f"{text!r} not in {messages!r}"
    for text in case.get("message_absent", []):
        assert text not in messages
