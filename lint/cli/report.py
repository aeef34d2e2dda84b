"""`rulelint report technique|techniques|pr ...`: the reports built over the corpus."""

from __future__ import annotations

import sys


def cmd_report(argv: list[str]) -> int:
    kinds = ("technique", "techniques", "pr")
    if not argv or argv[0] not in kinds:
        print("usage: rulelint report technique T1219.002 PATH... | techniques PATH... -o DIR | pr --base REF PATH...",
              file=sys.stderr)
        return 2
    if argv[0] == "pr":
        from .report_pr import cmd_report_pr

        return cmd_report_pr(argv[1:])
    from .report_technique import cmd_report_technique, cmd_report_techniques

    return (cmd_report_technique if argv[0] == "technique" else cmd_report_techniques)(argv[1:])
