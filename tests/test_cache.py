"""The persistent cache: a warm run answers as a cold one, only changed files are
parsed again, Splunk macros invalidate their detections, targets judged against the
stored corpus index, damaged cache files, several processes on one cache, and the
cache's own folder."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rulelint.cache as cache_mod
from rulelint.cache import unseal
import rulelint.loaders as loaders
from rulelint.cli.main import main
from rulelint.engine import Settings, run
from rulelint.loaders import discover
from rulelint.model import snapshot

from .conftest import sigma_rule

CMD_ID = "5d1a7c2e-0b3f-4c61-9e2a-000000000000"


def cmd_rule(i: int, *, noisy: bool = False, rule_id: str | None = None) -> str:
    """A cmd.exe rule: specific (a rare command line and an explorer.exe exclusion) or noisy."""
    if noisy:
        detection = """
            selection:
              Image|endswith: '\\cmd.exe'
            condition: selection
        """
    else:
        detection = f"""
            selection:
              Image|endswith: '\\cmd.exe'
              CommandLine|contains: 'rare-flag-{i}'
            filter:
              ParentImage|endswith: '\\explorer.exe'
            condition: selection and not filter
        """
    return sigma_rule(f"cmd rule {i}", detection, tags=("attack.execution", "attack.t1059.003"),
                      rule_id=rule_id or f"5d1a7c2e-0b3f-4c61-9e2a-{i:012d}")


ELASTIC = '''\
[metadata]
creation_date = "2026/11/27"
maturity = "production"

[rule]
author = ["tests"]
description = "A command shell started."
language = "kuery"
name = "Command Shell Started"
risk_score = 21
rule_id = "c1e5a0d7-3f2b-4e9a-8c61-0000000000aa"
severity = "low"
type = "query"
query = """
event.category:process and event.type:start and process.name:cmd.exe
"""

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
reference = "https://attack.mitre.org/techniques/T1059/"

[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"
'''

SPLUNK = """\
name: Suspicious Whoami
id: 11111111-2222-3333-4444-555555555555
version: 1
status: production
type: TTP
search: '`sysmon_process` Image="*\\\\whoami.exe" | stats count by dest | `suspicious_whoami_filter`'
tags:
  mitre_attack_id:
  - T1033
"""

MACRO = "name: sysmon_process\ndefinition: sourcetype={sourcetype} EventCode=1\n"

BROKEN_SIGMA = sigma_rule("broken", """
    selection:
      Image|endswith: '\\whoami.exe'
    condition: selection and not missing_filter
""")


def build_corpus(root: Path) -> Path:
    """Four specific cmd.exe rules, a noisy one, a broken one, an Elastic rule and a
    Splunk detection whose search comes from a macro in macros/ beside detections/."""
    files = {f"sigma/cmd_{i}.yml": cmd_rule(i) for i in range(4)}
    files["sigma/cmd_noisy.yml"] = cmd_rule(9, noisy=True)
    files["sigma/broken.yml"] = BROKEN_SIGMA
    files["elastic/cmd_started.toml"] = ELASTIC
    files["splunk/detections/endpoint/whoami.yml"] = SPLUNK
    files["splunk/macros/sysmon_process.yml"] = MACRO.format(sourcetype="sysmon")
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path / "corpus")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def stable(doc: dict) -> dict:
    """A JSON report without its timing."""
    doc = json.loads(json.dumps(doc))
    doc["summary"].pop("seconds", None)
    return doc


def lint_json(capsys, *args: str) -> tuple[int, dict, str]:
    code = main([*map(str, args), "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def lint_proc(*args: str, cwd: str | None = None) -> tuple[int, dict, str]:
    proc = subprocess.run([sys.executable, "-m", "rulelint", *map(str, args), "--format", "json"],
                          capture_output=True, text=True, timeout=600, cwd=cwd)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def noise_of(doc: dict) -> dict[str, float]:
    return {r["key"]: r["noise_score"] for r in doc["rules"]}


def touch(path: Path, seconds: int = 5) -> None:
    """Move the mtime without changing the content."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def cache_files(cache: Path) -> dict[str, Path]:
    """The cache's files by kind (exactly one of each main kind is expected)."""
    main_files = [p for p in cache.glob("files-*.pkl") if not p.name.endswith("-recent.pkl")]
    recent = list(cache.glob("files-*-recent.pkl"))
    index = list(cache.glob("index-*.bin"))
    assert len(main_files) == 1 and len(index) == 1 and len(recent) <= 1, sorted(os.listdir(cache))
    out = {"files": main_files[0], "index": index[0]}
    if recent:
        out["recent"] = recent[0]
    return out


