"""Shared fixtures: the reference corpus location and small rule builders."""

from __future__ import annotations

import os
import textwrap
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = Path(os.environ.get("RULELINT_SHARED_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_repo(tmp_path_factory):
    """CLI runs in tests write their cache to a temporary folder, never the checkout."""
    os.environ["RULELINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("rulelint-cache"))
    yield


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not (SHARED_CORPUS / "sigma").is_dir():
        pytest.skip(f"reference corpus not found at {SHARED_CORPUS} (set RULELINT_SHARED_CORPUS)")
    return SHARED_CORPUS


def sigma_rule(title: str, detection: str, *, category: str = "process_creation", product: str = "windows",
               tags: tuple[str, ...] = (), rule_id: str | None = None, extra: str = "") -> str:
    """A Sigma rule with the given detection block (indented YAML body)."""
    tag_block = "".join(f"    - {t}\n" for t in tags)
    return (
        f"title: {title}\n"
        f"id: {rule_id or uuid.uuid4()}\n"
        "status: test\n"
        + (f"tags:\n{tag_block}" if tags else "")
        + f"logsource:\n    category: {category}\n    product: {product}\n"
        + "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ") + "\n"
        + "level: medium\n" + extra
    )


@pytest.fixture
def write_rules(tmp_path: Path):
    """Write {relative path: text} under tmp_path and return the folder."""
    def _write(files: dict[str, str]) -> Path:
        for rel, text in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        return tmp_path
    return _write
