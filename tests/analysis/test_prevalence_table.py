"""lint/data/prevalence.json: shape, a few known values, and that it regenerates byte-for-byte."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "lint" / "data" / "prevalence.json"
NOTICE = REPO / "lint" / "data" / "prevalence.NOTICE.txt"
SHARED = Path(os.environ.get("RULELINT_SHARED_PREVALENCE", REPO.parent / "shared" / "prevalence"))
CORPUS = Path(os.environ.get("RULELINT_SHARED_CORPUS", REPO.parent / "shared" / "corpus"))
SOURCES = ("otrf", "sysmon-modular", "sysmon-config", "auditd", "splunk-lookup")


@pytest.fixture(scope="module")
def table() -> dict:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def _generator():
    spec = importlib.util.spec_from_file_location("gen_prevalence", REPO / "tools" / "gen_prevalence.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_prevalence"] = mod  # its worker function is pickled by module name
    spec.loader.exec_module(mod)
    return mod


def test_shape(table):
    assert set(table) == {"provenance", "sources", "excluded"}
    prov = table["provenance"]
    assert prov["generator"] == "tools/gen_prevalence.py"
    assert set(prov["sources"]) == set(SOURCES)
    for meta in prov["sources"].values():
        assert {"repository", "commit", "licence"} <= set(meta)
    otrf = prov["sources"]["otrf"]
    assert otrf["recordings"] > 100 and otrf["events"] > 500_000
    for cat in ("process_creation", "dns_query", "image_load", "registry_set", "file_event", "linux_process"):
        assert table["sources"][cat], cat
    allowed = {"recordings", "events", "running_recordings", "native", "excluded_by"}
    for cat, fields in table["sources"].items():
        for field, values in fields.items():
            assert values, (cat, field)
            for value, entry in values.items():
                assert value == value.casefold() or cat == "linux_process", (cat, field, value)
                assert set(entry) <= allowed, (cat, field, value, entry)
                if "recordings" in entry:
                    assert 1 <= entry["recordings"] <= otrf["recordings"]
                    assert entry["events"] >= entry["recordings"]
                    # pruning: single-recording rarities only when a list names them
                    assert (entry["recordings"] > 1 or entry["events"] >= 5 or "native" in entry
                            or "excluded_by" in entry or cat == "windows_eventlog"), (cat, field, value)
                for by in entry.get("excluded_by", ()):
                    assert by in SOURCES
    for e in table["excluded"]:
        assert {"source", "field", "op", "value", "by"} <= set(e) and e["by"] in SOURCES
    assert {e["by"] for e in table["excluded"]} == {"sysmon-modular", "sysmon-config", "auditd"}
    assert TABLE.stat().st_size < 2_000_000
    notice = NOTICE.read_text(encoding="utf-8")
    for meta in prov["sources"].values():
        assert meta["repository"] in notice and meta["commit"] in notice


def test_common_and_native(table):
    names = table["sources"]["process_creation"]["process.name"]
    for n in ("cmd.exe", "svchost.exe", "conhost.exe"):
        e = names[n]
        assert e["native"] is True
        # created in many recordings, and running in most of them
        assert e["recordings"] >= 30 and e["running_recordings"] >= 50, (n, e)
    assert names["conhost.exe"]["recordings"] >= 50
    for n in ("hostname.exe", "nltest.exe", "systeminfo.exe"):
        assert names[n]["native"] is True  # from the Splunk lookup, whatever the lab saw
    assert "native" not in names.get("payload.exe", {})  # the lab's attack payload is not native
    dns = table["sources"]["dns_query"]["dns.question.registered_domain"]
    assert dns["microsoft.com"]["recordings"] >= 10 and "sysmon-config" in dns["microsoft.com"]["excluded_by"]
    reg = table["sources"]["registry_set"]["registry.path"]
    assert not any("s-1-5-21-" in k for k in reg)  # per-user SIDs normalised
    dirs = table["sources"]["file_event"]["file.directory"]
    assert "c:\\users\\*\\appdata\\local\\temp\\" in dirs
    assert table["sources"]["linux_process"]["process.executable"]["/usr/bin/vmtoolsd"]["excluded_by"] == ["auditd"]
    notes = [e for e in table["excluded"] if e["by"] == "sysmon-config" and e.get("note")]
    assert len(notes) > 100


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} (public prevalence sources) is absent: cannot regenerate")
def test_regenerates_identically():
    # the full pass reads ~650k events from 152 zips; about 10 s on 2 cores
    gen = _generator()
    text = gen.dump(gen.build(SHARED, CORPUS, jobs=min(2, os.cpu_count() or 1)))
    assert text == TABLE.read_text(encoding="utf-8"), "run .venv/bin/python tools/gen_prevalence.py"
