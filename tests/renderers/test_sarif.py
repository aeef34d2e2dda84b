"""SARIF output: valid against the official SARIF 2.1.0 schema, and faithful to the findings."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema  # a test dependency (pyproject `test` extra)
import pytest

from rulelint.checks import CHECKS
from rulelint.engine import Settings, run
from rulelint.fingerprint import fingerprints
from rulelint.findings import Finding, Related
from rulelint.renderers import RENDERERS
from rulelint.renderers.sarif import FINGERPRINT_KEY, SRCROOT, artifact_location, sarif_log

from ..conftest import REPO

SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def validate(log: dict) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def test_the_schema_rejects_what_it_should():
    # A broken log must fail, or passing proves nothing.
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"level": "loud"}]}]}
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(bad))


@pytest.fixture(scope="module")
def corpus_run():
    return run([str(REPO / "corpus")], settings=Settings())


def test_our_corpus_gives_a_valid_log(corpus_run):
    log = sarif_log(corpus_run, root=str(REPO))
    validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == len(corpus_run.findings) > 0
    assert {r["ruleId"] for r in results} >= {"RL001", "RL101", "RL102"}


def test_results_point_at_their_rule_file_and_line(corpus_run):
    log = sarif_log(corpus_run, root=str(REPO), describe_root=False)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules[:len(CHECKS)]] == [c.code for c in CHECKS]
    assert "originalUriBaseIds" not in run_  # reproducible wherever the repository lives
    for f, r, fp in zip(corpus_run.findings, run_["results"], fingerprints(corpus_run.findings)):
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"] == f.code
        assert r["level"] == {"error": "error", "warning": "warning", "info": "note"}[f.severity]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == SRCROOT
        uri = loc["artifactLocation"]["uri"]
        assert uri.startswith("corpus/") and (REPO / uri).is_file()
        assert loc.get("region", {}).get("startLine") == f.line
        assert r["partialFingerprints"][FINGERPRINT_KEY] == fp
        assert r["properties"]["rule_id"] == f.rule_id and r["properties"]["data"] == json.loads(json.dumps(f.data))
        assert len(r.get("relatedLocations", [])) == len(f.related)
    assert len({r["partialFingerprints"][FINGERPRINT_KEY] for r in run_["results"]}) == len(run_["results"])


def test_rule_descriptors_carry_the_documentation():
    log = sarif_log(run([str(REPO / "corpus" / "sigma" / "dns_query")], settings=Settings()))
    by_id = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    rl102 = by_id["RL102"]
    assert rl102["name"] == "missing-common-exclusion"
    assert rl102["defaultConfiguration"]["level"] == "warning"
    assert "## What it does" in rl102["help"]["markdown"] and "Why it matters:" in rl102["help"]["text"]
    assert by_id["RL002"]["defaultConfiguration"]["level"] == "note"
    assert log["runs"][0]["originalUriBaseIds"][SRCROOT]["uri"].startswith("file:///")


def test_locations_outside_the_root_and_upstream_rules(tmp_path):
    root = str(tmp_path / "root")
    assert artifact_location(str(tmp_path / "root" / "a b.yml"), root) == {"uri": "a%20b.yml", "uriBaseId": SRCROOT}
    assert artifact_location(str(tmp_path / "else.yml"), root)["uri"].startswith("file:///")
    commits = {"SigmaHQ/sigma": "8eaafff1f2845a696050e05e72ba1140ee190698"}
    upstream = artifact_location("SigmaHQ/sigma:rules/windows/a b.yml", root, commits)
    assert upstream == {"uri": "https://github.com/SigmaHQ/sigma/blob/8eaafff1f2845a696050e05e72ba1140ee190698"
                               "/rules/windows/a%20b.yml"}
    # A source whose commit is unknown still links to the file, at the default branch.
    assert artifact_location("elastic/detection-rules:rules/x.toml", root, commits) == {
        "uri": "https://github.com/elastic/detection-rules/blob/HEAD/rules/x.toml"}


def test_reference_peers_link_to_github_at_the_indexed_commit(tmp_path, capsys):
    """Peers from the bundled reference index are absolute GitHub links, cold and from the cache."""
    import json as _json

    from rulelint.cli.main import main
    from rulelint.reference import BUNDLED, read, upstream_commits

    if not BUNDLED.is_file():
        pytest.fail("the bundled reference index is missing")
    commits = upstream_commits(read(BUNDLED)[1])
    assert set(commits) == {"SigmaHQ/sigma", "elastic/detection-rules", "splunk/security_content"}
    # Its technique tag is unusual for its indicators: RL303 names reference peers.
    import shutil

    for example in ("sigma/file_event/file_event_lnx_cron_job_written.yml",
                    "elastic/persistence_cron_folder_file_creation.toml"):
        shutil.copy(REPO / "corpus" / example, tmp_path)
    rule = tmp_path
    uris = []
    for _ in range(2):  # the second run is answered from the cache
        main([str(rule), "--format", "sarif", "--no-progress", "--cache-dir", str(tmp_path.parent / "c")])
        log = _json.loads(capsys.readouterr().out)
        uris.append(sorted(l["physicalLocation"]["artifactLocation"]["uri"]
                           for r in log["runs"][0]["results"] for l in r.get("relatedLocations", [])
                           if not l["physicalLocation"]["artifactLocation"]["uri"].startswith("file:")))
    assert uris[0] and uris[0] == uris[1]
    assert all(re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/\S+", u) for u in uris[0]), uris[0][:3]


def test_odd_findings_still_validate(corpus_run, tmp_path):
    # A finding with no line, no rule, an unregistered code, odd data and text.
    odd = Finding("RL999", "future-check", "info", "odd \x1b[31m<b>@x</b>\n", str(tmp_path / "x.yml"), None,
                  data={"set": {1, 2}, "obj": object(), "nested": {"k": [1.5, None]}},
                  related=[Related("SigmaHQ/sigma:rules/x.yml", 4, "peer"), Related(str(tmp_path / "y.yml"), None, "p")])
    corpus_run_odd = type(corpus_run)(**{**corpus_run.__dict__, "findings": [odd]})
    log = sarif_log(corpus_run_odd, root=str(tmp_path))
    validate(log)
    r = log["runs"][0]["results"][0]
    assert log["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == "RL999"
    assert "region" not in r["locations"][0]["physicalLocation"]


def test_registered_and_written_by_the_cli(corpus_run):
    out = io.StringIO()
    RENDERERS["sarif"](corpus_run, out)
    validate(json.loads(out.getvalue()))


def test_a_slice_of_the_shared_corpus_gives_a_valid_log(shared_corpus: Path):
    # About 750 rules of the three vendors: real-world text and both corpus checks.
    folders = [shared_corpus / "sigma" / "rules" / "windows" / "dns_query",
               shared_corpus / "sigma" / "rules" / "windows" / "network_connection",
               shared_corpus / "sigma" / "rules" / "linux",
               shared_corpus / "elastic" / "rules" / "network",
               shared_corpus / "elastic" / "rules" / "linux",
               shared_corpus / "splunk" / "detections" / "network"]
    result = run([str(f) for f in folders if f.is_dir()], settings=Settings())
    log = sarif_log(result, root=str(shared_corpus))
    validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == len(result.findings) >= 20
    assert {"RL101", "RL102"} <= {r["ruleId"] for r in results}
    assert all(not r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(("/", "file:"))
               for r in results)
