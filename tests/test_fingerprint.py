"""Fingerprints follow what a finding is about, not where it sits or what the corpus counts today."""

from __future__ import annotations

import dataclasses
import shutil

from rulelint.engine import Settings, run
from rulelint.fingerprint import fingerprint, fingerprints, rule_identity, subject
from rulelint.findings import Finding

from .conftest import sigma_rule


def rl101(reach: int, line: int = 9, path: str = "rules/a.yml", value: str = "cmd.exe") -> Finding:
    return Finding(
        code="RL101", name="noisy-standalone-indicator", severity="warning",
        message=f"Image ends_with '\\{value}' ({reach} rules use process.name eq '{value}') stands alone.",
        path=path, line=line, rule_id="r-1", rule_key="r-1",
        data={"indicators": [{"field": "process.name", "op": "eq", "value": value, "reach": reach,
                              "generic": False}], "together": 0, "threshold": 3},
    )


def test_counts_lines_and_folders_do_not_change_a_fingerprint():
    a = rl101(131, line=9, path="rules/a.yml")
    b = rl101(132, line=14, path="moved/elsewhere/a.yml")
    assert fingerprint(a) == fingerprint(b)


def test_a_different_indicator_check_or_rule_does():
    a = rl101(131)
    assert fingerprint(a) != fingerprint(rl101(131, value="powershell.exe"))
    assert fingerprint(a) != fingerprint(dataclasses.replace(a, code="RL999"))
    assert fingerprint(a) != fingerprint(dataclasses.replace(a, rule_id="r-2", rule_key="r-2"))


def test_what_the_rule_lacks_is_evidence_not_identity():
    # RL102's list of missing exclusions grows and shrinks with the peers: still one finding.
    def rl102(missing: list[str], peers: int) -> Finding:
        return Finding("RL102", "missing-common-exclusion", "warning", f"{peers} peer rules ...", "x.yml", 3,
                       "r-1", "r-1", data={"peers": peers, "missing": [
                           {"field": "process.name", "op": "eq", "value": v, "peers": 2} for v in missing]})
    assert fingerprint(rl102(["chrome.exe"], 4)) == fingerprint(rl102(["chrome.exe", "firefox.exe"], 5))


def test_message_fallback_blanks_numbers_and_the_path():
    def bare(message: str, path: str) -> Finding:
        return Finding("RL900", "future-check", "info", message, path, 1, "", "")
    a = bare("rules/x.yml:12 has 131 rules like it.", "rules/x.yml")
    b = bare("other/x.yml:40 has 132 rules like it.", "other/x.yml")
    c = bare("rules/x.yml:12 has 131 rules unlike it.", "rules/x.yml")
    assert subject(a) == {"message": "x.yml:# has # rules like it."}
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_prose_numbers_blanked_but_values_kept():
    def parse_error(reason: str) -> Finding:
        return Finding("RL001", "parse-error", "error", "...", "a.yml", 3, data={"reason": reason})
    assert fingerprint(parse_error("line 3: bad")) == fingerprint(parse_error("line 7: bad"))
    # Digits inside an indicator value are its identity: EventID 4624 is not 4625.
    def event(value: str) -> Finding:
        return Finding("RL101", "n", "warning", "m", "a.yml", 3, "r", "r",
                       data={"indicators": [{"field": "EventID", "op": "eq", "value": value}]})
    assert fingerprint(event("4624")) != fingerprint(event("4625"))


def test_data_that_only_classifies_leaves_the_message_to_tell_findings_apart():
    # Two dead OR-alternatives of one rule, data {"kind": ...} alone: numbering them by
    # position would swap identities when one is removed.
    def dead(value: str, line: int) -> Finding:
        return Finding("RL204", "dead-branch", "warning",
                       f"The OR-alternative requiring process.args contains '{value}' adds nothing.",
                       "x.toml", line, "r", "r", data={"kind": "covered", "covered_by_line": line + 1})
    a, b = dead("curl_exec(", 73), dead("pcntl_exec(", 73)
    assert fingerprints([a, b]) == [fingerprint(a), fingerprint(b)] and fingerprint(a) != fingerprint(b)
    assert fingerprint(dead("curl_exec(", 90)) == fingerprint(a)


