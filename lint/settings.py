"""What a run is asked to do, besides which files: checks, options, cache, reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import reference
from .analysis.commonness import Commonness, CommonnessOptions
from .checks import CHECKS, Check, matches
from .config import Config
from .model.index import CorpusIndex


@dataclass
class Settings:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: int | None = None
    cache_dir: str | None = None  # None: no persistent cache
    config: Config | None = None  # per-path and per-rule ignores
    reference: str | None = None  # a reference index file whose rules join the corpus
    baseline: list[str] = field(default_factory=list)  # event files of ordinary activity (replay evidence)

    def key(self) -> str:
        """What, besides the files, decides a run's findings."""
        cfg = self.config
        ignores = (cfg.root, sorted(cfg.per_path_ignores.items()), sorted(cfg.per_rule_ignores.items())) if cfg else ()
        ref = reference.fingerprint(self.reference) if self.reference else ""
        base = ""
        if self.baseline:
            from .replay.baseline import baseline_print

            base = baseline_print(self.baseline)
        return repr((base, sorted(self.select), sorted(self.ignore),
                     sorted((k, sorted(v.items())) for k, v in self.options.items()), ignores, ref))

    def enabled(self) -> list[Check]:
        chosen = [c for c in CHECKS if not self.select or any(matches(c, t) for t in self.select)]
        return [c for c in chosen if not any(matches(c, t) for t in self.ignore)]

    def commonness(self, index: CorpusIndex) -> Commonness:
        """The commonness judgment of the corpus, with RL101's thresholds (the noise score shares them)."""
        opts = self.options.get("noisy-standalone-indicator", {})
        defaults = CommonnessOptions()
        return Commonness(index, CommonnessOptions(
            min_reach=int(opts.get("min_reach", defaults.min_reach)),
            common_share=float(opts.get("common_share", defaults.common_share)),
        ))
