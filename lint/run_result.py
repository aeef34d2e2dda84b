"""What a lint run found: the renderers' one input."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .analysis.commonness import Commonness
from .findings import Finding
from .model.index import CorpusIndex
from .model.rule import NormalizedRule


@dataclass
class RunResult:
    """What a run found. From a cached run, `index` and `common` are None, and the
    rules are loaded only when asked for (`need_rules`)."""

    corpus: list[NormalizedRule]
    targets: list[NormalizedRule]
    findings: list[Finding]
    index: CorpusIndex | None
    common: Commonness | None
    noise: dict[str, float]
    files: int
    corpus_errors: int
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)  # rules, corpus_rules, by_vendor, common_threshold
    from_cache: bool = False
    warnings: list[str] = field(default_factory=list)
    compact: bool = False  # a one-line text summary (the hook, `--target`) instead of the table

    def summary(self) -> dict[str, Any]:
        by_sev = Counter(f.severity for f in self.findings)
        by_check = Counter(f.name for f in self.findings)
        return {
            "files": self.files,
            **{k: v for k, v in self.counts.items() if k != "upstream"},
            "findings": len(self.findings),
            "by_severity": {s: by_sev.get(s, 0) for s in ("error", "warning", "info")},
            "by_check": dict(sorted(by_check.items())),
            "corpus_parse_errors": self.corpus_errors,
            "seconds": round(self.seconds, 3),
        }
