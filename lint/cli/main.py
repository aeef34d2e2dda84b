"""Command line: `rulelint PATH...` and its sub-commands."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO, TypeVar

from .. import __version__
from ..checks import CHECKS, lookup, matches
from ..cache import DEFAULT_DIR
from ..config import Config, ConfigError, load_config
from ..loaders import RULE_SUFFIXES
from ..reference import BUNDLED
from ..engine import run
from ..findings import exit_code
from ..parallel import own_heap
from ..settings import Settings
from ..findings import SEVERITIES

T = TypeVar("T")
FORMATS = ("text", "json", "sarif", "github", "markdown")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", "-j", type=int, default=None, help="worker processes for loading (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the persistent cache")
    p.add_argument("--cache-dir", metavar="DIR", default=None,
                   help=f"where the cache lives (default: $RULELINT_CACHE_DIR or ./{DEFAULT_DIR})")


def _reference_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", metavar="FILE", default=None,
                   help="a reference index (`rulelint index build`) whose rules join the corpus "
                        "(default: the one bundled with rulelint)")
    p.add_argument("--no-reference", action="store_true", help="judge against the given corpus alone")


def _reference(args: argparse.Namespace, config: Config | None = None) -> str | None:
    """The reference index to use: --reference, the configuration's, else the bundled one."""
    if args.no_reference:
        return None
    if args.reference:
        return args.reference
    if config is not None and config.reference:
        return os.path.join(config.root, config.reference)
    return str(BUNDLED) if BUNDLED.is_file() else None


def _cache_dir(args: argparse.Namespace, config: Config | None = None) -> str | None:
    if args.no_cache:
        return None
    return (args.cache_dir or os.environ.get("RULELINT_CACHE_DIR")
            or (config.cache_dir if config else None) or DEFAULT_DIR)


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        print(f"rulelint: warning: {w}", file=sys.stderr)


def lint_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rulelint",
        description="Lint detection rules with corpus context. Sub-commands: "
                    "indicators PATH..., report technique|techniques|pr ..., explain RULE, rule CODE, rules, hook FILE... (pre-commit), "
                    "index build PATH... -o FILE.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="rule files or folders: the corpus (default: `corpus` of the configuration)")
    p.add_argument("--target", nargs="+", metavar="FILE", default=None,
                   help="judge only these rules, against the corpus given by PATH")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="configuration file (default: .rulelint.toml or pyproject.toml [tool.rulelint], "
                        "searched upwards from the first PATH)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--select", action="append", default=[], metavar="CHECKS",
                   help="only these checks (codes, names or code prefixes, comma-separated)")
    p.add_argument("--ignore", action="append", default=[], metavar="CHECKS", help="skip these checks")
    p.add_argument("--fail-on", choices=SEVERITIES, default=None,
                   help="exit 1 when a finding is at or above this severity (default: warning)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--version", action="version", version=f"rulelint {__version__}")
    _common(p)
    _reference_args(p)
    return p


def indicators_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rulelint indicators", description="The corpus reach table.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--field", action="append", default=[], help="only these fields (repeatable)")
    p.add_argument("--min-reach", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="at most this many rows (text default: 50)")
    _common(p)
    _reference_args(p)
    return p


def index_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rulelint index build",
        description="Build a reference index (indicator keys, rule ids and paths, no rule text) from a corpus.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-o", "--output", metavar="FILE", required=True)
    _common(p)
    return p


def _tokens(values: list[str]) -> list[str]:
    return [t for v in values for t in v.split(",") if t.strip()]


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if not path:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as fh:
        yield fh


def _with_progress(enabled: bool, work: Callable[[Callable | None], T]) -> T:
    """Run `work(progress_factory)` under a rich progress bar on stderr while loading
    thousands of files; without a terminal (or when disabled) the factory is None."""
    if not enabled or not sys.stderr.isatty():
        return work(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), transient=True)

    def factory(total: int, label: str) -> Callable[[int], None]:
        task = progress.add_task(label, total=total)
        return lambda n: progress.advance(task, n)

    with progress:
        return work(factory)