def test_explicit_subject_wins():
    a = Finding("RL201", "n", "warning", "m1", "a.yml", 1, "r", "r", data={"subject": "dup-of:r9", "score": 0.4})
    b = Finding("RL201", "n", "warning", "m2", "a.yml", 5, "r", "r", data={"subject": "dup-of:r9", "score": 0.9,
                                                                           "other": "x"})
    assert fingerprint(a) == fingerprint(b)


def test_rule_without_id_is_known_by_file_name_and_position():
    f = Finding("RL101", "n", "warning", "m", "a/b/rule.yml", 1, "", "a/b/rule.yml#2")
    assert rule_identity(f) == "file:rule.yml#2"
    assert rule_identity(dataclasses.replace(f, path="c/rule.yml", rule_key="c/rule.yml#2")) == "file:rule.yml#2"


def test_rule_keys_in_data_lose_their_paths():
    # A duplicate-logic finding naming the other rule by key: id-less keys hold a path.
    def dup(other_key: str, other_path: str) -> Finding:
        return Finding("RL201", "duplicate-logic", "warning", "m", "a.yml", 1, "r", "r",
                       data={"duplicates": [{"key": other_key, "path": other_path, "vendor": "sigma"}]})
    assert fingerprint(dup("x/b.yml#0", "x/b.yml")) == fingerprint(dup("moved/b.yml#0", "moved/b.yml"))
    assert fingerprint(dup("id-7@x/b.yml", "x/b.yml")) == fingerprint(dup("id-7", "y/b.yml"))
    assert fingerprint(dup("x/b.yml#0", "x/b.yml")) != fingerprint(dup("x/c.yml#0", "x/c.yml"))


def test_repeats_are_numbered_in_file_order():
    def unused(line: int) -> Finding:
        return Finding("RL003", "unused-suppression", "warning", f"x.yml:{line} suppresses RL101", "x.yml", line,
                       "r", "r", data={"reason": "unused", "tokens": ["RL101"], "scope": "line"})
    first, second = unused(4), unused(9)
    fps = fingerprints([second, first])
    assert fps[1] == fingerprint(first) and fps[0] == fingerprint(first) + ":2"
    # Lines moving together keep the numbering.
    assert fingerprints([unused(20), unused(30)]) == [fingerprint(first), fingerprint(first) + ":2"]


def test_real_findings_survive_inserted_lines_a_move_and_a_reach_change(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    body = """
        selection:
          Image|endswith: '\\\\cmd.exe'
        condition: selection
    """
    for i in range(4):
        (rules / f"peer{i}.yml").write_text(sigma_rule(f"peer {i}", f"""
            selection:
              Image|endswith: '\\\\cmd.exe'
              CommandLine|contains: 'flag-{i}'
            condition: selection
        """))
    target = rules / "noisy.yml"
    target.write_text(sigma_rule("noisy", body, rule_id="11111111-2222-3333-4444-555555555555"))
    settings = Settings()
    before = [f for f in run([str(rules)], settings=settings).findings if f.code == "RL101"]
    assert len(before) == 1

    # Lines inserted above the finding, the file moved to another folder, one more peer.
    moved = tmp_path / "moved" / "deeper"
    shutil.copytree(rules, moved)
    text = (moved / "noisy.yml").read_text().replace("detection:", "# note\n\n# more\ndetection:")
    (moved / "noisy.yml").write_text(text)
    (moved / "peer9.yml").write_text(sigma_rule("peer 9", """
        selection:
          Image|endswith: '\\\\cmd.exe'
          CommandLine|contains: 'flag-9'
        condition: selection
    """))
    after = [f for f in run([str(moved)], settings=settings).findings if f.code == "RL101"]
    assert len(after) == 1
    assert after[0].line != before[0].line and after[0].message != before[0].message  # really moved and recounted
    assert fingerprint(after[0]) == fingerprint(before[0])
