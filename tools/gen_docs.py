"""Regenerate the check documentation from the check registry: `python tools/gen_docs.py`.

- `docs/checks.md`: every check (code, name, severity, scope, and its sections what it
  does, why it matters, example, use instead, options), as `rulelint rule CODE` prints it;
- `README.md`: the check table between `<!-- checks:start -->` and `<!-- checks:end -->`
  (code, name, and what it reports: the check's `summary`).

`python tools/gen_docs.py --check` writes nothing and exits 1, naming each stale file,
when either differs from what the registry gives; tests/test_docs_current.py does the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rulelint.checks import CHECKS
from rulelint.checks.base import Check
from rulelint.renderers.docs import check_markdown

REPO = Path(__file__).resolve().parent.parent
CHECKS_MD = REPO / "docs" / "checks.md"
README = REPO / "README.md"
START, END = "<!-- checks:start -->", "<!-- checks:end -->"
REGENERATE = "python tools/gen_docs.py"


def _cell(text: str) -> str:
    """Table cell text: a pipe would end the cell, even inside backticks."""
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(check: Check) -> str:
    """The anchor GitHub gives the check's heading `## RL101 noisy-standalone-indicator`."""
    return f"{check.code}-{check.name}".lower()


def checks_table(link: str = "") -> str:
    """The check table: code (linking to its section of `link`#...), name, what it reports."""
    rows = ["| code | name | what it reports |", "|---|---|---|"]
    for c in CHECKS:
        code = f"[{c.code}]({link}#{_anchor(c)})"
        rows.append(f"| {code} | `{c.name}` | {_cell(c.summary)} |")
    return "\n".join(rows) + "\n"


def checks_page() -> str:
    """docs/checks.md: an index table, then every check's documentation."""
    head = [
        "# Checks",
        "",
        f"<!-- Generated from the check registry by `{REGENERATE}`; do not edit by hand. -->",
        "",
        f"rulelint has {len(CHECKS)} checks. `rulelint rules` lists them and `rulelint rule CODE` prints "
        "one check's documentation as below. Select or ignore them by code, name or code prefix "
        "(`--select RL1`, `--ignore no-query-logic`); set their options under "
        "`[tool.rulelint.options.NAME]` (see [configuration.md](configuration.md)). The scope says what "
        "a check reads: `load` checks are reported while files load, `rule` checks judge one rule alone, "
        "`corpus` checks judge a rule against the whole corpus.",
        "",
        "| code | name | severity | scope | what it reports |",
        "|---|---|---|---|---|",
        *(f"| [{c.code}](#{_anchor(c)}) | `{c.name}` | {c.severity} | {c.scope} | {_cell(c.summary)} |"
          for c in CHECKS),
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(check_markdown(c, level=2) for c in CHECKS)


def readme_with_table(text: str) -> str:
    """README.md with the check table between its markers replaced."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md lacks the markers {START} ... {END} around the check table")
    return text[:start + len(START)] + "\n" + checks_table("docs/checks.md") + text[end:]


def expected() -> dict[Path, str]:
    """Each generated file with the text it should hold."""
    return {CHECKS_MD: checks_page(), README: readme_with_table(README.read_text(encoding="utf-8"))}


def stale(files: dict[Path, str]) -> list[Path]:
    """Those of `files` whose text on disk differs from the text they should hold."""
    return [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    args = p.parse_args(argv)
    files = expected()
    out_of_date = stale(files)
    for path in out_of_date:
        if args.check:
            print(f"{path.relative_to(REPO)} is out of date: run `{REGENERATE}`", file=sys.stderr)
        else:
            path.write_text(files[path], encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    return 1 if args.check and out_of_date else 0


if __name__ == "__main__":
    sys.exit(main())