def assert_cache_readable(cache: Path) -> None:
    """Every pickle of the cache loads as a dict, the index snapshot loads, no temp file is left."""
    pickles = list(cache.glob("*.pkl")) + list((cache / "runs").glob("*.pkl"))
    assert pickles
    for p in pickles:
        with open(p, "rb") as fh:
            assert isinstance(pickle.loads(unseal(fh.read())), dict), p
    for p in cache.glob("index-*.bin"):
        head, _, body = unseal(p.read_bytes()).partition(b"\n")
        assert len(head) == 40 and int(head, 16) >= 0, p
        snapshot.load(body)
    leftovers = [p for p in cache.rglob("*") if p.name.startswith(".tmp-")]
    assert not leftovers


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """Absolute paths of the files actually parsed (load_paths runs in-process below 200 files)."""
    seen: list[str] = []
    real = loaders.load_stamped

    def counting(path: str):
        seen.append(os.path.abspath(path))
        return real(path)

    monkeypatch.setattr(loaders, "load_stamped", counting)
    return seen


def forget_process_state() -> None:
    """What a new process would not know: the macro-folder fingerprints and macro tables
    memoized per process (see test_macro_edit_seen_by_a_long_lived_process)."""
    loaders.reset_memos()


# -- 1. a warm run answers as a cold one ------------------------------------------------

def test_warm_run_equals_cold_run_and_no_cache(corpus, cache_dir, capsys):
    code0, uncached, err0 = lint_json(capsys, corpus, "--no-cache", "--cache-dir", cache_dir)
    assert not cache_dir.exists()  # --no-cache neither reads nor writes
    code1, cold, err1 = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert list(cache_dir.glob("files-*.pkl")) and list((cache_dir / "runs").glob("*.pkl"))
    code2, warm, err2 = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert code0 == code1 == code2 == 1
    assert stable(cold) == stable(uncached)
    assert stable(warm) == stable(cold)
    assert noise_of(warm) == noise_of(uncached) and all(v is not None for v in noise_of(warm).values())
    assert "warning" not in err0 + err1 + err2
    # The corpus exercises every vendor and the main checks, so the comparison means something.
    assert {r["vendor"] for r in warm["rules"]} == {"sigma", "elastic", "splunk"}
    names = {f["name"] for f in warm["findings"]}
    assert {"parse-error", "noisy-standalone-indicator"} <= names, names


def test_warm_engine_run_is_answered_from_the_stored_run(corpus, cache_dir, loads):
    settings = Settings(cache_dir=str(cache_dir), jobs=1)
    cold = run([str(corpus)], settings=settings)
    loads.clear()
    warm = run([str(corpus)], settings=settings)
    assert not cold.from_cache and warm.from_cache
    assert loads == []  # the judged rules came from the cache too
    uncached = run([str(corpus)], settings=Settings(jobs=1))
    assert [f.to_dict() for f in warm.findings] == [f.to_dict() for f in cold.findings] \
        == [f.to_dict() for f in uncached.findings]
    assert warm.noise == cold.noise == uncached.noise
    assert [r.key for r in warm.targets] == [r.key for r in uncached.targets]
    assert warm.summary() | {"seconds": 0} == uncached.summary() | {"seconds": 0}


