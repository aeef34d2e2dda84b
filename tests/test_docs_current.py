"""docs/checks.md and README.md's check table are what `python tools/gen_docs.py` writes
from the check registry today: regenerate in memory and compare."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def _generator():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "tools" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_docs_are_current():
    gen = _generator()
    files = gen.expected()
    assert set(files) == {REPO / "docs" / "checks.md", REPO / "README.md"}
    stale = [str(p.relative_to(REPO)) for p in gen.stale(files)]
    assert not stale, f"{', '.join(stale)} out of date: run `python tools/gen_docs.py`"


def test_every_check_is_documented():
    """Each check has its section with every documentation heading, its examples fenced in
    their language (yaml: Sigma, Splunk; toml: Elastic), and a row in the README table."""
    from rulelint.renderers.docs import example_blocks

    gen = _generator()
    page = (REPO / "docs" / "checks.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index(gen.START):readme.index(gen.END)]
    for c in gen.CHECKS:
        head = f"\n## {c.code} {c.name}\n"
        assert head in page, f"{c.code} has no section in docs/checks.md"
        section = page.split(head, 1)[1].split("\n## ", 1)[0]
        for title in ("What it does", "Why it matters", "Example", "Use instead", "Options"):
            assert f"\n### {title}\n" in section, f"{c.code}: no {title!r}"
        assert f"Default severity: **{c.severity}**. Scope: `{c.scope}`" in section
        for lang, block in example_blocks(c.example) + example_blocks(c.use_instead):
            assert (f"```{lang}\n{block}\n```" if lang else block) in section
        assert f"| `{c.name}` | {gen._cell(c.summary)} |" in table, f"{c.code} missing from the README table"
