"""The cache never changes an answer: a hypothesis state machine edits, adds, deletes,
renames and touches rule files of all three vendors (and the Splunk macros they use) in a
small corpus, runs random commands with one cache folder, and after every command
compares its output with the same command run with `--no-cache`.

The rules come from the project's own `corpus/` (every vendor, correlations, broken
files); edits swap values, ids (fresh or another rule's), titles and whole contents, or
cut a file in half, so runs see duplicates, id collisions and parse errors too.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rulelint.cli.main import main
from rulelint.loaders import RULE_SUFFIXES

REPO = Path(__file__).resolve().parent.parent
POOL = sorted(p for p in (REPO / "corpus").rglob("*") if p.is_file() and p.suffix in (".yml", ".toml")
              and "macros" not in p.parts)
START = [REPO / "corpus" / rel for rel in (
    "sigma/process_creation/proc_creation_win_regsvr32_scrobj_remote.yml",
    "sigma/process_creation/proc_creation_win_regsvr32_scrobj_remote_temp.yml",
    "sigma/process_creation/proc_creation_win_cmd_shadow_copy_delete.yml",
    "sigma/correlation/correlation_win_cmd_shadow_delete_burst.yml",
    "sigma/process_creation/proc_creation_win_cmd_any_execution.yml",
    "sigma/process_creation/proc_creation_win_anydesk_silent_install.yml",
    "sigma/dns_query/dns_query_win_teamviewer_domain_non_browser.yml",
    "sigma/broken/proc_creation_win_unknown_modifier.yml",
    "elastic/command_and_control_anydesk_silent_install.toml",
    "elastic/execution_cmd_process_started.toml",
    "elastic/broken/execution_eql_unclosed_bracket.toml",
    "splunk/detections/endpoint/anydesk_silent_install.yml",
    "splunk/detections/endpoint/cmd_shell_started.yml",
    "splunk/detections/endpoint/regsvr32_remote_scriptlet.yml",
)]
MACROS = sorted((REPO / "corpus" / "splunk" / "macros").glob("*.yml"))
TECHNIQUES = ("T1219", "T1059.003", "T1003", "T1218.010", "T1053.005")
ID_LINE = re.compile(r"^(id: |rule_id = \")([0-9a-f-]{36})", re.M)
VALUE = re.compile(r"(['\"])([A-Za-z0-9_.\\-]{3,40})\1")
EDITS = ("value", "title", "new_id", "borrow_id", "copy_other", "break")
# Output differs from run to run only in how long it took.
SECONDS = re.compile(r'"seconds": [0-9.e-]+|\b[0-9]+\.[0-9]+ ?s\b')


def vendor_dir(pool_file: Path) -> str:
    rel = pool_file.relative_to(REPO / "corpus")
    return str(rel.parent)


class CacheNeverChangesAnswers(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="rulelint-cache-sm-"))
        self.corpus = self.root / "corpus"
        self.outside = self.root / "outside"
        self.cache = self.root / "cache"
        self.outside.mkdir()
        (self.root / ".rulelint.toml").write_text('corpus = ["corpus"]\n', encoding="utf-8")
        self.serial = 0
        self.clock = 1_700_000_000 * 10**9
        self.commands = 0
        self.uncached: dict[tuple, tuple[int, str, str]] = {}

    # -- the files ---------------------------------------------------------------------

    def rule_files(self) -> list[Path]:
        return sorted(p for p in self.corpus.rglob("*") if p.is_file() and p.name.lower().endswith(RULE_SUFFIXES)
                      and "macros" not in p.parts)

    def write(self, path: Path, text: str) -> None:
        """Write and move the mtime forward, as an editor saving a file later does."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.clock += 3 * 10**9
        os.utime(path, ns=(self.clock, self.clock))

    def fresh_name(self, like: Path) -> str:
        self.serial += 1
        return f"{like.stem}_{self.serial}{like.suffix}"

    @initialize(left_out=st.lists(st.sampled_from(START), max_size=3, unique=True))
    def start(self, left_out: list[Path]) -> None:
        """Most of START: a pair where one rule lies inside the other, a correlation and
        the rule it names, the same tool seen by all three vendors, broken files."""
        for m in MACROS:
            self.write(self.corpus / "splunk" / "macros" / m.name, m.read_text(encoding="utf-8"))
        for p in START:
            if p not in left_out:
                self.write(self.corpus / vendor_dir(p) / p.name, p.read_text(encoding="utf-8"))

    @rule(source=st.sampled_from(POOL))
    def add_rule(self, source: Path) -> None:
        self.write(self.corpus / vendor_dir(source) / self.fresh_name(source), source.read_text(encoding="utf-8"))

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data(), how=st.sampled_from(EDITS))
    def edit_rule(self, data: st.DataObject, how: str) -> None:
        files = self.rule_files()
        path = data.draw(st.sampled_from(files), label="file")
        text = path.read_text(encoding="utf-8")
        if how == "value":
            found = list(VALUE.finditer(text))
            if not found:
                return
            m = data.draw(st.sampled_from(found), label="value")
            other = data.draw(st.sampled_from(found), label="replacement")
            new = other.group(2) if other.start() != m.start() else m.group(2) + "x"
            text = text[:m.start(2)] + new + text[m.end(2):]
        elif how == "title":
            text = re.sub(r"^(title: |name: |name = \")", r"\1Edited ", text, count=1, flags=re.M)
        elif how in ("new_id", "borrow_id"):
            donor = ID_LINE.search(data.draw(st.sampled_from(files), label="donor").read_text(encoding="utf-8"))
            new_id = donor.group(2) if how == "borrow_id" and donor else str(uuid.uuid4())
            text = ID_LINE.sub(lambda m: m.group(1) + new_id, text, count=1)
        elif how == "copy_other":
            text = data.draw(st.sampled_from(files), label="copied").read_text(encoding="utf-8")
        else:
            text = text[: len(text) // 2]
        self.write(path, text)

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data())
    def delete_rule(self, data: st.DataObject) -> None:
        data.draw(st.sampled_from(self.rule_files()), label="deleted").unlink()

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data())
    def rename_rule(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(self.rule_files()), label="renamed")
        path.rename(path.with_name(self.fresh_name(path)))

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data())
    def touch_rule(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(self.rule_files()), label="touched")
        self.clock += 3 * 10**9
        os.utime(path, ns=(self.clock, self.clock))

    @rule(macro=st.sampled_from(MACROS), how=st.sampled_from(["edit", "delete", "restore"]))
    def change_macro(self, macro: Path, how: str) -> None:
        path = self.corpus / "splunk" / "macros" / macro.name
        if how == "delete":
            path.unlink(missing_ok=True)
        elif how == "restore":
            self.write(path, macro.read_text(encoding="utf-8"))
        elif path.exists():
            self.write(path, re.sub(r"^definition: (.*)$", r"definition: \1 OR sourcetype=edited",
                                    path.read_text(encoding="utf-8"), count=1, flags=re.M))

    @rule(source=st.sampled_from(POOL), edited=st.booleans())
    def write_outside(self, source: Path, edited: bool) -> None:
        """A rule outside the corpus, to be a `--target` (the same id as a corpus rule or not)."""
        text = source.read_text(encoding="utf-8")
        if edited:
            text = ID_LINE.sub(lambda m: m.group(1) + str(uuid.uuid4()), text, count=1)
        self.write(self.outside / self.fresh_name(source), text)

    # -- the commands --------------------------------------------------------------------

    def same_answer(self, argv: list[str], output_flag: bool = True) -> None:
        """Run the command with the shared cache and with --no-cache: the same exit code,
        the same output, and no warning from the cached run."""
        self.commands += 1
        results = []
        # The uncached answer is a function of the files and the command: not run twice.
        state = (tuple(argv), tuple(sorted((str(p), p.read_bytes()) for root in (self.corpus, self.outside)
                                           for p in root.rglob("*") if p.is_file())))
        for cache in (["--cache-dir", str(self.cache)], ["--no-cache"]):
            if cache == ["--no-cache"] and state in self.uncached:
                results.append(self.uncached[state])
                continue
            out_file = self.root / f"out-{len(results)}"
            out_file.unlink(missing_ok=True)
            extra = ["-o", str(out_file)] if output_flag else []
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main([*argv, *cache, *extra, "--no-reference", "-j", "1"])
            text = out_file.read_text(encoding="utf-8") if output_flag and out_file.exists() else stdout.getvalue()
            results.append((code, SECONDS.sub("", text), stderr.getvalue()))
        self.uncached[state] = results[1]
        (cached_code, cached, cached_err), (code, fresh, _) = results
        assert cached_code == code, (argv, cached_err)
        assert cached == fresh, argv
        assert "warning: cannot" not in cached_err and "damaged" not in cached_err, cached_err

    @rule(fmt=st.sampled_from(["json", "sarif", "text"]), ignore=st.sampled_from([None, "RL202", "RL101,RL103"]))
    def lint(self, fmt: str, ignore: str | None) -> None:
        self.same_answer([str(self.corpus), "--format", fmt, "--no-progress"] + (["--ignore", ignore] if ignore else []))

    def draw_targets(self, data: st.DataObject) -> list[Path]:
        """A few rules, or a whole folder of them (rules judged against their neighbours)."""
        pool = self.rule_files() + sorted(self.outside.iterdir())
        folders = sorted({p.parent for p in pool})
        if data.draw(st.booleans(), label="whole folder"):
            folder = data.draw(st.sampled_from(folders), label="folder")
            return [p for p in pool if p.parent == folder]
        return data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True), label="targets")

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data(), after_full_run=st.booleans())
    def lint_targets(self, data: st.DataObject, after_full_run: bool) -> None:
        """Targets judged against the corpus; after a whole-corpus run they meet its stored
        index, else whatever the cache holds from earlier steps."""
        if after_full_run:
            self.lint("json", None)
        targets = self.draw_targets(data)
        self.same_answer([str(self.corpus), "--target", *map(str, targets), "--format", "json", "--no-progress"])

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data(), edit_first=st.booleans())
    def hook(self, data: st.DataObject, edit_first: bool) -> None:
        """The pre-commit case: rules of the corpus changed (edited here first, or not)."""
        changed = [p for p in self.draw_targets(data) if self.corpus in p.parents]
        if not changed:
            return
        if edit_first:
            self.edit_rule(data, data.draw(st.sampled_from(EDITS), label="edit"))
        self.same_answer(["hook", *map(str, changed), "--config", str(self.root / ".rulelint.toml"),
                          "--format", "json", "--no-progress"])

    @precondition(lambda self: self.rule_files())
    @rule(data=st.data())
    def explain(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(self.rule_files()), label="explained")
        self.same_answer(["explain", str(path), str(self.corpus), "--format", "json", "--no-progress"],
                         output_flag=False)

    @rule()
    def indicators(self) -> None:
        self.same_answer(["indicators", str(self.corpus), "--format", "json", "--no-progress"], output_flag=False)

    @rule(technique=st.sampled_from(TECHNIQUES))
    def report_technique(self, technique: str) -> None:
        self.same_answer(["report", "technique", technique, str(self.corpus), "--format", "json", "--no-progress"])

    @invariant()
    def never_writes_rule_files(self) -> None:
        assert not any(p.name.startswith(".tmp-") for p in self.corpus.rglob("*"))

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


CacheNeverChangesAnswers.TestCase.settings = settings(
    max_examples=int(os.environ.get("RULELINT_STATEFUL_EXAMPLES", "50")), stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_cache_never_changes_answers = CacheNeverChangesAnswers.TestCase
