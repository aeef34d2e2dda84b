"""The overlap and dead-logic checks (RL201-RL204) on the real corpus of the three vendors:
they fire on rules known to overlap or hold dead logic, and stay within bounds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rulelint.analysis.implication import SINGLE_VALUED_FIELDS, SINGLE_VALUED_NATIVE
from rulelint.engine import Settings, run


@pytest.fixture(scope="module")
def logic_run(shared_corpus: Path):
    return run([str(shared_corpus)], settings=Settings(select=["RL2"]))


def _found(result, code: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in result.findings:
        if f.code == code:
            out.setdefault(f.path, []).append(f)
    return out


def _at(found: dict[str, list], tail: str) -> list:
    return next((fs for path, fs in found.items() if path.endswith(tail)), [])


def test_a_translation_into_another_vendor_is_a_duplicate(logic_run):
    dups = _found(logic_run, "RL201")
    # Splunk's fodhelper rule is Sigma's: the parent process name alone.
    fs = _at(dups, "splunk/detections/endpoint/fodhelper_uac_bypass.yml")
    assert fs and fs[0].related[0].path.endswith("proc_creation_win_uac_bypass_fodhelper.yml")
    assert "process.parent.name eq 'fodhelper.exe'" in fs[0].message
    for path, fs in dups.items():
        for f in fs:
            other = f.related[0].path
            assert other != path
            # Both are judged here: the later path carries the finding.
            assert other < path


def test_a_narrower_specialization_is_subsumed(logic_run):
    subsumed = _found(logic_run, "RL202")
    fs = _at(subsumed, "sigma/rules/windows/process_creation/proc_creation_win_certutil_encode_susp_location.yml")
    assert fs and any(r.path.endswith("proc_creation_win_certutil_encode.yml") for r in fs[0].related)
    assert all(f.severity == "info" for fs in subsumed.values() for f in fs)
    # Specializations are common in a corpus, but far from every rule is one.
    assert 0 < len(subsumed) < len(logic_run.targets) // 10


def test_dead_alternatives_of_real_rules(logic_run):
    dead = _found(logic_run, "RL204")
    # `1 of selection_parent_* and selection_parent_ext`: the other parent selections add nothing.
    fs = _at(dead, "proc_creation_win_pua_pingcastle_script_parent.yml")
    assert fs and all("the rule requires that anyway" in f.message for f in fs)
    # A bare "/" among wildcard patterns can never equal a command line that must contain `id_rsa`.
    fs = _at(dead, "discovery_private_key_password_searching_activity.toml")
    assert fs and "can never match" in fs[0].message and "process.command_line eq '/'" in fs[0].message


def test_contradictions_only_on_single_valued_fields(logic_run):
    # The public rules are tested: no rule of theirs contradicts itself as a whole, and
    # whatever is reported must rest on a field that holds one value per event.
    found = [f for fs in _found(logic_run, "RL203").values() for f in fs]
    assert len(found) <= 3
    for f in found:
        for field in f.data["tests"]:
            assert field in SINGLE_VALUED_FIELDS or field.casefold() in SINGLE_VALUED_NATIVE


def test_messages_are_bounded(logic_run):
    by_code = Counter(f.code for f in logic_run.findings)
    assert {"RL201", "RL202", "RL204"} <= set(by_code)
    assert all(len(f.message) < 700 for f in logic_run.findings)
