"""Judging rules: every enabled check and the noise score on each judged rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .analysis.noise import noise_score
from .analysis.run_state import Analysis
from .checks import Check
from .findings import Finding
from .model.rule import NormalizedRule
from .parallel import can_fork, fork_map, jobs_for, paused

# Below this many judged rules, forking costs more than it saves.
PARALLEL_JUDGE_THRESHOLD = 400
SLICES_PER_WORKER = 16  # small slices: no worker idles while one finishes a big one


@dataclass(frozen=True)
class JudgeWork:
    judged: list[NormalizedRule]
    checks: list[Check]
    ctx: Analysis


def judge_slice(work: JudgeWork, bounds: tuple[int, int]) -> tuple[list[Finding], dict[str, float]]:
    findings: list[Finding] = []
    noise: dict[str, float] = {}
    ctx, checks = work.ctx, work.checks
    with paused():
        for rule in work.judged[bounds[0]:bounds[1]]:
            for check in checks:
                findings.extend(check.run(rule, ctx))
            noise[rule.key] = noise_score(rule, ctx.common)
    return findings, noise


def judge(judged: list[NormalizedRule], checks: list[Check], ctx: Analysis, jobs: int | None = None,
          meanwhile: Callable[[], None] | None = None) -> tuple[list[Finding], dict[str, float]]:
    """Run the checks and the noise score on every judged rule. With many rules and
    several cores, forked workers share the index read-only and split the rules.
    `meanwhile` is the parent's own work, run once while the workers judge."""
    jobs = jobs_for(jobs)
    checks = [c for c in checks if c.runs]
    prepared = [c for c in checks if c.prepares]
    if jobs <= 1 or len(judged) < PARALLEL_JUDGE_THRESHOLD or not can_fork():
        for check in prepared:
            check.prepare(judged, ctx)
        if meanwhile:
            meanwhile()
        return judge_slice(JudgeWork(judged, checks, ctx), (0, len(judged)))
    # Checks with run-wide preparation prepare and run here, in the parent, while the
    # forked workers run every other check and the noise score: no core waits for the
    # preparation. Their findings come last (the run sorts findings).
    own: list[Finding] = []

    def parent_share() -> None:
        if meanwhile:
            meanwhile()
        for check in prepared:
            check.prepare(judged, ctx)
        own.extend(f for rule in judged for check in prepared for f in check.run(rule, ctx))

    step = -(-len(judged) // (jobs * SLICES_PER_WORKER))
    slices = [(i, min(i + step, len(judged))) for i in range(0, len(judged), step)]
    work = JudgeWork(judged, [c for c in checks if not c.prepares], ctx)
    findings: list[Finding] = []
    noise: dict[str, float] = {}
    for part_findings, part_noise in fork_map(judge_slice, work, slices, jobs, meanwhile=parent_share):
        findings.extend(part_findings)
        noise.update(part_noise)
    return findings + own, noise