def _missing(paths: list[str]) -> bool:
    """Say which given paths do not exist; True when any is missing (a usage error)."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        print(f"rulelint: no such file or folder: {', '.join(missing)}", file=sys.stderr)
    return bool(missing)


def _run_settings(args: argparse.Namespace, config: Config) -> Settings | None:
    """Settings from --select/--ignore (else the configuration's), the reference and the
    cache; None after saying why when a check token or the reference is unknown."""
    select = _tokens(getattr(args, "select", [])) or config.select
    ignore = _tokens(getattr(args, "ignore", [])) or config.ignore
    unknown = [t for t in select + ignore if not any(matches(c, t) for c in CHECKS)]
    if unknown:
        print(f"rulelint: unknown check(s): {', '.join(unknown)} (see `rulelint rules`)", file=sys.stderr)
        return None
    ref = _reference(args, config)
    if ref and not os.path.isfile(ref):
        print(f"rulelint: no such reference index: {ref}", file=sys.stderr)
        return None
    return Settings(select=select, ignore=ignore, options=config.options, jobs=args.jobs,
                    cache_dir=_cache_dir(args, config), config=config, reference=ref, baseline=config.baseline)


def cmd_lint(argv: list[str], hook: bool = False) -> int:
    """`rulelint PATH...`; as `rulelint hook FILE...` (pre-commit) the files are the
    targets and the corpus comes from the configuration (default: the current folder)."""
    args = lint_parser().parse_args(argv)
    try:
        config = load_config(args.config, start=(args.paths or ["."])[0])
    except ConfigError as e:
        print(f"rulelint: {e}", file=sys.stderr)
        return 2
    if args.target and not hook:
        # `--target FILE PATH`: a folder after the targets is the corpus, not a target.
        args.paths += [p for p in args.target if os.path.isdir(p)]
        args.target = [p for p in args.target if not os.path.isdir(p)]
    if hook:
        # pre-commit passes every changed file its `types` matched; non-rule files load as nothing.
        args.target = [p for p in args.paths + (args.target or []) if p.lower().endswith(RULE_SUFFIXES)]
        args.paths = config.corpus or ["."]
        if not args.target:
            return 0
    elif not args.paths:
        if not config.corpus:
            print("rulelint: no PATH given and no `corpus` in the configuration", file=sys.stderr)
            return 2
        args.paths = config.corpus
    if _missing(args.paths + (args.target or [])):
        return 2
    settings = _run_settings(args, config)
    if settings is None:
        return 2
    result = _with_progress(not args.no_progress and args.format == "text",
                            lambda factory: run(args.paths, args.target, settings, factory,
                                                need_rules=args.format == "json"))
    _warn(result.warnings)
    result.compact = hook or bool(args.target)
    from ..renderers import RENDERERS

    with _output(args.output) as out:
        RENDERERS[args.format](result, out)
    return exit_code(result.findings, args.fail_on or config.fail_on or "warning")


def cmd_indicators(argv: list[str]) -> int:
    args = indicators_parser().parse_args(argv)
    if _missing(args.paths):
        return 2
    from ..engine import indicator_index
    from ..renderers.indicators import render_indicators

    settings = Settings(jobs=args.jobs, cache_dir=_cache_dir(args), reference=_reference(args))
    index, warnings = _with_progress(not args.no_progress and args.format == "text",
                                     lambda factory: indicator_index(args.paths, settings, factory))
    _warn(warnings)
    limit = args.limit if args.limit is not None else (50 if args.format == "text" else None)
    render_indicators(index, sys.stdout, args.format, fields=args.field, min_reach=args.min_reach, limit=limit)
    return 0


def cmd_index(argv: list[str]) -> int:
    if not argv or argv[0] != "build":
        print("usage: rulelint index build PATH... -o FILE", file=sys.stderr)
        return 2
    args = index_parser().parse_args(argv[1:])
    if _missing(args.paths):
        return 2
    from .. import reference
    from ..engine import load_corpus
    from ..run_cache import open_cache

    settings = Settings(jobs=args.jobs, cache_dir=_cache_dir(args))
    cache = open_cache(settings)
    loaded, _ = _with_progress(not args.no_progress, lambda f: load_corpus(args.paths, settings, f, cache))
    if cache:
        cache.save()
    data = reference.build(loaded.rules, args.paths)
    tmp = f"{args.output}.part"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, args.output)
    _, meta = reference.read(args.output)
    print(f"rulelint: wrote {args.output}: {reference.describe(meta)}, {meta['indicators']:,} indicators, "
          f"{len(data) / 1e6:.1f} MB")
    return 0


def cmd_rule(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: rulelint rule CODE|NAME", file=sys.stderr)
        return 2
    check = lookup(argv[0])
    if check is None:
        print(f"rulelint: no check {argv[0]!r} (see `rulelint rules`)", file=sys.stderr)
        return 2
    from ..renderers.docs import render_check_doc

    render_check_doc(check, sys.stdout)
    return 0


def cmd_rules(argv: list[str]) -> int:
    from ..renderers.docs import render_check_list

    render_check_list(CHECKS, sys.stdout, as_json="--format=json" in argv or argv[-2:] == ["--format", "json"])
    return 0


def _lazy(module: str, name: str) -> Callable[[list[str]], int]:
    """A sub-command kept in its own module, imported only when used."""
    def handler(rest: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(rest)
    return handler


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    handlers = {"indicators": cmd_indicators, "rule": cmd_rule, "rules": cmd_rules,
                "hook": lambda rest: cmd_lint(rest, hook=True), "index": cmd_index,
                "report": _lazy("report", "cmd_report"), "explain": _lazy("explain", "cmd_explain"),
                "replay": _lazy("replay", "cmd_replay"), "test": _lazy("replay", "cmd_test")}
    try:
        # `rulelint rules` in a SigmaHQ checkout means its `rules/` folder, not the sub-command.
        if argv and argv[0] in handlers and not os.path.isdir(argv[0]):
            return handlers[argv[0]](argv[1:])
        return cmd_lint(argv)
    except SystemExit as e:  # argparse: usage errors are exit 2, --help is 0
        return int(e.code) if isinstance(e.code, int) else 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # an internal error is exit 2 with a clear line, never a traceback dump
        if os.environ.get("RULELINT_DEBUG"):
            raise
        print(f"rulelint: internal error: {type(e).__name__}: {e} (set RULELINT_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 2


def entry() -> None:
    """The `rulelint` command: main(), then exit without tearing the heap down. A run
    leaves hundreds of thousands of objects, and freeing them one by one at exit costs
    a noticeable share of a pre-commit hook's time; there is nothing left to clean up."""
    own_heap()  # the process is this one run: the collector policy of `parallel`
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`rulelint ... | head`): not an error
        pass
    except OSError:
        code = code or 2
    os._exit(code)

