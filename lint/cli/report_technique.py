"""`rulelint report technique T PATH...` and `rulelint report techniques PATH... -o DIR`."""

from __future__ import annotations

import argparse
import os
import sys

from ..engine import CorpusBase, corpus_index
from ..run_cache import open_cache
from ..settings import Settings
from ..loaders import discover
from ..model.predicate import plural
from .main import _cache_dir, _common, _missing, _output, _reference, _reference_args, _warn, _with_progress

FORMATS = ("markdown", "html", "json")


def _parser(prog: str, many: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"rulelint report {prog}",
        description="The corpus catalog page of every ATT&CK technique, with an index page." if many else
        "The corpus catalog page of one ATT&CK technique: the fields, indicators and exclusions "
        "its rules use, with their reach across the whole corpus.")
    if not many:
        p.add_argument("technique", metavar="TECHNIQUE", help="an ATT&CK id such as T1219.002")
    p.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders: the corpus")
    p.add_argument("--format", choices=FORMATS, default="html" if many else "markdown")
    p.add_argument("-o", "--output", metavar="DIR" if many else "FILE", required=many,
                   help="the folder for the pages" if many else "write here instead of stdout")
    p.add_argument("--limit", type=int, default=50, help="rows per table (default 50)")
    p.add_argument("--baseline", nargs="+", metavar="FILE_OR_DIR", default=None,
                   help="event files of ordinary activity: each rule's hits on them join its noise score "
                        "and show as 'hits in baseline'")
    _common(p)
    _reference_args(p)
    return p


def _load(args: argparse.Namespace) -> tuple[CorpusBase, dict[str, float], dict[str, int]] | None:
    if _missing(args.paths):
        return None
    ref = _reference(args)
    if ref and not os.path.isfile(ref):
        print(f"rulelint: no such reference index: {ref}", file=sys.stderr)
        return None
    settings = Settings(jobs=args.jobs, cache_dir=_cache_dir(args), reference=ref)
    cache = open_cache(settings)
    warnings: list[str] = []
    base = _with_progress(not args.no_progress,
                          lambda f: corpus_index(discover(args.paths), settings, cache, f, warnings=warnings))
    if cache:
        cache.save()
        warnings += cache.warnings
    _warn(warnings)
    from ..analysis.noise import noise_score

    common = settings.commonness(base.index)
    noise = {r.key: noise_score(r, common) for r in base.rules if r.techniques}
    hits: dict[str, int] = {}
    if args.baseline:
        from ..replay.baseline import evidence

        measured = evidence([r for r in base.rules if r.techniques and r.has_logic], args.baseline,
                            settings.cache_dir, settings.jobs)
        for key, m in measured.items():
            hits[key] = m.hits
            noise[key] = m.combine(noise[key])  # measured hits outrank the estimate
    return base, noise, hits


def cmd_report_technique(argv: list[str]) -> int:
    args = _parser("technique", many=False).parse_args(argv)
    from ..reports import technique as tech
    from ..reports.technique_render import RENDER

    t = args.technique.strip().upper()
    if not tech.TECHNIQUE_ID.match(t):
        print(f"rulelint: {args.technique!r} is not an ATT&CK technique id (T1234 or T1234.001)", file=sys.stderr)
        return 2
    from ..model.attack import attack

    known = attack().technique(t)
    if known is None:
        print(f"rulelint: {t} is not a technique of ATT&CK Enterprise v{attack().version}", file=sys.stderr)
        return 2
    loaded = _load(args)
    if loaded is None:
        return 2
    base, noise, hits = loaded
    report = tech.build(t, base.rules, base.index, noise, limit=args.limit, baseline=hits if args.baseline else None)
    if not report.rule_list:
        print(f"rulelint: warning: no rule under {', '.join(args.paths)} is tagged {t}", file=sys.stderr)
    with _output(args.output) as out:
        out.write(RENDER[args.format](report))
    if args.output:
        print(f"rulelint: wrote the {t} page ({plural(len(report.rule_list), 'rule')}) to {args.output}",
              file=sys.stderr)
    return 0


def cmd_report_techniques(argv: list[str]) -> int:
    args = _parser("techniques", many=True).parse_args(argv)
    from ..reports import technique as tech
    from ..reports.technique_render import INDEX, RENDER, page_name

    loaded = _load(args)
    if loaded is None:
        return 2
    base, noise, hits = loaded
    os.makedirs(args.output, exist_ok=True)
    reports = []
    for t, rules in sorted(tech.techniques_in(base.rules).items()):
        report = tech.build(t, rules, base.index, noise, limit=args.limit, baseline=hits if args.baseline else None)
        reports.append(report)
        with open(os.path.join(args.output, page_name(t, args.format)), "w", encoding="utf-8") as fh:
            fh.write(RENDER[args.format](report))
    index_name = page_name("index", args.format)
    with open(os.path.join(args.output, index_name), "w", encoding="utf-8") as fh:
        fh.write(INDEX[args.format](reports))
    print(f"rulelint: wrote {len(reports)} technique pages and {index_name} to {args.output}", file=sys.stderr)
    return 0
