"""Regenerate reports/ from the example corpus: `python tools/gen_reports.py`.

- `T1219.002.md`, `.html`, `.json`: the technique catalog page (`rulelint report technique`);
- `corpus.sarif`: `rulelint corpus/ --format sarif`;
- `pr.md`: `rulelint report pr` on a scratch git repository whose base commit lacks three
  of the example rules (one per vendor) and whose working tree is the whole corpus, as a
  pull request adding them would be.

Everything runs from the repository root with relative paths, the bundled reference
index and no cache, so the output depends only on the code, the corpus and the
reference. tests/reports/test_reports_current.py regenerates into a temporary folder
and compares bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
TECHNIQUE = "T1219.002"
# The rules the scratch pull request adds: a noisy one per vendor and a peer missing an exclusion.
PR_ADDS = (
    "sigma/process_creation/proc_creation_win_cmd_any_execution.yml",
    "elastic/execution_cmd_process_started.toml",
    "splunk/detections/network/rustdesk_domain_resolved.yml",
)
GIT_ENV = {"GIT_AUTHOR_NAME": "rulelint", "GIT_AUTHOR_EMAIL": "rulelint@example.invalid",
           "GIT_COMMITTER_NAME": "rulelint", "GIT_COMMITTER_EMAIL": "rulelint@example.invalid",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _rulelint(*argv: str) -> int:
    from rulelint.cli.main import main

    return main([*argv, "--no-cache", "--no-progress"])


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def _pr_report(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="rulelint-pr-") as tmp:
        repo = Path(tmp) / "rules"
        shutil.copytree(REPO / "corpus", repo / "corpus")
        held = {rel: (repo / "corpus" / rel).read_bytes() for rel in PR_ADDS}
        for rel in PR_ADDS:
            (repo / "corpus" / rel).unlink()
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "base")
        for rel, data in held.items():
            (repo / "corpus" / rel).write_bytes(data)
        with _cwd(repo):
            code = _rulelint("report", "pr", "--base", "main", "corpus/", "-o", str(out))
        if code not in (0, 1):
            raise SystemExit(f"rulelint report pr exited {code}")


def generate(dest: Path) -> list[Path]:
    """Write every report into `dest`; return the files written."""
    dest.mkdir(parents=True, exist_ok=True)
    with _cwd(REPO):
        for fmt, ext in (("markdown", "md"), ("html", "html"), ("json", "json")):
            if _rulelint("report", "technique", TECHNIQUE, "corpus/", "--format", fmt,
                         "-o", str(dest / f"{TECHNIQUE}.{ext}")) != 0:
                raise SystemExit(f"rulelint report technique --format {fmt} failed")
        if _rulelint("corpus/", "--format", "sarif", "-o", str(dest / "corpus.sarif")) not in (0, 1):
            raise SystemExit("rulelint corpus/ --format sarif failed")
    _pr_report(dest / "pr.md")
    return sorted(p for p in dest.iterdir() if p.name != "README.md")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "reports", help="where to write (default: reports/)")
    args = p.parse_args()
    for path in generate(args.out):
        print(path.relative_to(args.out.parent) if args.out.parent in path.parents else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
