"""`rulelint replay --events FILE_OR_DIR... PATH...` and `rulelint test [PATH...]`."""

from __future__ import annotations

import argparse
import os
import sys

from ..engine import load_corpus
from ..findings import exit_code
from ..run_cache import open_cache
from ..settings import Settings
from .main import _cache_dir, _common, _missing, _output, _warn, _with_progress


def replay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rulelint replay",
                                description="Run every rule under PATH over recorded events and count what fires.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    p.add_argument("--events", action="append", required=True, metavar="FILE_OR_DIR",
                   help="event files (JSON, NDJSON, EVTX, zip of JSON) or folders of them; "
                        "`--events A B PATH` reads A and B as events and PATH, the first folder with rules, as rules")
    p.add_argument("--format", choices=("text", "json", "markdown", "html"), default="text")
    p.add_argument("--output", "-o", metavar="FILE", default=None, help="write here instead of standard output")
    p.add_argument("--top", type=int, default=None, help="rules shown in text, Markdown and HTML (default 30/50/100)")
    p.add_argument("--no-lab-metadata", action="store_true",
                   help="do not read `_metadata` beside lab recordings to set the simulated attack's events apart")
    _common(p)
    return p


def split_events(argv: list[str]) -> list[str]:
    """`--events A B RULES...` as argparse reads it: `--events A --events B RULES...`. After
    `--events`, a name is an event source until the first folder that holds rules (or a
    rule file); from there on, names are rule paths."""
    from ..loaders import RULE_SUFFIXES, discover

    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a != "--events":
            out.append(a)
            i += 1
            continue
        i += 1
        first = True
        while i < len(argv) and not argv[i].startswith("-"):
            name = argv[i]
            is_rules = not first and (name.lower().endswith(RULE_SUFFIXES) if not os.path.isdir(name)
                                      else bool(discover([name])))
            if is_rules:
                break
            out += ["--events", name]
            first = False
            i += 1
    return out


def cmd_replay(argv: list[str]) -> int:
    args = replay_parser().parse_args(split_events(argv))
    if _missing(args.paths + args.events):
        return 2
    from ..replay.render import RENDERERS
    from ..replay.run import replay
    from ..replay.sources import discover_events

    settings = Settings(jobs=args.jobs, cache_dir=_cache_dir(args))
    files = discover_events(args.events)
    if not files:
        print(f"rulelint: no event files under {', '.join(args.events)}", file=sys.stderr)
        return 2

    def work(factory):
        cache = open_cache(settings)
        loaded, _ = load_corpus(args.paths, settings, factory, cache)
        if cache:
            cache.save()
        tick = factory(len(files), "Replaying events") if factory else None
        return loaded, replay(loaded.rules, files, args.jobs, tick, lab_metadata=not args.no_lab_metadata)

    loaded, result = _with_progress(not args.no_progress and args.format != "json", work)
    unloaded = {f.path for f in loaded.findings if f.name == "parse-error"}
    if unloaded:
        _warn([f"{len(unloaded)} rule files could not be loaded (run `rulelint` on them to see why)"])
    with _output(args.output) as out:
        render = RENDERERS[args.format]
        if args.top is not None and args.format != "json":
            render(result, out, args.top)  # type: ignore[call-arg]
        else:
            render(result, out)
    return 0


def test_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rulelint test",
                                description="Check that rules match their sample events (SigmaHQ regression_data info.yml).")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="folders holding info.yml test descriptions (default: the current folder)")
    p.add_argument("--rules", nargs="+", metavar="PATH", default=None,
                   help="where the rules are (default: the folder holding `regression_data`, else PATH)")
    p.add_argument("--format", choices=("text", "json", "sarif", "github", "markdown"), default="text")
    _common(p)
    return p


def cmd_test(argv: list[str]) -> int:
    args = test_parser().parse_args(argv)
    paths = args.paths or ["."]
    if _missing(paths + (args.rules or [])):
        return 2
    from ..replay.samples import find_infos, rules_root, run_tests
    from ..renderers import RENDERERS
    from ..run_result import RunResult
    import time

    start = time.perf_counter()
    infos = find_infos(paths)
    if not infos:
        print(f"rulelint: no info.yml test descriptions under {', '.join(paths)}", file=sys.stderr)
        return 2
    rule_paths = args.rules or sorted({rules_root(i) or os.path.dirname(i) for i in infos})
    settings = Settings(jobs=args.jobs, cache_dir=_cache_dir(args))

    def work(factory):
        cache = open_cache(settings)
        loaded, files = load_corpus(rule_paths, settings, factory, cache)
        if cache:
            cache.save()
        return loaded, files

    loaded, files = _with_progress(not args.no_progress and args.format == "text", work)
    outcome = run_tests(infos, loaded.rules)
    from collections import Counter

    counts = {"rules": len(loaded.rules), "corpus_rules": len(loaded.rules),
              "by_vendor": dict(Counter(r.vendor for r in loaded.rules)), "common_threshold": None,
              "tests": outcome.tests, "passed": outcome.passed, "failed": outcome.tests - outcome.passed,
              "sample_events": outcome.events}
    result = RunResult(corpus=loaded.rules, targets=[], findings=sorted(outcome.findings, key=lambda f: f.sort_key()),
                       index=None, common=None, noise={}, files=files, corpus_errors=len({f.path for f in loaded.findings if f.name == "parse-error"}),
                       seconds=time.perf_counter() - start, counts=counts)
    if args.format == "text":
        from ..renderers.text import inert

        for f in result.findings:
            print(inert(f"{f.path}:{f.line or '-'}: {f.code} {f.name}: {f.message}"))
        print(f"{outcome.passed} of {outcome.tests} sample tests pass ({outcome.events:,} sample events, "
              f"{len(infos)} test descriptions, {result.seconds:.1f} s).")
    else:
        RENDERERS[args.format](result, sys.stdout)
    return exit_code(result.findings, "error")
