"""Generate lint/model/fields_data.json: native field names -> canonical (ECS) names.

Reads, by instantiating pySigma's pipelines and walking their FieldMappingTransformation
items (never copying their tables):
  * Sigma -> ECS: the Elasticsearch backend's `ecs_*` pipelines (`ecs_windows_old` and the
    raw `zeek` pipeline are skipped: they emit non-ECS names). Each mapping is keyed by the
    logsource context its LogsourceCondition names (category, else service; "*" for none).
  * Splunk CIM -> ECS: the Splunk backend's pipelines map Sigma -> CIM; joined with the above
    through the shared Sigma name (the CIM DNS table is keyed by ECS names already).
  * optionally security_content's data_sources/*.yml `field_mappings` (data_model: cim),
    joined the same way; `X|endswith` there means "basename of X".

Conflicts are resolved deterministically: most votes, ties to the first seen in pipeline
order (ecs_windows first: Windows is the bulk of Sigma; the rest by name). For Splunk, tiers
are tried in order (pipeline join, hand derivation, data_sources) and the first with a value
wins. Every conflict is listed in the output.

Usage: .venv/bin/python tools/gen_fields.py [--splunk-data-sources DIR | --no-data-sources] [--out FILE]
(data_sources default: $RULELINT_SHARED_CORPUS or ../shared/corpus, + splunk/data_sources)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from sigma.pipelines.elasticsearch import pipelines as ES_PIPELINES
from sigma.pipelines.splunk import pipelines as SPLUNK_PIPELINES
from sigma.processing.transformations import FieldMappingTransformation

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "lint" / "model" / "fields_data.json"
DATA_SOURCES = Path(os.environ.get("RULELINT_SHARED_CORPUS", REPO.parent / "shared" / "corpus")) / "splunk" / "data_sources"
PACKAGES = ("pysigma", "pysigma-backend-elasticsearch", "pysigma-backend-splunk")

# --- hand-written derivations: few, each filling a gap no table covers --------------------
# Sigma -> ECS for frequent SigmaHQ fields no ECS pipeline maps (context, field, ecs).
# The generator refuses to let these override a pipeline mapping.
HAND_SIGMA = [
    ("*", "Details", "registry.data.strings"),       # registry value data (Elastic registry events)
    ("*", "Computer", "host.name"),                   # event's host; joins CIM Processes.dest etc.
    ("*", "eventName", "event.action"),               # CloudTrail eventName (Elastic aws integration)
    ("*", "eventSource", "event.provider"),           # CloudTrail eventSource
    ("*", "cs-uri-query", "url.query"),               # webserver query string, like zeek's c-uri-query
    ("auditd", "type", "auditd.message_type"),        # auditd record type (Auditbeat)
]
# CIM -> ECS for CIM fields no table joins (bare CIM name, ecs).
HAND_CIM = {
    "registry_value_name": "registry.value",          # CIM value name = ECS registry.value
    "action": "event.action",                         # CIM action (created, allowed...) = ECS event.action
}
# CIM `<x>_name` is the basename of CIM `<x>_path`: derived through the ECS path->name pairs
# (process_path -> process.executable -> process.name; also parent_process_, file_).
CIM_NAME_FROM_PATH = ("_path", "_name")
# Sigma's Windows DNS category reads the CIM DNS dataset (the table's context is network/dns).
HAND_CATEGORY_DATASETS = {"dns_query": "DNS"}
# CIM data model root objects beyond those in the pipeline tables, for prefix stripping.
HAND_CIM_DATASETS = [
    "All_Traffic", "Authentication", "All_Changes", "Change", "Network_Traffic", "Network_Sessions",
    "All_Sessions", "Services", "Endpoint", "Network_Resolution", "All_Risk", "Risk", "All_Email",
    "Email", "Updates", "Vulnerabilities", "Alerts", "All_Certificates", "Certificates",
    "Intrusion_Detection", "IDS_Attacks", "Malware_Attacks", "Ports", "Data_Access",
]
# `.text` is ECS's multi-field for full-text search; `.caseless` comes from the pipelines.
HAND_MULTI_FIELD_SUFFIXES = [".text"]
# In image_load the loaded module is ECS's dll.* (Elastic Defend library events); Sysmon via
# winlogbeat (and the ECS pipeline) put it in file.*.
CATEGORY_REWRITES = {"image_load": [["file.", "dll."]]}
ECS_PATH_SUFFIXES = (".executable", ".path")


def _ecs_pipeline_names() -> list[str]:
    names = sorted(n for n in ES_PIPELINES if n.startswith("ecs_") and n != "ecs_windows_old")
    return sorted(names, key=lambda n: n != "ecs_windows")


def _contexts(item) -> list[str]:
    """Logsource contexts of a processing item: category, else service; both when both."""
    keys = []
    for c in item.rule_conditions or []:
        cat, svc = getattr(c, "category", None), getattr(c, "service", None)
        keys += [k for k in (cat, svc) if k] or ["*"]
    return keys or ["*"]


def _mappings(pipeline):
    """(context, source field, [targets]) for every field mapping in a pipeline."""
    for item in pipeline.items:
        if isinstance(item.transformation, FieldMappingTransformation):
            for src, dst in item.transformation.mapping.items():
                targets = dst if isinstance(dst, list) else [dst]
                for ctx in _contexts(item):
                    yield ctx, src, [t.strip() for t in targets]


class Votes:
    """Counts per key, first-seen order breaking ties."""

    def __init__(self) -> None:
        self.counts: dict = defaultdict(Counter)

    def add(self, key, value) -> None:
        self.counts[key][value] += 1

    def pick(self, key, conflicts: list, label: list):
        c = self.counts[key]
        best = max(c, key=lambda v: c[v])  # max keeps the first of equal counts (insertion order)
        if len(c) > 1:
            conflicts.append(label + [best, sorted(v for v in c if v != best)])
        return best


def build(data_sources: Path | None = None) -> dict:
    conflicts: list = []
    suffixes: set[str] = set(HAND_MULTI_FIELD_SUFFIXES)

    # --- Sigma -> ECS ---------------------------------------------------------------------
    raw = []
    for name in _ecs_pipeline_names():
        for ctx, src, targets in _mappings(ES_PIPELINES[name]()):
            clean = []
            for t in targets:
                if "*" in t:  # field-name patterns (zeek.*.arg) are not one field
                    continue
                if t.endswith(".caseless"):  # keyword multi-field of the same field
                    suffixes.add(".caseless")
                    t = t[: -len(".caseless")]
                clean.append(t)
            if clean:
                raw.append((ctx, src, clean))
    # A list target is alternatives: keep the one most used across all mappings.
    freq = Counter(t for _, _, ts in raw for t in ts)
    votes = Votes()
    for ctx, src, ts in raw:
        votes.add((src, ctx), max(ts, key=lambda t: freq[t]))
    pipeline_fields = {src for _, src, _ in raw}
    for ctx, src, ecs in HAND_SIGMA:
        assert src not in pipeline_fields, f"hand mapping {src} now has a pipeline mapping"
        votes.add((src, ctx), ecs)

    per_field: dict[str, dict[str, str]] = defaultdict(dict)
    for (src, ctx) in votes.counts:
        per_field[src][ctx] = votes.pick((src, ctx), conflicts, ["sigma", src, ctx])
    sigma: dict[str, dict[str, str]] = {}
    for src, by_ctx in per_field.items():
        if "*" in by_ctx:
            default = by_ctx["*"]
        else:  # no context-free mapping: the value most contexts agree on, ties to the first
            dv = Votes()
            for ctx in by_ctx:
                dv.add(src, by_ctx[ctx])
            default = dv.pick(src, [], [])
        sigma[src] = {"": default} | {c: v for c, v in by_ctx.items() if c != "*" and v != default}

    def sigma_lookup(field: str, ctx: str) -> str | None:
        e = sigma.get(field)
        return (e.get(ctx) or e[""]) if e else None

    # --- ECS path -> name pairs (from the targets, incl. their category rewrites) ----------
    targets = {v for e in sigma.values() for v in e.values()}
    for rules in CATEGORY_REWRITES.values():
        targets |= {new + t[len(old):] for old, new in rules for t in set(targets) if t.startswith(old)}
    name_fields = {t: t.rsplit(".", 1)[0] + ".name" for t in targets
                   if t.endswith(ECS_PATH_SUFFIXES) and t.rsplit(".", 1)[0] + ".name" in targets}

    def basename_of(ecs: str) -> str:
        return name_fields.get(ecs, ecs)

    # --- Splunk CIM -> ECS through the shared Sigma name -----------------------------------
    tiers = {"pipeline": Votes(), "hand": Votes(), "data_sources": Votes()}
    category_datasets: dict[str, str] = {}
    datasets: set[str] = set(HAND_CIM_DATASETS)
    splunk_names = sorted(SPLUNK_PIPELINES)
    for name in splunk_names:
        pipeline = SPLUNK_PIPELINES[name]()
        for item in pipeline.items:  # data model names, e.g. "Endpoint.Processes"
            if getattr(item.transformation, "key", None) == "data_model_set":
                datasets.update(str(item.transformation.val).split("."))
        for ctx, src, (cim, *_) in _mappings(pipeline):
            ds = cim.split(".")[0] if "." in cim else ""
            if ds:
                datasets.add(ds)
                if ctx != "*":
                    category_datasets[ctx] = ds
            # the CIM DNS table is keyed by ECS names already
            ecs = sigma_lookup(src, ctx) or (src if re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", src) else None)
            if ecs:
                tiers["pipeline"].add(cim, ecs)
    for ctx, ds in HAND_CATEGORY_DATASETS.items():
        assert ctx not in category_datasets
        category_datasets[ctx] = ds
    dataset_category = {}
    for ctx, ds in sorted(category_datasets.items()):
        dataset_category.setdefault(ds, ctx)

    ds_files: list[str] = []
    if data_sources is not None:
        for path in sorted(data_sources.glob("*.yml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            used = False
            for fm in doc.get("field_mappings") or []:
                if fm.get("data_model") != "cim":
                    continue
                ctx = dataset_category.get(str(fm.get("data_set", "")).split(".")[-1], "*")
                for src, cim in (fm.get("mapping") or {}).items():
                    base, _, mod = str(src).partition("|")
                    ecs = sigma_lookup(base, ctx)
                    if ecs and mod in ("", "endswith"):
                        tiers["data_sources"].add(cim, basename_of(ecs) if mod else ecs)
                        used = True
            if used:
                ds_files.append(path.name)

    # hand tier: `<x>_name` from `<x>_path` (HAND_CIM names are added bare, below)
    for cim, c in list(tiers["pipeline"].counts.items()):
        if cim.endswith(CIM_NAME_FROM_PATH[0]):
            ecs = max(c, key=lambda v: c[v])
            if ecs in name_fields:
                tiers["hand"].add(cim[: -len(CIM_NAME_FROM_PATH[0])] + CIM_NAME_FROM_PATH[1], name_fields[ecs])

    splunk: dict[str, str] = {}
    for tier, v in tiers.items():
        for cim in v.counts:
            if cim not in splunk:
                splunk[cim] = v.pick(cim, conflicts, ["splunk", cim, tier])
            elif set(v.counts[cim]) - {splunk[cim]}:
                conflicts.append(["splunk", cim, tier, splunk[cim], sorted(set(v.counts[cim]) - {splunk[cim]})])

    # bare CIM names (after `drop_dm_object_name`): only when every dataset agrees
    bare_values: dict[str, set] = defaultdict(set)
    for cim, ecs in splunk.items():
        if "." in cim:
            bare_values[cim.split(".", 1)[1]].add(ecs)
    splunk_bare = {b: (next(iter(vs)) if len(vs) == 1 else None) for b, vs in bare_values.items()}
    for bare, ecs in HAND_CIM.items():  # in every dataset
        assert splunk_bare.get(bare) is None, f"hand CIM name {bare} now has a table mapping"
        splunk_bare[bare] = ecs

    aliases: dict[str, set] = defaultdict(set)
    for src, e in sigma.items():
        for v in e.values():
            aliases[v].add(src)
    for cim, ecs in list(splunk.items()) + list(splunk_bare.items()):
        if ecs:
            aliases[ecs].add(cim)

    return {
        "provenance": {
            "generator": "tools/gen_fields.py",
            "packages": {p: importlib.metadata.version(p) for p in PACKAGES},
            "ecs_pipelines": {n: ES_PIPELINES[n]().name for n in _ecs_pipeline_names()},
            "splunk_pipelines": {n: SPLUNK_PIPELINES[n]().name for n in splunk_names},
            "splunk_data_sources": ds_files,
            "resolution": "most votes, ties to first seen (ecs_windows, then pipelines by name); "
                          "Splunk tiers pipeline > hand > data_sources",
        },
        "sigma": sigma,
        "splunk": splunk,
        "splunk_bare": splunk_bare,
        "splunk_datasets": sorted(datasets),
        "category_datasets": category_datasets,
        "name_fields": name_fields,
        "multi_field_suffixes": sorted(suffixes),
        "category_rewrites": CATEGORY_REWRITES,
        "aliases": {k: sorted(v) for k, v in aliases.items()},
        "conflicts": sorted(conflicts),
    }


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splunk-data-sources", type=Path, default=DATA_SOURCES,
                    help="security_content data_sources/ folder")
    ap.add_argument("--no-data-sources", action="store_true", help="pySigma pipelines only")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    ds = None if args.no_data_sources else args.splunk_data_sources
    if ds is not None and not ds.is_dir():
        sys.exit(f"{ds} not found: pass --splunk-data-sources DIR or --no-data-sources")
    data = build(ds)
    args.out.write_text(render(data), encoding="utf-8")
    print(f"{args.out}: {len(data['sigma'])} Sigma, {len(data['splunk']) + len(data['splunk_bare'])} Splunk fields")


if __name__ == "__main__":
    main()
