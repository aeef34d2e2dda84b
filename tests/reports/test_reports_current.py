"""reports/ is what `python tools/gen_reports.py` writes today: regenerate and compare bytes."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO


def _generator():
    spec = importlib.util.spec_from_file_location("gen_reports", REPO / "tools" / "gen_reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_are_current(tmp_path: Path):
    if shutil.which("git") is None:
        pytest.fail("git is needed to build the PR report")
    written = _generator().generate(tmp_path / "reports")
    names = {p.name for p in written}
    assert names == {"T1219.002.md", "T1219.002.html", "T1219.002.json", "corpus.sarif", "pr.md"}
    committed = {p.name for p in (REPO / "reports").iterdir() if p.name != "README.md"}
    assert committed == names, "reports/ holds other files than the generator writes"
    stale = [p.name for p in written if p.read_bytes() != (REPO / "reports" / p.name).read_bytes()]
    assert not stale, f"reports/ is out of date ({', '.join(stale)}): run `python tools/gen_reports.py`"
