"""`rulelint explain RULE [PATH...]`: how a rule's noise score was reached.

RULE is a rule file, a rule id, or a substring of a title; PATH... is the corpus (default:
the configuration's, as for linting). The rule is judged against the corpus exactly as a
lint run judges it (a corpus copy of it is replaced, never its own peer), through the
same `explain` the JSON `noise_score` comes from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from ..analysis.noise import NoiseBreakdown, explain
from ..config import ConfigError, load_config
from ..engine import corpus_index, replace_in_index
from ..run_cache import corpus_print, open_cache
from ..settings import Settings
from ..loaders import discover, load_paths, reset_memos
from ..model.index import CorpusIndex
from ..model.rule import NormalizedRule
from .main import _cache_dir, _common, _missing, _reference, _reference_args, _warn, _with_progress


def explain_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rulelint explain",
                                description="Show how a rule's noise score is reached from its logic and the corpus.")
    p.add_argument("rule", metavar="RULE", help="a rule file, a rule id, or a substring of a rule title")
    p.add_argument("paths", nargs="*", metavar="PATH", help="the corpus (default: `corpus` of the configuration)")
    p.add_argument("--config", metavar="FILE", default=None)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--baseline", nargs="+", metavar="FILE_OR_DIR", default=None,
                   help="event files of ordinary activity the rule is replayed over (default: `baseline` of the "
                        "configuration); measured hits outrank the estimate")
    _common(p)
    _reference_args(p)
    return p


class Ambiguous(Exception):
    pass


def find_rule(index: CorpusIndex, token: str) -> str | None:
    """The path of the corpus rule a token names: its id, else one title containing it."""
    key = index.by_id.get(token)
    if key is not None:
        return index.rules[key].path
    needle = token.casefold()
    hits = sorted({r.path for r in index.rules.values() if r.title and needle in r.title.casefold()
                   and os.path.exists(r.path)})
    if len(hits) > 1:
        exact = [r.path for r in index.rules.values() if r.title.casefold() == needle and os.path.exists(r.path)]
        if len(exact) == 1:
            return exact[0]
        raise Ambiguous(f"{len(hits)} rules have {token!r} in their title, e.g. " + ", ".join(hits[:5]))
    return hits[0] if hits else None


def judged_rules(index: CorpusIndex, path: str) -> list[NormalizedRule]:
    """Load a rule file and put it in the index in place of its corpus copy (as `run` does
    with targets)."""
    loaded = load_paths([path], 1)
    if loaded.findings and not loaded.rules:
        raise ValueError(loaded.findings[0].message)
    replace_in_index(index, loaded.rules, {os.path.abspath(path)})
    return loaded.rules


def cmd_explain(argv: list[str]) -> int:
    args = explain_parser().parse_args(argv)
    try:
        config = load_config(args.config, start=(args.paths or ["."])[0])
    except ConfigError as e:
        print(f"rulelint: {e}", file=sys.stderr)
        return 2
    paths = args.paths or config.corpus
    if not paths:
        print("rulelint: no PATH given and no `corpus` in the configuration", file=sys.stderr)
        return 2
    if _missing(paths):
        return 2
    settings = Settings(options=config.options, jobs=args.jobs, cache_dir=_cache_dir(args, config),
                        config=config, reference=_reference(args, config))
    reset_memos()
    cache = open_cache(settings)
    files = discover(paths)
    warnings: list[str] = []
    stored = corpus_print(settings, cache, files) if cache else None
    base = _with_progress(not args.no_progress and args.format == "text",
                          lambda factory: corpus_index(files, settings, cache, factory, stored_print=stored,
                                                       warnings=warnings))
    if cache:
        cache.save()
        warnings += cache.warnings
    _warn(warnings)
    index = base.index
    try:
        path = args.rule if os.path.isfile(args.rule) else find_rule(index, args.rule)
    except Ambiguous as e:
        print(f"rulelint: {e}; give the id or the file", file=sys.stderr)
        return 2
    if path is None:
        print(f"rulelint: no rule file, id or title {args.rule!r} in the corpus", file=sys.stderr)
        return 2
    try:
        rules = judged_rules(index, path)
    except ValueError as e:
        print(f"rulelint: {path} cannot be loaded: {e}", file=sys.stderr)
        return 2
    common = settings.commonness(index)
    results = [(r, explain(r, common)) for r in rules]
    baseline = args.baseline or (config.baseline if config else [])
    measured = {}
    if baseline:
        from ..replay.baseline import evidence

        measured = evidence(rules, baseline, settings.cache_dir, settings.jobs)
    if args.format == "json":
        docs = []
        for r, b in results:
            doc = {"key": r.key, "id": r.id, "title": r.title, "vendor": r.vendor, "path": r.path,
                   "noise_score": b.score, "breakdown": b.to_dict()}
            m = measured.get(r.key)
            if m is not None:
                doc["baseline"] = {"hits": m.hits, "scope_events": m.scope_events, "events": m.events,
                                   "measured_score": round(m.rate_score(), 3), "weight": round(m.weight(), 3)}
                doc["noise_score"] = m.combine(b.score)
            docs.append(doc)
        json.dump({"rules": docs}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for r, b in results:
            render_text(r, b, sys.stdout)
            if baseline:
                _render_measured(r, b.score, measured.get(r.key), sys.stdout)
    return 0


def _render_measured(rule: NormalizedRule, estimate: float, m, out: TextIO) -> None:
    if m is None:
        out.write("baseline: the rule cannot be judged on single events, so the estimate stands\n")
        return
    out.write(f"baseline: {m.describe()}: measured {_num(m.rate_score())}, weight {_num(m.weight())} against "
              f"the estimate {_num(estimate)}: noise score {_num(m.combine(estimate))}\n")


def _num(x: float) -> str:
    return f"{x:.3f}"


def render_text(rule: NormalizedRule, b: NoiseBreakdown, out: TextIO) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..renderers.text import console_for, inert

    con = console_for(out)
    con.print(f"[bold]{escape(inert(rule.title or rule.key))}[/bold]  {escape(inert(rule.path))}")
    con.print(f"noise score [bold]{_num(b.score)}[/bold]  ({escape(b.note or rule.vendor + ' ' + b.kind)})")
    if b.references:
        for ref in b.references:
            con.print(f"  references {escape(inert(ref['reference']))}: {_num(ref['score'])}")
        con.print(f"  = min {_num(min(r['score'] for r in b.references))} x 0.5 = {_num(b.score)}")
        return
    if not b.branches:
        return
    con.print(f"log source {escape(b.source)}: {b.source_rules} rules in the corpus, so an indicator is "
              f"half-common at T = {b.threshold} other rules (corpus threshold {b.corpus_threshold})")
    for n, br in enumerate(b.branches, 1):
        t = Table(title=f"AND-branch {n} of {len(b.branches)}: {_num(br.score)}", title_justify="left",
                  header_style="bold")
        for col, just in (("predicate (loosest value)", "left"), ("values", "right"), ("reach", "right"),
                          ("generality", "left"), ("score", "right"), ("factor", "right")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for i, p in enumerate(br.predicates):
            factor = "base" if i == 0 else _num(0.5 + 0.5 * p.score)
            t.add_row(escape(inert(p.written)), str(p.values), str(p.reach), p.generality or "-",
                      _num(p.score), factor)
        con.print(t)
        for x in br.exclusions:
            why = "drops only empty values" if x.trivial else f"{x.excluded_by} other rules exclude it"
            con.print(f"  exclusion not ({escape(inert(x.text))}): {why}, x {_num(x.factor)}")
        con.print(f"  branch = base {_num(br.base)} x structure {_num(br.structure)} x exclusions "
                  f"{_num(br.exclusion_factor)} = {_num(br.score)}")
    if b.truncated:
        con.print("  (the condition has more AND-branches than are expanded; the rest are not counted)")
    combined = f"1 - prod(1 - branch) = {_num(b.combined)}" if len(b.branches) > 1 else _num(b.combined)
    if len(b.branches) > 1:
        combined = ("noisy-OR of the branches (those resting on one most specific predicate capped at it)"
                    + (f", capped at {_num(b.shared_cap)} by a predicate every branch needs" if b.shared_cap < 1 else "")
                    + f" = {_num(b.combined)}")
    tail = f" x {b.beyond_factor} ({escape(b.beyond_query)})" if b.beyond_query else ""
    con.print(f"total = {combined}{tail}" + (f" = [bold]{_num(b.score)}[/bold]" if tail else ""))
