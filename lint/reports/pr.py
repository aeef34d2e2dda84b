"""The PR review report: what a change to a git repository of rules does, against a base.

The rule files changed since the base (committed, staged, unstaged or untracked, under
the given paths) are linted twice: in the working tree, and at the base, where their
base versions, copied out to a temporary folder, are judged against the base corpus
(the files the change left alone are read in place, where the cache knows them).
Findings are matched by fingerprint (rulelint.fingerprint), so moved lines are not news.
For each changed rule the report lists its indicators with their reach, the exclusions
its peers use and it lacks (what RL102 computes), and its noise score before and after.

Git is only read (rulelint.reports.git). Limitation: an unchanged Splunk detection is
expanded with today's macros at the base too. The renderers (pr_markdown, pr_json) lay
the report out; this module knows none of them.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..analysis.robustness import robustness_of
from ..analysis.run_state import Analysis
from ..checks.rl102_missing_common_exclusion import missing_exclusions
from ..engine import indicator_index, run
from ..run_result import RunResult
from ..settings import Settings
from ..fingerprint import fingerprints
from ..findings import Finding, severity_rank
from ..loaders import RULE_SUFFIXES, SKIP_DIRS, discover
from ..model.predicate import IndicatorKey
from ..model.rule import NormalizedRule
from .git import changed_files, materialize, pathspecs, repo_root, resolve, tree_files


@dataclass(slots=True)
class Change:
    status: str  # added | modified | deleted | renamed
    path: str  # relative to the repository root; a deleted file's last path
    old_path: str = ""  # where a renamed file was
    new: int = 0  # findings in it new against the base
    fixed: int = 0

    def base_path(self) -> str | None:
        """The file's path in the base tree (None: it did not exist there)."""
        return None if self.status == "added" else self.old_path or self.path


@dataclass
class RuleChange:
    """One changed rule: its identity, noise before and after, indicators, missing exclusions."""

    status: str  # added | modified | deleted | broken (its file no longer loads)
    path: str
    key: str
    id: str
    title: str
    vendor: str
    techniques: list[str]
    logsource: str
    noise_before: float | None
    noise_after: float | None
    indicators: list[dict[str, Any]] = field(default_factory=list)
    removed_indicators: list[dict[str, Any]] = field(default_factory=list)  # the change took them out
    peers: int = 0
    missing_exclusions: list[dict[str, Any]] = field(default_factory=list)
    noise_note: str = ""  # why the rule has no score, or the evidence that drives it
    noise_evidence: list[dict[str, Any]] = field(default_factory=list)  # commonest positive values, with the prior's word
    # Summiting the Pyramid level and column (`3K`; "none": the method does not decide; "": no rule)
    robustness_before: str = ""
    robustness_after: str = ""
    robustness_reason: str = ""  # which observable sets the level now, or why there is none
    new: list[str] = field(default_factory=list)  # fingerprints
    fixed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


@dataclass
class PRReport:
    base: str
    base_commit: str
    paths: list[str]  # relative to the repository root
    changes: list[Change]
    rules: list[RuleChange]
    new: list[tuple[str, Finding]]  # (fingerprint, finding) in the working tree, not at the base
    fixed: list[tuple[str, Finding]]  # at the base, gone from a rule still there
    kept: list[tuple[str, Finding]]
    removed: list[tuple[str, Finding]]  # findings of rules deleted by the change
    common_threshold: int | None = None

    def new_findings(self) -> list[Finding]:
        return [f for _, f in self.new]

    def failing(self, fail_on: str) -> list[Finding]:
        limit = severity_rank(fail_on)
        return [f for _, f in self.new if severity_rank(f.severity) >= limit]


# --- the files ---------------------------------------------------------------------------

def _under(rel: str, specs: list[str]) -> str | None:
    """The part of `rel` below the first pathspec holding it (None: below none)."""
    for spec in specs:
        if spec in (".", ""):
            return rel
        if rel == spec:
            return os.path.basename(rel)
        if rel.startswith(spec.rstrip("/") + "/"):
            return rel[len(spec.rstrip("/")) + 1:]
    return None


