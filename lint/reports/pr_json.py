"""The PR report as JSON: every finding, change and indicator, none cut for length."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..findings import Finding
from .pr import PRReport


def report_dict(report: PRReport) -> dict[str, Any]:
    def listed(pairs: list[tuple[str, Finding]]) -> list[dict[str, Any]]:
        return [{**f.to_dict(), "fingerprint": fp} for fp, f in pairs]

    new_sev = {s: sum(1 for _, f in report.new if f.severity == s) for s in ("error", "warning", "info")}
    return {
        "base": report.base,
        "base_commit": report.base_commit,
        "paths": report.paths,
        "summary": {
            "changed_files": len(report.changes),
            "changed_rules": len(report.rules),
            "new_findings": len(report.new),
            "new_by_severity": new_sev,
            "fixed_findings": len(report.fixed),
            "kept_findings": len(report.kept),
            "removed_with_deleted_rules": len(report.removed),
            "common_threshold": report.common_threshold,
        },
        "changes": [dataclasses.asdict(c) for c in report.changes],
        "new_findings": listed(report.new),
        "fixed_findings": listed(report.fixed),
        "rules": [dataclasses.asdict(r) for r in report.rules],
    }


def render(report: PRReport) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"
