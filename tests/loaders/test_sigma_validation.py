"""pySigma's own validators, run by the Sigma loader (lint/loaders/sigma_validation.py):
the mapping is complete and documented, nothing is downloaded, a failing validator costs
the rule nothing, and the issues are noted in the rule, not reported as load failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sigma.validators.core import validators

import rulelint.loaders.sigma_validation as sv
from rulelint.checks import BY_CODE
from rulelint.engine import run
from rulelint.loaders import load_file
from rulelint.loaders.sigma import load_sigma_text
from rulelint.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "pysigma-validators.md"

RULE = """\
title: Certutil decodes a payload
status: test
tags:
    - attack.defense_evasion
    - attack.t1140
    - attack.t1140
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\certutil.exe'
        CommandLine|contains: ' -decode '
    condition: selection
"""


def _doc_rows() -> dict[str, str]:
    """validator -> its `in rulelint` cell, from the table of every validator."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|[^|]*\|\s*(.+?)\s*\|$", line)
        if m and m.group(2) in {"condition", "logsources", "metadata", "modifiers", "tags", "values"}:
            rows[m.group(1)] = m.group(3)
    return rows


def test_every_installed_validator_is_mapped_once():
    installed = set(validators)
    run_, covered, not_run = set(sv.GROUP_OF), set(sv.COVERED), set(sv.NOT_RUN)
    assert not (run_ & covered) and not (run_ & not_run) and not (covered & not_run)
    assert installed == run_ | covered | not_run, (
        f"pySigma validators without a rulelint mapping: {sorted(installed - run_ - covered - not_run)}; "
        f"mapped but not installed: {sorted((run_ | covered | not_run) - installed)}")


def test_every_installed_validator_is_in_the_docs_table():
    rows = _doc_rows()
    assert set(rows) == set(validators), f"missing from docs/pysigma-validators.md: {sorted(set(validators) - set(rows))}"
    for ident, cell in rows.items():
        if ident in sv.GROUP_OF:
            code = sv.GROUP_OF[ident]
            assert cell.startswith(f"{code} {sv.GROUPS[code][0]}"), (ident, cell)
        elif ident in sv.COVERED:
            code = sv.COVERED[ident][0]
            assert cell.startswith(f"covered by {code} {BY_CODE[code].name}"), (ident, cell)
        else:
            assert cell.startswith("not run: "), (ident, cell)


def test_covering_checks_exist_and_groups_are_registered():
    for code, _why in [*sv.COVERED.values(), *sv.COVERED_ISSUES.values()]:
        assert code in BY_CODE, f"{code} is said to cover a pySigma validator but is no check"
    for code, (name, severity, idents) in sv.GROUPS.items():
        check = BY_CODE[code]
        assert (check.name, check.severity) == (name, severity)
        for ident in idents:
            assert ident in check.what_it_does, f"{code} does not document {ident}"


def _notes(text: str, path: str = "proc_creation_win_certutil_decode.yml") -> list[tuple]:
    result = load_sigma_text(path, text)
    assert result.findings == [] and len(result.rules) == 1  # the rule loads
    return list(result.rules[0].extra.get(sv.NOTES, ()))


def test_notes_point_at_the_tags_and_name_the_validator():
    notes = _notes(RULE)
    got = sorted((code, line, ident) for code, ident, _i, _s, line, _m in notes)
    assert got == [("RL401", 1, "identifier_existence"), ("RL403", 4, "attacktag"), ("RL403", 6, "duplicate_tag")]
    for _code, ident, _issue, _sev, _line, message in notes:
        assert message.endswith(f"(pySigma validator {ident}).")


def test_a_clean_rule_notes_nothing():
    clean = RULE.replace("title:", "id: 0b6c1d7e-0a57-4a44-9d0e-3c1f1a9b4098\ntitle:").replace(
        "    - attack.defense_evasion\n", "    - attack.defense-evasion\n").replace("    - attack.t1140\n", "", 1)
    assert sv.NOTES not in load_sigma_text("proc_creation_win_certutil_decode.yml", clean).rules[0].extra


def test_no_download_the_attack_validator_reads_the_bundled_data(monkeypatch):
    from sigma.data import mitre_attack, mitre_d3fend

    def refuse(*_a, **_k):
        raise AssertionError("pySigma's ATT&CK/D3FEND loader was called")

    monkeypatch.setattr(mitre_attack, "_load_mitre_attack_data", refuse)
    monkeypatch.setattr(mitre_d3fend, "_load_mitre_d3fend_data", refuse)
    monkeypatch.setattr(sv, "_validators", None)  # built afresh under the patch
    text = RULE.replace("    - attack.t1140\n    - attack.t1140\n", "    - attack.t1140\n    - d3fend.d3-pa\n")
    assert [ident for code, ident, *_ in _notes(text) if code == "RL403"] == ["attacktag"]


def test_a_failing_validator_costs_the_rule_nothing(monkeypatch):
    real = sv._make_validators()

    class Broken:
        def validate(self, rule):
            raise RuntimeError("boom")

    monkeypatch.setattr(sv, "_validators", [("identifier_existence", Broken()),
                                            ("duplicate_tag", real["duplicate_tag"])])
    assert [ident for _c, ident, *_ in _notes(RULE)] == ["duplicate_tag"]


def test_filename_length_is_off_until_asked(tmp_path):
    short = tmp_path / "c.yml"
    short.write_text(RULE.replace("title:", "id: 0b6c1d7e-0a57-4a44-9d0e-3c1f1a9b4099\ntitle:"), encoding="utf-8")
    assert len(load_file(str(short)).rules) == 1
    quiet = run([str(tmp_path)], settings=Settings(select=["RL401"], jobs=1))
    assert quiet.findings == []
    loud = run([str(tmp_path)], settings=Settings(select=["RL401"], jobs=1,
                                                   options={"sigma-metadata": {"exclude": []}}))
    [f] = loud.findings
    assert f.data["validator"] == "filename_length" and "`c.yml` is 5 characters" in f.message


def test_issues_are_not_load_failures(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "proc_creation_win_certutil_decode.yml").write_text(RULE, encoding="utf-8")
    target = tmp_path / "proc_creation_win_certutil_decode_copy.yml"
    target.write_text(RULE.replace("title: Certutil", "title: Copied certutil"), encoding="utf-8")
    result = run([str(corpus)], [str(target)], Settings(jobs=1, select=["RL4"]))
    assert {f.data["validator"] for f in result.findings} == {"identifier_existence", "attacktag", "duplicate_tag"}
    assert all(f.path == str(target) for f in result.findings)
    assert result.corpus_errors == 0 and len(result.targets) == 1


@pytest.mark.parametrize("ident", sorted(sv.GROUP_OF))
def test_each_run_validator_is_instantiated(ident):
    assert ident in sv._make_validators()