def test_cached_paths_follow_the_invocation(corpus, cache_dir, capsys, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    lint_json(capsys, corpus.name, "--cache-dir", cache_dir)  # relative: corpus/sigma/...
    _, cached, _ = lint_json(capsys, corpus, "--cache-dir", cache_dir)  # absolute
    _, uncached, _ = lint_json(capsys, corpus, "--no-cache")
    assert [f["path"] for f in cached["findings"]] == [f["path"] for f in uncached["findings"]]
    assert [r["path"] for r in cached["rules"]] == [r["path"] for r in uncached["rules"]]


# -- 2. only changed files are parsed again ---------------------------------------------

def test_only_changed_files_are_parsed_again(corpus, cache_dir, capsys, loads):
    every = sorted(os.path.abspath(p) for p in discover([str(corpus)]))
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert sorted(loads) == every  # cold: each file once

    loads.clear()
    _, warm, _ = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert loads == []

    changed = corpus / "sigma" / "cmd_1.yml"
    changed.write_text(cmd_rule(1, noisy=True), encoding="utf-8")
    loads.clear()
    code, after_edit, err = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert loads == [str(changed)]
    noisy_paths = {f["path"] for f in after_edit["findings"] if f["name"] == "noisy-standalone-indicator"}
    assert str(changed) in noisy_paths  # the edit is seen
    _, uncached, _ = lint_json(capsys, corpus, "--no-cache")
    assert stable(after_edit) == stable(uncached)

    # Touched, not changed: the content hash confirms the entry; nothing is parsed.
    touched = corpus / "sigma" / "cmd_2.yml"
    touch(touched)
    loads.clear()
    _, after_touch, _ = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert loads == []
    assert stable(after_touch) == stable(after_edit)

    # Touched and, elsewhere, one edited file: only the edited one is parsed.
    touch(corpus / "elastic" / "cmd_started.toml")
    edit(corpus / "sigma" / "cmd_3.yml", "rare-flag-3", "rare-flag-33")
    loads.clear()
    _, both, _ = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert loads == [str(corpus / "sigma" / "cmd_3.yml")]
    _, uncached, _ = lint_json(capsys, corpus, "--no-cache")
    assert stable(both) == stable(uncached)


def test_same_size_edit_with_a_new_mtime_is_seen(corpus, cache_dir, capsys, loads):
    """Size unchanged, mtime moved: the hash decides, and here it differs."""
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    path = corpus / "sigma" / "cmd_0.yml"
    edit(path, "rare-flag-0", "rare-flag-X")  # same length
    touch(path)
    loads.clear()
    _, doc, _ = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert loads == [str(path)]
    rule = next(r for r in doc["rules"] if r["path"] == str(path))
    assert any("rare-flag-x" in v for p in rule["predicates"] for v in p["values"])


# -- 3. macros invalidate their detections -----------------------------------------------

def splunk_sourcetypes(doc: dict) -> set[str]:
    rule = next(r for r in doc["rules"] if r["vendor"] == "splunk")
    return {v for p in rule["predicates"] if p["field"] == "sourcetype" for v in p["values"]}


def test_macro_edit_invalidates_the_splunk_detection(corpus, cache_dir):
    """Each run a new process, as on the command line."""
    code, first, _ = lint_proc(corpus, "--cache-dir", cache_dir)
    assert splunk_sourcetypes(first) == {"sysmon"}
    macro = corpus / "splunk" / "macros" / "sysmon_process.yml"
    macro.write_text(MACRO.format(sourcetype="xmlwineventlog:microsoft-windows-sysmon/operational"),
                     encoding="utf-8")
    _, second, err = lint_proc(corpus, "--cache-dir", cache_dir)
    assert splunk_sourcetypes(second) == {"xmlwineventlog:microsoft-windows-sysmon/operational"}
    _, uncached, _ = lint_proc(corpus, "--no-cache")
    assert stable(second) == stable(uncached)
    assert "warning" not in err


def test_macro_edit_reparses_only_the_detection(corpus, cache_dir, capsys, loads):
    """In-process, with the per-process memos forgotten between runs (as a new process would)."""
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    macro = corpus / "splunk" / "macros" / "sysmon_process.yml"
    macro.write_text(MACRO.format(sourcetype="wineventlog"), encoding="utf-8")
    forget_process_state()
    loads.clear()
    _, doc, _ = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    detection = corpus / "splunk" / "detections" / "endpoint" / "whoami.yml"
    assert sorted(loads) == sorted([str(detection), str(macro)])
    assert splunk_sourcetypes(doc) == {"wineventlog"}


def test_macro_edit_seen_by_a_long_lived_process(corpus, cache_dir):
    first = run([str(corpus)], settings=Settings(cache_dir=str(cache_dir), jobs=1))
    splunk = next(r for r in first.targets if r.vendor == "splunk")
    assert {v for p in splunk.predicates if p.field == "sourcetype" for v in p.values} == {"sysmon"}
    macro = corpus / "splunk" / "macros" / "sysmon_process.yml"
    macro.write_text(MACRO.format(sourcetype="wineventlog"), encoding="utf-8")
    second = run([str(corpus)], settings=Settings(cache_dir=str(cache_dir), jobs=1))
    splunk = next(r for r in second.targets if r.vendor == "splunk")
    assert {v for p in splunk.predicates if p.field == "sourcetype" for v in p.values} == {"wineventlog"}


# -- 4. targets judged against the stored corpus index -----------------------------------

# A stored index holds corpus rules without their logic, so the overlap checks (RL201,
# RL202) compare a target only with rules whose logic is loaded: runs judged against a
# stored index leave them out of the comparison with an uncached run.
WITHOUT_OVERLAP = ("--ignore", "duplicate-logic,subsumed-rule")


def test_targets_against_stored_index_equal_no_cache(corpus, cache_dir, tmp_path, capsys, loads):
    lint_json(capsys, corpus, *WITHOUT_OVERLAP, "--cache-dir", cache_dir)  # the whole corpus: stores its index
    edited = tmp_path / "edited"
    edited.mkdir()
    # An edited copy of a corpus rule (same id: it replaces the corpus rule) and a new rule.
    same_id = edited / "cmd_noisy.yml"
    same_id.write_text((corpus / "sigma" / "cmd_noisy.yml").read_text().replace("cmd rule 9", "cmd rule 9 (edited)"))
    new = edited / "new_rule.yml"
    new.write_text(cmd_rule(42, noisy=True, rule_id="0d5e2a3c-1111-4222-8333-444444444444"))
    targets = [str(same_id), str(new)]

    loads.clear()
    code, stored, err = lint_json(capsys, corpus, "--target", *targets, *WITHOUT_OVERLAP, "--cache-dir", cache_dir)
    assert loads == targets  # the corpus was not loaded: the stored index judged them
    assert "warning" not in err
    code0, uncached, _ = lint_json(capsys, corpus, "--target", *targets, *WITHOUT_OVERLAP, "--no-cache")
    assert code == code0 == 1
    assert stable(stored) == stable(uncached)
    assert noise_of(stored) == noise_of(uncached)
    noisy = [f for f in stored["findings"] if f["name"] == "noisy-standalone-indicator"]
    assert {f["path"] for f in noisy} == set(targets)

    # The same target run again: answered from the stored run.
    loads.clear()
    _, again, _ = lint_json(capsys, corpus, "--target", *targets, *WITHOUT_OVERLAP, "--cache-dir", cache_dir)
    assert loads == [] and stable(again) == stable(uncached)


def test_stored_index_holds_lazy_rules_with_the_corpus_figures(corpus, cache_dir):
    settings = Settings(cache_dir=str(cache_dir), jobs=1)
    full = run([str(corpus)], settings=settings)
    target = corpus.parent / "target.yml"
    target.write_text(cmd_rule(7))
    from_index = run([str(corpus)], [str(target)], settings=settings)
    stored = [r for k, r in from_index.index.rules.items() if k != from_index.targets[0].key]
    assert {type(r).__name__ for r in stored} == {"LazyRule"}
    # Judging one rule reads the logic of few corpus rules; what it reads is the loaded rule.
    loaded = {r.key for r in stored if r._full is not None}
    assert len(loaded) < len(stored)
    fresh = {r.key: r for r in full.corpus}
    for r in stored:
        assert r.predicates == fresh[r.key].predicates and r.level == fresh[r.key].level
        assert r.positive_keys() == fresh[r.key].positive_keys()
    reference = run([str(corpus)], [str(target)], settings=Settings(jobs=1))
    assert [f.to_dict() for f in from_index.findings] == [f.to_dict() for f in reference.findings]
    assert from_index.noise == reference.noise
    assert from_index.counts == reference.counts
    assert len(from_index.index) == len(full.index) + 1  # target.yml has a new id: it is added


# -- 5. a damaged cache --------------------------------------------------------------------

GARBAGE = b"\x80\x05garbage, not a pickle" * 3


def damage(cache_dir: Path, which: str) -> Path:
    """Overwrite one cache file with garbage and return it."""
    if which == "run":
        runs = sorted((cache_dir / "runs").glob("*.pkl"))
        assert runs
        for p in runs:
            p.write_bytes(GARBAGE)
        return runs[-1]
    path = cache_files(cache_dir)[which]
    if which == "index":  # the header (corpus fingerprint) kept, the body garbage
        head = path.read_bytes().partition(b"\n")[0]
        path.write_bytes(head + b"\n" + GARBAGE)
    else:
        path.write_bytes(GARBAGE)
    return path


def prepare(which: str, corpus: Path, cache_dir: Path, tmp_path: Path, capsys) -> list[str]:
    """Fill the cache so that the next run with the returned arguments reads `which`."""
    args = [str(corpus)]
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    if which == "recent":  # few new entries go to the side file
        edit(corpus / "sigma" / "cmd_0.yml", "rare-flag-0", "rare-flag-00")
        lint_json(capsys, corpus, "--cache-dir", cache_dir)
        assert "recent" in cache_files(cache_dir)
    if which == "index":  # a target run reads the stored index
        target = tmp_path / "target.yml"
        target.write_text(cmd_rule(5, noisy=True, rule_id="9e8d7c6b-0000-4000-8000-000000000001"))
        args += ["--target", str(target)]
    return args


@pytest.mark.parametrize("which", ["files", "recent", "run", "index"])
def test_damaged_cache_warns_and_findings_stay_right(which, corpus, cache_dir, tmp_path, capsys):
    args = prepare(which, corpus, cache_dir, tmp_path, capsys)
    expected_code, expected, _ = lint_json(capsys, *args, "--no-cache")
    damaged = damage(cache_dir, which)
    code, doc, err = lint_json(capsys, *args, "--cache-dir", cache_dir)
    assert code == expected_code
    assert stable(doc) == stable(expected)
    assert "rulelint: warning:" in err and "damaged" in err and "rebuilt" in err, err
    if which == "index":
        assert "index" in err
    else:
        assert str(damaged) in err  # names the cache file


def test_damaged_index_warning_names_the_file(corpus, cache_dir, tmp_path, capsys):
    args = prepare("index", corpus, cache_dir, tmp_path, capsys)
    damaged = damage(cache_dir, "index")
    _, _, err = lint_json(capsys, *args, "--cache-dir", cache_dir)
    assert str(damaged) in err


@pytest.mark.parametrize("which", [
    "files",
    "recent", "run", "index"])
def test_run_after_damage_is_clean(which, corpus, cache_dir, tmp_path, capsys):
    args = prepare(which, corpus, cache_dir, tmp_path, capsys)
    damage(cache_dir, which)
    lint_json(capsys, *args, "--cache-dir", cache_dir)  # warns and rebuilds
    code, doc, err = lint_json(capsys, *args, "--cache-dir", cache_dir)
    _, expected, _ = lint_json(capsys, *args, "--no-cache")
    assert "warning" not in err, err
    assert stable(doc) == stable(expected)
    assert_cache_readable(cache_dir)


def test_garbage_index_without_header_is_rebuilt(corpus, cache_dir, tmp_path, capsys):
    """An index file that is garbage from its first byte reads as another corpus's: rebuilt."""
    args = [*prepare("index", corpus, cache_dir, tmp_path, capsys), *WITHOUT_OVERLAP]
    _, expected, _ = lint_json(capsys, *args, "--no-cache")
    index = cache_files(cache_dir)["index"]
    index.write_bytes(GARBAGE)
    _, doc, _ = lint_json(capsys, *args, "--cache-dir", cache_dir)
    assert stable(doc) == stable(expected)
    assert_cache_readable(cache_dir)  # the index was written again
    shutil.rmtree(cache_dir / "runs")  # the next target run must read the index
    _, again, err = lint_json(capsys, *args, "--cache-dir", cache_dir)
    assert "warning" not in err and stable(again) == stable(expected)


def test_unwritable_cache_folder_warns_and_lints(corpus, tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    _, expected, _ = lint_json(capsys, corpus, "--no-cache")
    code, doc, err = lint_json(capsys, corpus, "--cache-dir", blocker)
    assert stable(doc) == stable(expected)
    assert "cannot write the cache" in err


def test_cache_of_another_rulelint_version_is_left_alone(corpus, cache_dir, capsys, monkeypatch):
    """Files another version wrote carry its code fingerprint in their names: this version
    neither reads nor removes them, and answers as without a cache."""
    _, expected, _ = lint_json(capsys, corpus, "--no-cache")
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "an-older-version")
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    older = sorted(p.name for p in cache_dir.rglob("*.*"))
    monkeypatch.undo()
    code, doc, err = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert stable(doc) == stable(expected) and "warning" not in err
    assert set(older) <= {p.name for p in cache_dir.rglob("*.*")}


@pytest.mark.parametrize("errno_name", ["EROFS", "EACCES", "ENOSPC"])
def test_cache_that_cannot_be_written_warns_and_answers_right(errno_name, corpus, cache_dir, capsys, monkeypatch):
    """A read-only folder (root ignores modes, so the failure is injected where the cache
    writes) or a full disk: the run warns once per problem and gives the uncached answer;
    no temporary file is left; a warm cache in such a folder is still read."""
    import errno

    _, expected, _ = lint_json(capsys, corpus, "--no-cache")
    real = cache_mod.tempfile.mkstemp

    def failing(*args, **kwargs):
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", failing)
    code, doc, err = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert stable(doc) == stable(expected)
    assert "cannot write the cache" in err and os.strerror(getattr(errno, errno_name)) in err
    assert not [p for p in cache_dir.rglob("*") if p.name.startswith(".tmp-")]

    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", real)
    lint_json(capsys, corpus, "--cache-dir", cache_dir)  # now stored
    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", failing)
    target = corpus / "sigma" / "cmd_noisy.yml"
    for args in ([corpus], [corpus, "--target", target]):
        _, fresh, _ = lint_json(capsys, *args, "--no-cache")
        _, warm, err = lint_json(capsys, *args, "--cache-dir", cache_dir)
        assert stable(warm) == stable(fresh), args


def test_disk_full_midway_through_a_write_leaves_no_partial_file(corpus, cache_dir, capsys, monkeypatch):
    _, expected, _ = lint_json(capsys, corpus, "--no-cache")
    real_fdopen = cache_mod.os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_mod.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    _, doc, err = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert stable(doc) == stable(expected) and "No space left on device" in err
    assert not [p for p in cache_dir.rglob("*") if p.is_file() and p.name != ".gitignore"]
    monkeypatch.undo()
    _, again, err = lint_json(capsys, corpus, "--cache-dir", cache_dir)
    assert stable(again) == stable(expected) and "warning" not in err


# -- 6. several processes at once on one cache ---------------------------------------------

def generated_corpus(root: Path, n: int = 60) -> Path:
    """n Sigma rules: every fifth one noisy, the rest specific; enough work to overlap."""
    (root / "sigma").mkdir(parents=True)
    for i in range(n):
        (root / "sigma" / f"rule_{i:03d}.yml").write_text(cmd_rule(i, noisy=i % 5 == 0), encoding="utf-8")
    return root


def race(corpus: Path, cache: Path, n: int = 4) -> list[tuple[int, dict, str]]:
    procs = [subprocess.Popen([sys.executable, "-m", "rulelint", str(corpus), "--cache-dir", str(cache),
                               "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert stdout, stderr
        out.append((p.returncode, json.loads(stdout), stderr))
    return out


def check_race(corpus: Path, cache: Path) -> dict:
    results = race(corpus, cache)
    codes = {code for code, _, _ in results}
    docs = [stable(doc) for _, doc, _ in results]
    assert len(codes) == 1
    assert all(d == docs[0] for d in docs[1:])
    assert all(noise_of(d) == noise_of(docs[0]) for d in docs[1:])
    assert not any("warning" in err for _, _, err in results), [err for _, _, err in results]
    assert_cache_readable(cache)
    code, after, err = lint_proc(corpus, "--cache-dir", cache)
    assert "warning" not in err
    assert {code} == codes and stable(after) == docs[0]
    _, uncached, _ = lint_proc(corpus, "--no-cache")
    assert stable(uncached) == docs[0]
    return docs[0]


def test_concurrent_runs_share_one_cache(tmp_path):
    corpus = generated_corpus(tmp_path / "corpus")
    cache = tmp_path / "cache"
    first = check_race(corpus, cache)
    assert len(first["rules"]) == 60
    assert {f["path"] for f in first["findings"] if f["name"] == "noisy-standalone-indicator"} \
        == {str(corpus / "sigma" / f"rule_{i:03d}.yml") for i in range(0, 60, 5)}

    changed = corpus / "sigma" / "rule_001.yml"
    changed.write_text(cmd_rule(1, noisy=True), encoding="utf-8")
    second = check_race(corpus, cache)
    assert str(changed) in {f["path"] for f in second["findings"]}
    assert second["findings"] != first["findings"]


def test_concurrent_runs_on_a_slice_of_the_shared_corpus(shared_corpus, tmp_path):
    src = shared_corpus / "sigma" / "rules" / "windows" / "process_creation"
    if not src.is_dir():
        pytest.skip(f"{src} not found")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted(src.glob("*.yml"))[:150]:
        shutil.copy(p, corpus / p.name)
    check_race(corpus, tmp_path / "cache")


# -- 7. the cache's own folder -------------------------------------------------------------

def tree_state(root: Path) -> dict[str, tuple[bytes, int] | None]:
    return {str(p.relative_to(root)): ((p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_cache_never_writes_into_the_linted_folders(corpus, cache_dir, tmp_path, capsys):
    before = tree_state(corpus)
    target = tmp_path / "target.yml"
    target.write_text(cmd_rule(3, noisy=True))
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    lint_json(capsys, corpus, "--cache-dir", cache_dir)
    lint_json(capsys, corpus, "--target", target, "--cache-dir", cache_dir)
    assert main(["indicators", str(corpus), "--cache-dir", str(cache_dir), "--format", "json"]) == 0
    capsys.readouterr()
    assert tree_state(corpus) == before
    assert set(os.listdir(tmp_path)) == {"corpus", "cache", "target.yml"}
    assert "*" in (cache_dir / ".gitignore").read_text().splitlines()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_default_cache_folder_is_ignored_by_git_and_not_linted(tmp_path, capsys, monkeypatch):
    repo = tmp_path / "repo"
    build_corpus(repo / "rules")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "-A"], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "rules"], cwd=repo, check=True)
    monkeypatch.delenv("RULELINT_CACHE_DIR")
    monkeypatch.chdir(repo)
    before = tree_state(repo / "rules")
    _, first, _ = lint_json(capsys, ".")
    _, second, err = lint_json(capsys, ".")
    assert (repo / cache_mod.DEFAULT_DIR / ".gitignore").is_file()
    assert list((repo / cache_mod.DEFAULT_DIR).glob("files-*.pkl"))  # the cache is there
    assert tree_state(repo / "rules") == before
    assert stable(first) == stable(second) and "warning" not in err  # the cache folder is not linted
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    assert status == ""


# -- 8. the whole shared corpus ---------------------------------------------------------------

def test_shared_corpus_warm_equals_cold(shared_corpus, tmp_path):
    cache = tmp_path / "cache"
    code_cold, cold, err_cold = lint_proc(shared_corpus, "--cache-dir", cache)
    code_warm, warm, err_warm = lint_proc(shared_corpus, "--cache-dir", cache)
    assert code_cold == code_warm
    assert "warning" not in err_cold + err_warm
    assert len(cold["rules"]) > 5000
    assert warm["findings"] == cold["findings"]
    assert noise_of(warm) == noise_of(cold)
    assert stable(warm) == stable(cold)

    # Targets against the stored index, and against an index built from the cached files.
    rules = sorted((shared_corpus / "sigma").rglob("*.yml"))
    src = next(p for p in rules if "cmd" in p.name)
    target = tmp_path / "edited.yml"
    target.write_text(src.read_text(encoding="utf-8").replace("title: ", "title: Edited ", 1), encoding="utf-8")
    noisy = tmp_path / "noisy.yml"
    noisy.write_text(cmd_rule(1, noisy=True))
    args = [shared_corpus, "--target", target, noisy]
    _, from_index, _ = lint_proc(*args, "--cache-dir", cache)
    for p in cache.glob("index-*.bin"):
        p.unlink()
    shutil.rmtree(cache / "runs")
    _, from_files, _ = lint_proc(*args, "--cache-dir", cache)
    assert stable(from_index) == stable(from_files)
    assert any(f["name"] == "noisy-standalone-indicator" for f in from_index["findings"])
