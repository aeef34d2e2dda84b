"""Generate lint/replay/logsources.json: which Windows events each Sigma log source covers.

Reads, by instantiating pySigma's pipelines and walking their processing items (never copying
their tables):
  * services -> channels: pySigma-pipeline-windows' `windows-logsources` pipeline, whose
    per-service items (built by pySigma's generate_windows_logsource_items) add a `Channel`
    condition under a LogsourceCondition(product=windows, service=...).
  * categories -> (channel, EventIDs): every item pair under a
    LogsourceCondition(product=windows, category=...) that adds an `EventID` condition
    (AddConditionTransformation) and moves the rule to a service (ChangeLogsourceTransformation);
    the service is turned into its channels through the table above. Pipelines read:
    pySigma-pipeline-sysmon's `sysmon_pipeline` (Sysmon EventIDs), and pySigma-pipeline-windows'
    `windows-logsources` (PowerShell categories) and `windows-audit` (Security 4688, 4657).
    Extra narrowing conditions the pipelines add beside EventID (windows-audit's OperationType
    for registry events) are not part of the table.

A small hand-written supplement (SUPPLEMENT_* below) may fill what the pipelines are silent
about; each entry says why, is listed in the output's provenance, and is refused once a
pipeline gives the same answer (so it shrinks as the pipelines catch up).

With a Sigma corpus (default: $RULELINT_SHARED_CORPUS or ../shared/corpus, + sigma), also
prints which `logsource.category` / `logsource.service` values of `product: windows` rules the
table does not cover, with how many rules use each (to stderr; the table does not depend on it).

Usage: .venv/bin/python tools/gen_logsources.py [--sigma-corpus DIR | --no-corpus-check] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from sigma.pipelines.sysmon import sysmon_pipeline
from sigma.pipelines.windows import pipelines as WINDOWS_PIPELINES
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation, ChangeLogsourceTransformation

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "lint" / "replay" / "logsources.json"
SIGMA_CORPUS = Path(os.environ.get("RULELINT_SHARED_CORPUS", REPO.parent / "shared" / "corpus")) / "sigma"
PACKAGES = ("pysigma", "pysigma-pipeline-sysmon", "pysigma-pipeline-windows")
PRODUCT = "windows"
CHANNEL_FIELD = "Channel"
EVENT_ID_FIELD = "EventID"

# --- hand-written supplement: few, each filling a gap no pipeline covers ---------------------
# Checked against pysigma 1.5.1, pysigma-pipeline-sysmon 2.0.0, pysigma-pipeline-windows 2.0.1:
# they already give everything Sigma's taxonomy documents for the log sources SigmaHQ rules use
# (process_creation -> Security 4688 via windows-audit; ps_script 4104, ps_module 4103,
# ps_classic_start 400, ps_classic_provider_start 600, ps_classic_script 800 via
# windows-logsources), so both lists are empty. Add entries as
#   SUPPLEMENT_CATEGORIES: (category, channel, (event ids...)),  # why
#   SUPPLEMENT_SERVICES:   (service, (channels...)),             # why
# Not added, on purpose: file_access / file_rename (Sigma's taxonomy names only the
# Microsoft-Windows-Kernel-File ETW provider, no event log channel), and services fewer than
# five rules use (see the corpus check).
SUPPLEMENT_CATEGORIES: list[tuple[str, str, tuple[int, ...]]] = []
SUPPLEMENT_SERVICES: list[tuple[str, tuple[str, ...]]] = []


def _pipelines() -> list[tuple[str, ProcessingPipeline]]:
    """(name, pipeline) for every pipeline read, in a fixed order."""
    out = [("sysmon", sysmon_pipeline())]
    out += [(name, WINDOWS_PIPELINES[name]()) for name in sorted(WINDOWS_PIPELINES)]
    return out


def _windows_logsource(item) -> LogsourceCondition | None:
    """The item's LogsourceCondition when it is its only rule condition and names product windows."""
    conds = item.rule_conditions or []
    if len(conds) != 1 or not isinstance(conds[0], LogsourceCondition) or item.rule_condition_negation:
        return None
    cond = conds[0]
    return cond if cond.product == PRODUCT else None


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _services(pipelines: list[tuple[str, ProcessingPipeline]]) -> dict[str, list[str]]:
    """service -> channels, from items adding a Channel condition under a service-only logsource."""
    services: dict[str, set[str]] = defaultdict(set)
    for _name, pipeline in pipelines:
        for item in pipeline.items:
            cond = _windows_logsource(item)
            if cond is None or not cond.service or cond.category:
                continue
            tr = item.transformation
            if isinstance(tr, AddConditionTransformation) and CHANNEL_FIELD in tr.conditions:
                services[cond.service].update(str(c) for c in _as_list(tr.conditions[CHANNEL_FIELD]))
    return {s: sorted(c) for s, c in services.items()}