def discoverable(rel: str, specs: list[str]) -> bool:
    """Whether `rulelint PATH` would read this file: discover()'s rules on a path of the
    base tree, which may no longer exist to be walked."""
    inner = _under(rel, specs)
    if inner is None or not inner.lower().endswith(RULE_SUFFIXES):
        return False
    *folders, name = inner.split("/")
    return not name.startswith(".") and not any(d.startswith(".") or d in SKIP_DIRS for d in folders)


def _macro_files(names: list[str]) -> list[str]:
    """Splunk macro files: detections at the base are expanded with the base's macros."""
    return [n for n in names if "macros" in n.split("/")[:-1]]


# --- the report -----------------------------------------------------------------------------

def _lint(paths: list[str], targets: list[str], settings: Settings) -> RunResult | None:
    """A run that keeps its index (a run answered whole from the cache has none)."""
    if not targets or not paths:
        return None
    result = run(paths, targets, settings, need_rules=True)
    if result.index is None:  # answered from the cache: so is the corpus index
        index, warnings = indicator_index(paths, settings)
        result = dataclasses.replace(result, index=index, common=settings.commonness(index),
                                     warnings=result.warnings + warnings)
    return result


@lru_cache(maxsize=4096)
def _real_dir(folder: str) -> str:
    return os.path.realpath(folder)


def _rel(path: str, base: str) -> str:
    """`path` relative to `base`, symbolic links in their folders resolved (git names the
    top folder by its real path)."""
    p = os.path.abspath(path)
    real = os.path.join(_real_dir(os.path.dirname(p)), os.path.basename(p))
    return os.path.relpath(real, _real_dir(os.path.abspath(base))).replace(os.sep, "/")


def _rules_by_file(result: RunResult | None, base: str) -> dict[str, list[NormalizedRule]]:
    out: dict[str, list[NormalizedRule]] = {}
    for r in result.targets if result else []:
        out.setdefault(_rel(r.path, base), []).append(r)
    return out


def _pair(before: list[NormalizedRule], after: list[NormalizedRule]) -> list[tuple[NormalizedRule | None, NormalizedRule | None]]:
    """Rules of one file before and after: by id, else by their place in the file."""
    pairs: list[tuple[NormalizedRule | None, NormalizedRule | None]] = []
    left = list(before)
    for r in after:
        match = next((b for b in left if r.id and b.id == r.id), None)
        if match is None:
            pos = after.index(r)
            match = next((b for b in left if not b.id and not r.id and before.index(b) == pos), None)
        if match is not None:
            left.remove(match)
        pairs.append((match, r))
    pairs.extend((b, None) for b in left)
    return pairs


