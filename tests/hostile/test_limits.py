"""Resource limits (docs/limits.md): every hostile file is a parse-error (or loads) within
bounded memory and without running away, each limit holds at its edge, and the tree code survives depth."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import rulelint.loaders as loaders
from rulelint.loaders import event_query, esql, kql, load_file, lucene, spl
from rulelint.loaders.sigma import MAX_CONDITION_CHARS, MAX_DETECTION_ITEMS
from rulelint.loaders.yamlnodes import MAX_EXPANDED_NODES, MAX_FILE_BYTES, MAX_YAML_NODES
from rulelint.model import tree as T

from .hostile_files import CASES, billion_laughs, elastic, sigma, splunk, write_hostile_folder

REPO = Path(__file__).resolve().parents[2]

# Memory, not time, is asserted: the machines are shared, so CPU seconds are for bench/.
# A runaway parse is still caught: each child runs under RLIMIT_CPU (tests/hostile/measure.py)
# and a killed child fails the test. The largest file (100,000 values) peaks near 150 MB.
RSS_BOUND_MB = 1024.0


def reasons(result) -> list[str]:
    return [f.data.get("reason", "") for f in result.findings if f.name == "parse-error"]


def one_error(result, *words: str) -> str:
    rs = reasons(result)
    assert len(rs) == 1 and not result.rules, (rs, len(result.rules))
    for w in words:
        assert w in rs[0], rs[0]
    return rs[0]


# -- every hostile file, alone, in a child with rlimits -----------------------------------------

@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("hostile")
    pairs = write_hostile_folder(root)
    extra = [root / "directory_named_like_a_rule.yml"] + ([Path("/dev/zero")] if os.path.exists("/dev/zero") else [])
    paths = [str(p) for _, p in pairs] + [str(p) for p in extra]
    proc = subprocess.run([sys.executable, "-m", "tests.hostile.measure", *paths], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    by_path = {r["path"]: r for r in reports}
    assert set(by_path) == set(paths)
    return {os.path.relpath(p, root) if p.startswith(str(root)) else p: r for p, r in by_path.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_is_contained(case, measured):
    r = measured[case.name]
    assert "exception" not in r and "killed" not in r, r
    errors = [f for f in r["findings"] if f["name"] == "parse-error"]
    if case.expect == "error":
        assert len(errors) == 1 and r["rules"] == 0, r
        assert case.hint in errors[0]["reason"], errors[0]["reason"]
        assert errors[0]["path"] == r["path"]
        assert "internal error" not in errors[0]["reason"]
    elif case.expect == "load":
        assert r["rules"] >= 1 and not errors, r
    elif case.expect == "silent":
        assert r["rules"] == 0 and r["findings"] == [], r
    else:
        assert (r["rules"] >= 1) != bool(errors), r
        assert all("internal error" not in e["reason"] for e in errors)
    assert r["max_rss_mb"] <= RSS_BOUND_MB, r


def test_directory_and_device_named_as_rules_are_refused(measured):
    r = measured["directory_named_like_a_rule.yml"]
    assert [f["reason"] for f in r["findings"]] == ["not a regular file (a directory); rules are read from regular files only"]
    if "/dev/zero" in measured:  # would never end if read
        assert "character device" in measured["/dev/zero"]["findings"][0]["reason"]


def test_fifo_never_blocks_the_whole_run(tmp_path):
    """Not only loading: every later reader (suppression comments, the cache) must skip it."""
    os.mkfifo(tmp_path / "pipe.yml")
    (tmp_path / "good.yml").write_text(sigma("sel"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "rulelint", str(tmp_path), "--format", "json", "--no-progress",
                           "--no-reference", "--cache-dir", str(tmp_path / "cache")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    doc = json.loads(proc.stdout)
    errors = [f for f in doc["findings"] if f["name"] == "parse-error"]
    assert [f["path"] for f in errors] == [str(tmp_path / "pipe.yml")]
    assert any(r["path"] == str(tmp_path / "good.yml") for r in doc["rules"])


def test_unreadable_file_is_a_parse_error(tmp_path, monkeypatch):
    """chmod 000 stops no read as root (CI runs as root), so the refusal is simulated too."""
    path = tmp_path / "locked.yml"
    path.write_text(sigma("sel"), encoding="utf-8")
    path.chmod(0)
    try:
        res = load_file(str(path))
        if os.geteuid() == 0:
            assert len(res.rules) == 1  # root reads it: it simply loads
        else:
            one_error(res, "Permission denied")
        real_open = os.open

        def refuse(p, *a, **kw):
            if str(p) == str(path):
                raise PermissionError(13, "Permission denied", str(p))
            return real_open(p, *a, **kw)

        monkeypatch.setattr(os, "open", refuse)
        one_error(load_file(str(path)), "cannot read file", "Permission denied")
    finally:
        path.chmod(0o644)


# -- each limit at its edge ------------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(p)


def test_file_size_limit_is_exact(tmp_path):
    base = sigma("sel").encode()
    at = write(tmp_path, "at.yml", base + b"#" * (MAX_FILE_BYTES - len(base) - 1) + b"\n")
    over = write(tmp_path, "over.yml", base + b"#" * (MAX_FILE_BYTES - len(base)) + b"\n")
    assert os.path.getsize(at) == MAX_FILE_BYTES and os.path.getsize(over) == MAX_FILE_BYTES + 1
    assert len(load_file(at).rules) == 1
    def never(*a, **kw):  # refused from its size: never decoded, never parsed
        raise AssertionError("an over-size file was read on")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loaders, "decode", never)
        mp.setattr(loaders, "load_documents", never)
        one_error(load_file(over), f"{MAX_FILE_BYTES:,}-byte limit")


def test_yaml_node_limit(tmp_path):
    def flood(n: int) -> str:  # a small rule and `n` more nodes in one list
        return sigma("sel", SEL_ONE) + "references: [" + ",".join(["r"] * n) + "]\n"
    below = load_file(write(tmp_path, "below.yml", flood(MAX_YAML_NODES - 100)))
    assert not any("nodes" in r for r in reasons(below))
    one_error(load_file(write(tmp_path, "above.yml", flood(MAX_YAML_NODES + 1))), f"over {MAX_YAML_NODES:,} nodes")
    tagged = sigma("sel", SEL_ONE) + "references: [" + ",".join(["!!str r"] * (MAX_YAML_NODES + 1)) + "]\n"
    one_error(load_file(write(tmp_path, "tagged.yml", tagged)), "nodes")


SEL_ONE = "    sel:\n        Image: a\n"


def test_alias_expansion_limit(tmp_path):
    one_error(load_file(write(tmp_path, "bomb.yml", billion_laughs())), f"over {MAX_EXPANDED_NODES:,} nodes", "alias")
    # Aliases that expand to a modest size are fine.
    text = "title: t\nlogsource:\n    product: windows\nx: &x [a, b, c]\ny: [*x, *x, *x]\ndetection:\n    sel:\n        Image: *x\n    condition: sel\n"
    assert len(load_file(write(tmp_path, "aliases.yml", text)).rules) == 1


def test_condition_length_limit(tmp_path):
    def cond(n: int) -> str:  # quoted, so YAML keeps the trailing spaces
        return "'sel" + " " * (n - 3) + "'"
    assert len(load_file(write(tmp_path, "at.yml", sigma(cond(MAX_CONDITION_CHARS)))).rules) == 1
    one_error(load_file(write(tmp_path, "over.yml", sigma(cond(MAX_CONDITION_CHARS + 1)))),
              f"over the {MAX_CONDITION_CHARS:,} limit")


def test_condition_paren_depth_limit(tmp_path):
    ok = load_file(write(tmp_path, "ok.yml", sigma("(" * T.MAX_DEPTH + "sel" + ")" * T.MAX_DEPTH)))
    assert not any("parentheses" in r for r in reasons(ok))
    deep = "(" * (T.MAX_DEPTH + 1) + "sel" + ")" * (T.MAX_DEPTH + 1)
    one_error(load_file(write(tmp_path, "deep.yml", sigma(deep))), f"deeper than {T.MAX_DEPTH} levels")


def test_detection_item_limit(tmp_path):
    def items(n: int) -> str:
        return "    sel:\n" + "".join(f"        F{i}: v\n" for i in range(n))
    assert len(load_file(write(tmp_path, "at.yml", sigma("sel", items(MAX_DETECTION_ITEMS)))).rules) == 1
    one_error(load_file(write(tmp_path, "over.yml", sigma("sel", items(MAX_DETECTION_ITEMS + 1)))),
              f"over {MAX_DETECTION_ITEMS:,} field conditions")


@pytest.mark.parametrize("language,limit", [
    ("kuery", kql.MAX_QUERY_CHARS), ("eql", event_query.MAX_QUERY_CHARS),
    ("esql", esql.MAX_QUERY_CHARS), ("lucene", lucene.MAX_QUERY_CHARS),
])
def test_query_length_limits(tmp_path, language, limit):
    query = {"eql": "process where a == 1", "esql": "FROM x | WHERE a == 1"}.get(language, "a:b")
    res = load_file(write(tmp_path, "q.toml", elastic(query + " " * (limit + 1 - len(query)), language)))
    one_error(res, "longer than")


def test_spl_limits(tmp_path):
    one_error(load_file(write(tmp_path, "long.yml", splunk("a=b" + " " * spl.MAX_QUERY_CHARS))), "longer than")
    # Macros that double the text at every level stop at MAX_EXPANDED_CHARS.
    root = tmp_path / "repo"
    (root / "macros").mkdir(parents=True)
    for i in range(9):
        body = f"`m{i + 1}` `m{i + 1}`" if i < 8 else "x" * 10_000
        (root / "macros" / f"m{i}.yml").write_text(f"name: m{i}\ndefinition: '{body}'\n", encoding="utf-8")
    (root / "detections").mkdir()
    one_error(load_file(write(root / "detections", "grow.yml", splunk("`m0`"))), "macro expansion exceeds")


def test_deep_tree_from_any_parser_is_refused(tmp_path, monkeypatch):
    """The model's recursive walks rely on the loaders: whatever a parser returns deeper
    than MAX_DEPTH is a parse-error, not a crash in a check later."""
    def deep_parse(text, sink):
        node = sink.add("process.name", "eq", ["a"])
        for i in range(T.MAX_DEPTH + 5):
            node = T.Not(node) if i % 3 == 0 else (T.And if i % 3 == 1 else T.Or)([node, sink.add("f", "eq", [str(i)])])
        return node
    monkeypatch.setattr(kql, "parse_kql", deep_parse)
    one_error(load_file(write(tmp_path, "deep.toml", elastic("a:b"))), f"deeper than {T.MAX_DEPTH} levels")


def test_tree_functions_on_very_deep_trees():
    deep: T.Node = T.Leaf(0)
    for i in range(50_000):
        deep = T.Not(deep) if i % 3 == 0 else (T.And if i % 3 == 1 else T.Or)([deep, T.Leaf(i + 1)])
    # (no deep tree inside an assert: pytest's repr of it would recurse)
    levels = T.depth(deep)
    assert levels > 40_000
    count = len(list(T.leaves(deep)))
    assert count == 1 + sum(1 for i in range(50_000) if i % 3)
    flat = T.simplify(deep)  # too deep to recurse: done iteratively, same semantics
    same = sorted(T.leaves(flat)) == sorted(T.leaves(deep))
    assert same
    for walk in (T.polarities, T.branches):  # recursive walks refuse instead of overflowing
        with pytest.raises(ValueError, match="deeper than"):
            walk(deep)


def test_wide_dnf_stays_bounded():
    node = T.And([T.Or([T.Leaf(2 * i), T.Leaf(2 * i + 1)]) for i in range(30)])  # 2**30 branches
    found, truncated = T.branches(node)
    assert truncated and len(found) <= T.MAX_BRANCHES


# -- a whole run over the hostile folder, under rlimits --------------------------------------------

def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (600, 610))
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_whole_run_over_hostile_folder_is_bounded(tmp_path):
    pairs = write_hostile_folder(tmp_path / "hostile")
    proc = subprocess.run(
        [sys.executable, "-m", "rulelint", str(tmp_path / "hostile"), "--format", "json", "--no-progress",
         "--no-reference", "--no-cache", "--jobs", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=900, preexec_fn=_limits)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 1, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    errors = {f["path"] for f in doc["findings"] if f["name"] == "parse-error"}
    for case, path in pairs:
        if case.expect == "error":
            assert str(path) in errors, case.name
    assert after.ru_maxrss / 1024 < 2048  # the largest child (kB on Linux)
