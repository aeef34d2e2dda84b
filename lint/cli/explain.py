"""`rulelint explain RULE [PATH...]`: how a rule's noise score and its robustness level were reached.

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
from ..analysis.robustness import Robustness, robustness_of
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
    p.add_argument("paths", nargs="*", metavar="PATH", help="the corpus (default: `corpus` of the configuration, else the current folder)")
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
    # A file of the corpus replaces its own rules only (as in a whole-corpus lint run, where a
    # copy with the same id stays beside it); a file from elsewhere replaces by id, as targets do.
    here = os.path.abspath(path)
    in_corpus = any(os.path.abspath(r.path) == here for r in index.rules.values())
    replace_in_index(index, loaded.rules, {here}, by_id=not in_corpus)
    return loaded.rules


def cmd_explain(argv: list[str]) -> int:
    args = explain_parser().parse_args(argv)
    try:
        config = load_config(args.config, start=(args.paths or ["."])[0])
    except ConfigError as e:
        print(f"rulelint: {e}", file=sys.stderr)
        return 2
    # As `rulelint hook`: the configuration's corpus, else the repository (the current folder).
    paths = args.paths or config.corpus or ["."]
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
                   "noise_score": b.score, "breakdown": b.to_dict(), "robustness": robustness_of(r).to_dict()}
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
            render_robustness(robustness_of(r), sys.stdout)
    return 0


def _render_measured(rule: NormalizedRule, estimate: float | None, m, out: TextIO) -> None:
    if m is None:
        out.write("baseline: the rule cannot be judged on single events, so the estimate stands\n")
        return
    out.write(f"baseline: {m.describe()}: measured {_num(m.rate_score())}, weight {_num(m.weight())} against "
              f"the estimate {_num(estimate)}: noise score {_num(m.combine(estimate))}\n")


def _num(x: float | None) -> str:
    return "none" if x is None else f"{x:.3f}"


def _share(x: float) -> str:
    """A share as people read it: `1 in 40`."""
    if x >= 0.5:
        return f"{x:.0%}"
    return f"1 in {round(1 / x):,}" if x > 0 else "0"


def render_text(rule: NormalizedRule, b: NoiseBreakdown, out: TextIO) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..renderers.text import console_for, inert

    con = console_for(out)
    con.print(f"[bold]{escape(inert(rule.title or rule.key))}[/bold]  {escape(inert(rule.path))}")
    if b.score is None:
        con.print(f"noise score [bold]none[/bold]: {escape(b.note)}")
        return
    what = f"{b.intent}: {b.note}" if b.note else b.intent
    con.print(f"noise score [bold]{_num(b.score)}[/bold] = estimate {b.estimate:.3g} ** (1/4): expected to match "
              f"about {_share(b.estimate)} hosts' ordinary activity in a working period  ({escape(what)})")
    if b.references:
        for ref in b.references:
            con.print(f"  references {escape(inert(ref['reference']))}: score {_num(ref['score'])}, "
                      f"estimate {ref['estimate']:.3g}")
        con.print(f"  = quietest {b.logic:.3g} x {b.estimate / b.logic if b.logic else 0:.2g}")
        return
    con.print(f"log source {escape(b.source)} (prior: {escape(b.prior_source or 'none of its tables')}); "
              f"reach: corpus rules using the value (this one included), as lint counts it; "
              f"{b.source_rules} read this log source (T = {b.threshold})")
    if b.predicates:
        t = Table(header_style="bold")
        for col, just in (("", "left"), ("predicate (commonest value)", "left"), ("values", "right"),
                          ("share", "right"), ("reach", "right"), ("evidence", "left")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for p in b.predicates:
            t.add_row("+" if p.positive else "not", escape(inert(p.written)), str(p.values), _share(p.share),
                      str(p.reach), escape(p.evidence))
        con.print(t)
    for x in b.exclusions:
        why = ("drops only empty values" if x.trivial else
               f"{'known benign activity' if x.benign else 'an exclusion'} matching {_share(x.share)}")
        con.print(f"  exclusion not ({escape(inert(x.text))}): {why}, weight {x.weight:.2f}")
    con.print("  combined: an OR adds its parts (1 - prod(1 - share)); an AND keeps its rarest part and "
              "narrows by the square root of each other; exclusions divide by 1 + ln(1 + their weights)")
    tail = f" x {b.beyond_factor} ({escape(b.beyond_query)})" if b.beyond_query else ""
    con.print(f"total = {b.logic:.3g}{tail} = {b.estimate:.3g}: noise score [bold]{_num(b.score)}[/bold]")


def render_robustness(rb: Robustness, out: TextIO) -> None:
    """The Summiting the Pyramid reasoning beside the noise reasoning (docs/robustness.md)."""
    from rich.markup import escape
    from rich.table import Table

    from ..renderers.text import console_for, inert

    con = console_for(out)
    if rb.level is None:
        con.print(f"robustness [bold]none[/bold]: {escape(rb.reason)}")
        if rb.column:
            con.print(f"  column {rb.column}: {escape(rb.column_reason)}")
        return
    con.print(f"robustness [bold]{rb.label}[/bold] (Summiting the Pyramid: level {rb.level} of 5, column "
              f"{rb.column or 'undecided'})")
    con.print(f"  column {rb.column or '-'}: {escape(rb.column_reason)}")
    if rb.observables:
        t = Table(header_style="bold")
        for col, just in (("", "left"), ("observable", "left"), ("level", "right"), ("why", "left")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for o in rb.observables:
            lv = "-" if o.level is None else str(o.level)
            mark = "*" if o is rb.decider else ""
            t.add_row(("+" if o.positive else "not") + mark, escape(inert(o.text())), lv, escape(o.reason))
        con.print(t)
    con.print("  combined: AND takes the lowest level, OR (and the values of one test) the highest; an "
              "exclusion scores as its observables with the operators flipped (its values: the lowest), AND-ed "
              "with the rest; routing is given")
    con.print(f"  set by: {escape(inert(rb.reason))}")
    con.print(f"  to evade: {escape(inert(rb.evade))}")