def _indicators(rule: NormalizedRule, after: RunResult, before: RunResult | None,
                before_rule: NormalizedRule | None, added: frozenset[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each indicator of the rule with how many other rules use it, now and at the base,
    and whether the change added it; then those the change removed. Without a base run
    (the change only adds rules) the base is today's corpus without the `added` rules."""
    old_keys = (before_rule.positive_keys() | before_rule.excluded_keys()) if before_rule else frozenset()
    rows: dict[IndicatorKey, dict[str, Any]] = {}
    for key, written, positive in rule.indicator_uses():
        row = rows.get(key)
        if row is not None:
            row["positive"] = row["positive"] or positive
            continue
        row = rows[key] = {
            "field": key.field, "op": key.op, "value": key.value, "written": written.display(),
            "positive": positive,
            "reach": after.index.reach(key, exclude=rule.key) if after.index else None,
            "reach_before": None,
            "common": bool(after.common and after.common.is_common(key, rule.key)),
            "added": before_rule is not None and key not in old_keys,
        }
        if before is not None and before.index is not None:
            row["reach_before"] = before.index.reach(key, exclude=before_rule.key if before_rule else None)
        elif before is None and after.index is not None:
            u = after.index.usage.get(key)
            row["reach_before"] = len((u.positive | u.excluded) - added) if u else 0
    removed = []
    if before_rule is not None:
        for key, written, positive in before_rule.indicator_uses():
            if key not in rows and all(r["value"] != key.value or r["field"] != key.field or r["op"] != key.op
                                       for r in removed):
                removed.append({"field": key.field, "op": key.op, "value": key.value,
                                "written": written.display(), "positive": positive})
    order = sorted(rows.values(), key=lambda r: (not r["positive"], -(r["reach"] or 0), r["field"], r["value"]))
    return order, removed


def _exclusions(rule: NormalizedRule, result: RunResult, settings: Settings) -> tuple[int, list[dict[str, Any]]]:
    if result.index is None or result.common is None:
        return 0, []
    ctx = Analysis(index=result.index, common=result.common, options=settings.options)
    group, missing = missing_exclusions(rule, ctx)
    return len(group), [{"field": k.field, "op": k.op, "value": k.value,
                         "written": result.index.display(k).display(), "peers": n} for k, n in missing]


def _noise_evidence(rule: NormalizedRule, result: RunResult, top: int = 3) -> tuple[str, list[dict[str, Any]]]:
    """Why the rule has no noise score, or its commonest positive values with their share
    and the prevalence prior's evidence: what a reviewer reads the score by."""
    if result.common is None:
        return "", []
    from ..analysis.noise import explain

    b = explain(rule, result.common)
    if b.score is None:
        return b.note, []
    terms = sorted((t for t in b.predicates if t.positive), key=lambda t: -t.share)[:top]
    return b.note, [{"written": t.written, "share": round(t.share, 4), "evidence": t.evidence, "reach": t.reach}
                    for t in terms]


def _shown(top: str, rel: str) -> str:
    """A working-tree file as the user would name it: relative to the current folder."""
    return os.path.relpath(os.path.join(top, rel))


def _from_base(f: Finding, tree: str, top: str, moved: dict[str, str]) -> Finding:
    """A base finding told in the working tree's terms: the file's path now (renames
    followed), in its location, message and related rules."""
    def now(path: str) -> str:
        rel = _rel(path, tree)
        return path if rel.startswith("..") else _shown(top, moved.get(rel, rel))

    path = now(f.path)
    message = f.message.replace(f.path, path) if f.path else f.message
    related = [dataclasses.replace(r, path=now(r.path)) for r in f.related]
    return dataclasses.replace(f, path=path, message=message, related=related)


def build(root: str, base: str, paths: list[str], settings: Settings | None = None) -> PRReport:
    """The PR report of the working tree of the repository at (or above) `root` against
    `base`, over the rules under `paths` (relative to the current folder; the corpus)."""
    settings = settings or Settings()
    top = repo_root(root)
    commit = resolve(top, base)
    specs = pathspecs(top, paths)
    head_paths = [p for p in paths if os.path.exists(p)]
    head_list = discover(head_paths)  # spelled as the user's PATHs, as the cache knows them
    head_files = {_rel(p, top) for p in head_list}
    base_names = set(tree_files(top, commit))
    changes = [c for c in (Change(*row) for row in changed_files(top, commit, specs))
               if c.path in head_files or (c.base_path() in base_names and discoverable(c.base_path(), specs))]
    with tempfile.TemporaryDirectory(prefix="rulelint-pr-") as tmp:
        tree = os.path.join(tmp, "tree")
        before_files = sorted({c.base_path() for c in changes
                               if c.base_path() in base_names and discoverable(c.base_path(), specs)})
        materialize(top, commit, before_files + _macro_files(sorted(base_names)), tmp)
        after_targets = [_shown(top, c.path) for c in changes if c.status != "deleted" and c.path in head_files]
        before_targets = [os.path.join(tree, rel) for rel in before_files]
        # The base corpus: the files the change left alone, read in the working tree (where
        # the cache knows them), and the base versions of the changed ones. Findings are
        # matched to the configuration's path ignores below, under their real paths.
        touched = {c.path for c in changes} | {c.base_path() for c in changes}
        unchanged = [p for p in head_list if _rel(p, top) in base_names and _rel(p, top) not in touched]
        before = _lint(unchanged + before_targets, before_targets, dataclasses.replace(settings, config=None))
        # Second, so the index the cache keeps is the working tree's.
        after = _lint(head_paths, after_targets, settings)
        moved = {c.base_path(): c.path for c in changes if c.base_path()}
        before_findings = [_from_base(f, tree, top, moved) for f in (before.findings if before else [])]
        before_rules: dict[str, list[NormalizedRule]] = {}
        for rel, rules_here in _rules_by_file(before, tree).items():
            before_rules[moved.get(rel, rel)] = rules_here
    if settings.config is not None:
        before_findings = [f for f in before_findings if not settings.config.ignored_for(f)]
    after_rules = _rules_by_file(after, top)
    after_findings = after.findings if after else []
    deleted = {c.path for c in changes if c.status == "deleted"}
    broken = {_rel(f.path, top) for f in after_findings if f.name == "parse-error"}

    before_fps = list(zip(fingerprints(before_findings), before_findings))
    after_fps = list(zip(fingerprints(after_findings), after_findings))
    before_set = {fp for fp, _ in before_fps}
    after_set = {fp for fp, _ in after_fps}
    new = [(fp, f) for fp, f in after_fps if fp not in before_set]
    kept = [(fp, f) for fp, f in after_fps if fp in before_set]
    gone = [(fp, f) for fp, f in before_fps if fp not in after_set]
    removed = [(fp, f) for fp, f in gone if _rel(f.path, top) in deleted]
    fixed = [(fp, f) for fp, f in gone if _rel(f.path, top) not in deleted]

    for c in changes:
        c.new = sum(1 for _, f in new if _rel(f.path, top) == c.path)
        c.fixed = sum(1 for _, f in fixed if _rel(f.path, top) == c.path)

    def owned(pairs: list[tuple[str, Finding]], rule: NormalizedRule | None, path: str) -> list[str]:
        """Fingerprints of the findings about one rule (base findings carry the base key)."""
        if rule is None:
            return []
        return [fp for fp, f in pairs
                if f.rule_key == rule.key or (not f.rule_key and _rel(f.path, top) == path)]

    # Without a base run every changed rule is new: the base corpus is today's without them.
    added_keys = frozenset(r.key for rs in after_rules.values() for r in rs) if before is None else frozenset()
    rules: list[RuleChange] = []
    for c in changes:
        for old, now in _pair(before_rules.get(c.path, []), after_rules.get(c.path, [])):
            shown = now or old
            assert shown is not None
            rob_now = robustness_of(now) if now else None
            rc = RuleChange(
                status=("broken" if c.path in broken else "deleted") if now is None
                else "added" if old is None else "modified",
                path=c.path, key=shown.key, id=shown.id, title=shown.title, vendor=shown.vendor,
                techniques=list(shown.techniques), logsource=shown.logsource.key(),
                noise_before=before.noise.get(old.key) if before and old else None,
                noise_after=after.noise.get(now.key) if after and now else None,
                new=owned(new, now, c.path), kept=owned(kept, now, c.path), fixed=owned(fixed, old, c.path),
                robustness_before=robustness_of(old).label if old else "",
                robustness_after=rob_now.label if rob_now else "",
                robustness_reason=rob_now.reason if rob_now else "",
            )
            if now is not None and after is not None:
                rc.indicators, rc.removed_indicators = _indicators(now, after, before, old, added_keys)
                rc.peers, rc.missing_exclusions = _exclusions(now, after, settings)
                rc.noise_note, rc.noise_evidence = _noise_evidence(now, after)
            rules.append(rc)
    return PRReport(
        base=base, base_commit=commit, paths=specs, changes=changes, rules=rules,
        new=new, fixed=fixed, kept=kept, removed=removed,
        common_threshold=after.common.threshold if after and after.common else None,
    )


__all__ = ["Change", "RuleChange", "PRReport", "build", "discoverable"]
