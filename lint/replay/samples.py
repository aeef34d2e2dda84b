"""Rule unit tests: sample events a rule must match, or must not.

The format is SigmaHQ's `regression_data/**/info.yml`, read as is, for rules of any vendor:

    rule_metadata:
      - id: <the rule's id: Sigma id, Elastic rule_id, Splunk id>
    regression_tests_info:
      - name: Positive Detection Test
        type: evtx            # or json / ndjson (any file `rulelint replay` reads)
        path: regression_data/.../sample.evtx
        match_count: 1        # optional: at least this many events match; 0: none may match

A path is read relative to the folder holding `regression_data` (SigmaHQ's layout), else to
the info.yml's own folder. When the EVTX file cannot be read (no `evtx` package), its JSON
rendering beside it (`sample.json`) is read instead. A sample may hold events around the
attack's own, so a positive test asks for at least `match_count` matches (default 1), as
SigmaHQ's own samples are written (several hold more matching events than they count).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..findings import Finding
from ..model.rule import NormalizedRule
from .evaluate import CannotJudge, compile_rule
from .normalize import normalize
from .scope import rule_scope
from .sequences import matches_of
from .sources import SourceError, read_events

CODE, NAME = "RL005", "sample-mismatch"
INFO_NAMES = ("info.yml", "info.yaml")


@dataclass(slots=True)
class SampleTest:
    info: str  # the info.yml
    rule_ids: list[str]
    name: str
    path: str  # the sample file, resolved
    match_count: int | None
    line: int | None = None


@dataclass
class TestOutcome:
    findings: list[Finding] = field(default_factory=list)
    tests: int = 0
    passed: int = 0
    events: int = 0


def find_infos(paths: list[str]) -> list[str]:
    found: dict[str, None] = {}
    for root in paths:
        if os.path.isfile(root) and os.path.basename(root) in INFO_NAMES:
            found[os.path.normpath(root)] = None
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name in INFO_NAMES:
                    found[os.path.normpath(os.path.join(dirpath, name))] = None
    return list(found)


def rules_root(info: str) -> str | None:
    """The folder that holds `regression_data` above an info.yml (SigmaHQ's checkout), if any."""
    parts = os.path.abspath(info).split(os.sep)
    if "regression_data" in parts:
        i = len(parts) - 1 - parts[::-1].index("regression_data")
        return os.sep.join(parts[:i]) or os.sep
    return None


def read_info(info: str) -> tuple[list[SampleTest], list[Finding]]:
    try:
        with open(info, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as e:
        return [], [_error(info, None, f"cannot read the test description: {e}")]
    if not isinstance(doc, dict):
        return [], [_error(info, None, "the test description is not a mapping")]
    ids = [str(m["id"]) for m in doc.get("rule_metadata") or [] if isinstance(m, dict) and m.get("id")]
    entries = doc.get("regression_tests_info") or []
    if not ids:
        return [], [_error(info, None, "`rule_metadata` names no rule id")]
    root = rules_root(info)
    tests = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or not e.get("path"):
            continue
        tests.append(SampleTest(info, ids, str(e.get("name") or "sample"), _resolve(info, root, str(e["path"])),
                                _count(e.get("match_count"))))
    return tests, []


def _count(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _resolve(info: str, root: str | None, path: str) -> str:
    here = os.path.dirname(info)
    for base in ((root,) if root else ()) + (here,):
        candidate = os.path.normpath(os.path.join(base, path))
        if os.path.exists(candidate):
            return candidate
    return os.path.normpath(os.path.join(here, os.path.basename(path)))


def sample_events(path: str) -> tuple[list[dict[str, Any]], str]:
    """The sample's events, or why none could be read. An EVTX that cannot be read falls
    back to the JSON rendering SigmaHQ keeps beside it."""
    docs, errors = _read(path)
    if errors and path.lower().endswith(".evtx"):
        alt = path[:-5] + ".json"
        if os.path.exists(alt):
            docs, errors = _read(alt)
    if not docs:
        return [], errors[0] if errors else "the sample holds no events"
    return docs, ""


def _read(path: str) -> tuple[list[dict[str, Any]], list[str]]:
    if not os.path.exists(path):
        return [], [f"sample file {path} does not exist"]
    docs, errors = [], []
    for item in read_events(path):
        if isinstance(item, SourceError):
            errors.append(item.reason)
        else:
            docs.append(item[1])
    return docs, errors


def run_tests(infos: list[str], rules: list[NormalizedRule]) -> TestOutcome:
    by_id: dict[str, NormalizedRule] = {}
    for r in rules:
        if r.id:
            by_id.setdefault(r.id, r)
    out = TestOutcome()
    for info in infos:
        tests, errors = read_info(info)
        out.findings += errors
        for t in tests:
            out.tests += 1
            finding = _judge(t, by_id, out)
            if finding is None:
                out.passed += 1
            else:
                out.findings.append(finding)
    return out


def _judge(t: SampleTest, by_id: dict[str, NormalizedRule], out: TestOutcome) -> Finding | None:
    rule = next((by_id[i] for i in t.rule_ids if i in by_id), None)
    if rule is None:
        return _error(t.info, None, f"{t.name}: no rule with id {t.rule_ids[0]} among the rules given")
    docs, why = sample_events(t.path)
    if why:
        return _fail(rule, f"{t.name}: {why}")
    out.events += len(docs)
    try:
        compiled = compile_rule(rule)
    except CannotJudge as e:
        return _fail(rule, f"{t.name}: the rule cannot be judged on single events ({e})")
    events = [normalize(d) for d in docs]
    scope = rule_scope(rule)
    hits = matches_of(compiled, scope, events)
    sample = os.path.basename(t.path)
    if t.match_count == 0:
        if not hits:
            return None
        return _fail(rule, f"{t.name}: the rule matches {len(hits)} events of {sample} (first: event "
                           f"{min(hits)}), which must not match", sample=t.path)
    wanted = max(1, t.match_count or 1)
    if len(hits) >= wanted:
        return None
    hint = f"; event 0 {_why_not(scope, events[0])}" if not hits else ""
    return _fail(rule, f"{t.name}: the rule matches {len(hits)} of the {len(events)} events of {sample} where "
                       f"the test expects at least {wanted}{hint}", sample=t.path)


def _why_not(scope, event) -> str:
    if not scope(event):
        return "is outside the rule's log source"
    return "does not satisfy the rule's condition"


def _fail(rule: NormalizedRule, message: str, sample: str = "") -> Finding:
    return Finding(CODE, NAME, "error", message, rule.path, rule.logic_line or rule.line, rule_id=rule.id,
                   rule_key=rule.key, data={"sample": sample} if sample else {})


def _error(path: str, line: int | None, message: str) -> Finding:
    return Finding(CODE, NAME, "error", message, path, line)
