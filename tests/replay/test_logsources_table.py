"""Sigma Windows log source -> (channel, EventIDs) table: reproducible, and covering the corpus."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "lint" / "replay" / "logsources.json"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
COMMON = 20  # a category at least this many windows rules in sigma/rules use must be covered


def _table() -> dict:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_logsources", REPO / "tools" / "gen_logsources.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def gen():
    for module in ("sigma.pipelines.sysmon", "sigma.pipelines.windows"):
        pytest.importorskip(module, reason=f"{module} not installed (pip install -e '.[test]'): "
                                           "cannot regenerate lint/replay/logsources.json")
    return _load_generator()


def test_generator_reproduces_checked_in_table(gen):
    checked_in = TABLE.read_text(encoding="utf-8")
    assert gen.render(gen.build()) == checked_in, "regenerate: .venv/bin/python tools/gen_logsources.py"


def test_process_creation_is_sysmon_1_and_security_4688():
    pairs = {p["channel"]: p["event_ids"] for p in _table()["categories"]["process_creation"]}
    assert 1 in pairs[SYSMON]
    assert 4688 in pairs["Security"]


def test_table_shape():
    data = _table()
    assert set(data) == {"provenance", "categories", "services"}
    assert set(data["provenance"]) == {"generator", "packages", "supplement"}
    for pairs in data["categories"].values():
        assert pairs == sorted(pairs, key=lambda p: p["channel"])
        for pair in pairs:
            assert set(pair) == {"channel", "event_ids"}
            assert pair["event_ids"] and pair["event_ids"] == sorted(set(pair["event_ids"]))
            assert all(isinstance(e, int) for e in pair["event_ids"])
    # every channel a category names is some service's channel
    channels = {c for cs in data["services"].values() for c in cs}
    assert {p["channel"] for ps in data["categories"].values() for p in ps} <= channels


def _windows_categories(root: Path) -> Counter:
    """How many `product: windows` rules under root use each logsource category."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    counts: Counter = Counter()
    for path in root.rglob("*.yml"):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
            logsource = doc.get("logsource") if isinstance(doc, dict) else None
            if isinstance(logsource, dict) and logsource.get("product") == "windows" and logsource.get("category"):
                counts[logsource["category"]] += 1
    return counts


def test_common_corpus_categories_are_covered(shared_corpus):
    rules = shared_corpus / "sigma" / "rules"
    if not rules.is_dir():
        pytest.skip(f"Sigma rules folder not found at {rules}")
    categories = _windows_categories(rules)
    common = {c for c, n in categories.items() if n >= COMMON}
    assert "process_creation" in common  # the count itself works
    assert sorted(common - set(_table()["categories"])) == []


def test_supplement_is_refused_once_a_pipeline_gives_it(gen, monkeypatch):
    monkeypatch.setattr(gen, "SUPPLEMENT_CATEGORIES", [("process_creation", "Security", (4688,))])
    with pytest.raises(SystemExit, match="the pipelines give it now"):
        gen.build()


def test_supplement_entries_are_added_and_listed(gen, monkeypatch):
    monkeypatch.setattr(gen, "SUPPLEMENT_CATEGORIES", [("file_delete", SYSMON, (26,))])
    monkeypatch.setattr(gen, "SUPPLEMENT_SERVICES", [("iis-configuration", ("Microsoft-IIS-Configuration/Operational",))])
    data = gen.build()
    assert {"channel": SYSMON, "event_ids": [23, 26]} in data["categories"]["file_delete"]
    assert data["services"]["iis-configuration"] == ["Microsoft-IIS-Configuration/Operational"]
    assert data["provenance"]["supplement"] == [
        f"category file_delete: {SYSMON} EventID 26",
        "service iis-configuration: Microsoft-IIS-Configuration/Operational",
    ]