def _categories(pipelines: list[tuple[str, ProcessingPipeline]],
                services: dict[str, list[str]]) -> dict[str, dict[str, set[int]]]:
    """category -> channel -> EventIDs, pairing each pipeline's EventID and ChangeLogsource items."""
    out: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for name, pipeline in pipelines:
        event_ids: dict[str, set[int]] = defaultdict(set)
        targets: dict[str, set[str]] = defaultdict(set)
        for item in pipeline.items:
            cond = _windows_logsource(item)
            if cond is None or not cond.category or cond.service:
                continue
            tr = item.transformation
            if isinstance(tr, AddConditionTransformation) and EVENT_ID_FIELD in tr.conditions:
                event_ids[cond.category].update(int(e) for e in _as_list(tr.conditions[EVENT_ID_FIELD]))
            elif isinstance(tr, ChangeLogsourceTransformation) and tr.service:
                targets[cond.category].add(tr.service)
        for category in sorted(set(event_ids) | set(targets)):
            if not event_ids[category] or len(targets[category]) != 1:
                raise SystemExit(f"{name}: category {category!r} has event ids {sorted(event_ids[category])} "
                                 f"and target services {sorted(targets[category])}: expected both, one service")
            (service,) = targets[category]
            if service not in services:
                raise SystemExit(f"{name}: category {category!r} moves to service {service!r}, which maps to no channel")
            for channel in services[service]:
                out[category][channel].update(event_ids[category])
    return out


def build() -> dict:
    pipelines = _pipelines()
    services = _services(pipelines)
    categories = _categories(pipelines, services)
    supplement = []
    for service, channels in SUPPLEMENT_SERVICES:
        if set(channels) <= set(services.get(service, ())):
            raise SystemExit(f"supplement service {service!r} -> {list(channels)}: the pipelines give it now; drop it")
        services[service] = sorted(set(services.get(service, ())) | set(channels))
        supplement.append(f"service {service}: {', '.join(channels)}")
    for category, channel, ids in SUPPLEMENT_CATEGORIES:
        if set(ids) <= categories.get(category, {}).get(channel, set()):
            raise SystemExit(f"supplement {category} -> {channel} {list(ids)}: the pipelines give it now; drop it")
        categories[category][channel].update(ids)
        supplement.append(f"category {category}: {channel} EventID {', '.join(map(str, ids))}")
    return {
        "provenance": {
            "generator": "tools/gen_logsources.py",
            "packages": {p: importlib.metadata.version(p) for p in PACKAGES},
            "supplement": sorted(supplement),
        },
        "categories": {
            category: [{"channel": ch, "event_ids": sorted(ids)} for ch, ids in sorted(channels.items())]
            for category, channels in sorted(categories.items())
        },
        "services": {s: sorted(c) for s, c in sorted(services.items())},
    }


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --- corpus check ------------------------------------------------------------------------------

def _load_docs(text: str) -> list:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError:
        return []


def corpus_usage(root: Path) -> tuple[Counter, Counter]:
    """(categories, services): how many `product: windows` rules under root use each value."""
    categories: Counter = Counter()
    services: Counter = Counter()
    for path in sorted(root.rglob("*.yml")):
        for doc in _load_docs(path.read_text(encoding="utf-8", errors="replace")):
            logsource = doc.get("logsource") if isinstance(doc, dict) else None
            if not isinstance(logsource, dict) or logsource.get("product") != PRODUCT:
                continue
            if isinstance(logsource.get("category"), str):
                categories[logsource["category"]] += 1
            if isinstance(logsource.get("service"), str):
                services[logsource["service"]] += 1
    return categories, services


def uncovered(data: dict, root: Path) -> dict[str, dict[str, int]]:
    """{"categories": {name: rules}, "services": {name: rules}} for values the table lacks."""
    categories, services = corpus_usage(root)
    return {
        "categories": {c: n for c, n in categories.most_common() if c not in data["categories"]},
        "services": {s: n for s, n in services.most_common() if s not in data["services"]},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigma-corpus", type=Path, default=SIGMA_CORPUS, help="Sigma rules folder to check coverage against")
    ap.add_argument("--no-corpus-check", action="store_true", help="skip the coverage check")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(data), encoding="utf-8")
    print(f"{args.out}: {len(data['categories'])} categories, {len(data['services'])} services, "
          f"{len(data['provenance']['supplement'])} supplement entries")
    if args.no_corpus_check:
        return
    if not args.sigma_corpus.is_dir():
        print(f"corpus check skipped: {args.sigma_corpus} not found", file=sys.stderr)
        return
    missing = uncovered(data, args.sigma_corpus)
    for kind, counts in missing.items():
        print(f"uncovered {kind} in {args.sigma_corpus} (product: windows): "
              + (", ".join(f"{k} ({n} rules)" for k, n in counts.items()) or "none"), file=sys.stderr)


if __name__ == "__main__":
    main()
