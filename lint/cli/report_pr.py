"""`rulelint report pr --base REF PATH...`: the PR review report of a git repository of rules."""

from __future__ import annotations

import argparse
import os
import sys

from ..config import ConfigError, load_config
from ..findings import SEVERITIES
from .main import _common, _output, _reference_args, _run_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rulelint report pr",
        description="Review a change to a git repository of rules: the rule files changed since "
                    "REF (committed, staged, unstaged or untracked), the findings new against REF "
                    "and those fixed, and for each changed rule its indicators, their reach, the "
                    "exclusions its peers use and its noise score before and after.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="rule folders or files inside the repository: the corpus "
                        "(default: `corpus` of the configuration, else the current folder)")
    p.add_argument("--base", required=True, metavar="REF", help="the commit, branch or tag to compare against")
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--fail-on", choices=SEVERITIES, default=None,
                   help="exit 1 when a new finding is at or above this severity (default: warning)")
    p.add_argument("--select", action="append", default=[], metavar="CHECKS")
    p.add_argument("--ignore", action="append", default=[], metavar="CHECKS")
    p.add_argument("--config", metavar="FILE", default=None)
    _common(p)
    _reference_args(p)
    return p


def cmd_report_pr(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from ..reports.git import GitError
    from ..reports.pr import build
    from ..reports.pr_render import render

    try:
        config = load_config(args.config, start=(args.paths or ["."])[0])
    except ConfigError as e:
        print(f"rulelint: {e}", file=sys.stderr)
        return 2
    # As `rulelint hook`: the configuration's corpus, else the repository (the current folder).
    args.paths = args.paths or config.corpus or ["."]
    settings = _run_settings(args, config)
    if settings is None:
        return 2
    root = args.paths[0] if os.path.exists(args.paths[0]) else "."
    try:
        report = build(root, args.base, args.paths, settings)
    except GitError as e:
        print(f"rulelint: {e}", file=sys.stderr)
        return 2
    with _output(args.output) as out:
        out.write(render(report, args.format))
    return 1 if report.failing(args.fail_on or config.fail_on or "warning") else 0
