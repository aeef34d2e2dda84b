"""Rule text is data in every output: titles, values, paths and reasons holding markup,
HTML, mentions, links, terminal escapes or workflow commands render inert."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PAYLOAD = ("<script>alert(1)</script> @octocat [link](javascript:x) `tick` a|b [red]RED[/red] "
           "\x1b[31mANSI\x1b[0m \r\n::error::INJECTED %0A ~~del~~ #1 \x00NUL \u202eRLO")
BAD_NAME = "bad \r\n::error::FILE <script>alert(1)<_script> @octocat `x` [y](javascript:z) \x1b[31m.yml"
LIVE_LINK = re.compile(r"(?<!\\)\]\(javascript:")  # `\](` is an escaped bracket: text
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def write_rules(root: Path) -> None:
    """Four rules whose shared value is the payload (so the rules duplicate each other and
    RL201 names the value), titles holding it too; a rule
    with a payload modifier; a broken file with a payload name; an Elastic rule."""
    for i in range(4):
        (root / f"r{i}.yml").write_text(
            f"title: {json.dumps(PAYLOAD + f' rule {i}')}\nid: {uuid.UUID(int=i + 1)}\nstatus: test\n"
            "tags:\n    - attack.execution\n    - attack.t1059.001\n"
            "logsource:\n    product: windows\n    category: process_creation\n"
            f"detection:\n    sel:\n        CommandLine|contains: {json.dumps(PAYLOAD)}\n    condition: sel\nlevel: high\n",
            encoding="utf-8")
    (root / "modifier.yml").write_text(
        "title: mod\nlogsource:\n    product: windows\n    category: process_creation\n"
        "detection:\n    sel:\n        Image|<script>alert(1)<_script>@octocat[x](javascript:y)`: a\n    condition: sel\n",
        encoding="utf-8")
    (root / BAD_NAME).write_text("title: [unclosed\n", encoding="utf-8")
    toml_text = json.dumps(PAYLOAD.replace("\x00", ""))  # a JSON string is a TOML basic string here
    (root / "e.toml").write_text(
        f'[rule]\nname = {toml_text}\nrule_id = "{uuid.UUID(int=99)}"\ntype = "query"\nlanguage = "kuery"\n'
        f'query = {json.dumps("process.command_line : " + json.dumps(PAYLOAD.replace(chr(0), "")))}\n',
        encoding="utf-8")


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("injection")
    write_rules(root)
    return root


def rulelint(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "rulelint", *args, "--no-reference", "--no-cache"],
                          cwd=REPO, capture_output=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")[-3000:]
    return proc.stdout.decode("utf-8")


def lint(rules: Path, fmt: str) -> str:
    out = rulelint(str(rules), "--format", fmt, "--no-progress")
    assert "duplicate-logic" in out or "RL201" in out  # the payload value reached the output
    return out


def without_code_spans(md: str) -> str:
    """Markdown prose: code spans removed (their content is literal by definition), and
    HTML blocks (a paragraph opening with a tag, where GFM reads no Markdown) checked as
    HTML and removed."""
    prose = []
    for para in md.split("\n\n"):
        if re.match(r"\s*</?(details|summary|div|table|p|b)\b", para):
            assert "<script" not in para and 'href="javascript:' not in para.lower(), para
            assert "@octocat" not in para, para  # GitHub links mentions in HTML blocks too
        else:
            prose.append(para)
    return re.sub(r"(?<!\\)(`+)(?:(?!\1).)+?(?<!`)\1(?!`)", "", "\n\n".join(prose))


def test_text_is_inert(rules):
    out = lint(rules, "text")
    assert not RAW_CONTROLS.search(out.replace("\n", "")), "a control or bidi character reached the terminal"
    assert "[red]RED[/red]" in out and "[link](javascript:x)" in out  # rich markup shown, not applied
    assert "\\x1b[31m" in out  # the escape shown as text


def test_indicators_table_is_inert(rules):
    out = rulelint("indicators", str(rules), "--no-progress")
    assert not RAW_CONTROLS.search(out.replace("\n", ""))
    assert "[red]red[/red]" in out  # values are folded to lower case; markup stays text


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_json_formats_round_trip_the_text(rules, fmt):
    out = lint(rules, fmt)
    assert "\x1b" not in out and "\r" not in out and "\x00" not in out  # escaped by the encoder
    doc = json.loads(out)
    text = json.dumps(doc, ensure_ascii=False)
    assert "<script>alert(1)</script>" in text  # kept exactly: JSON consumers get the data
    if fmt == "json":
        titles = {r["title"] for r in doc["rules"]}
        assert PAYLOAD + " rule 0" in titles


def test_github_annotations_cannot_inject_commands(rules):
    out = lint(rules, "github")
    assert "\r" not in out and "\x1b" not in out and "\x00" not in out
    lines = out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert commands and all(re.match(r"::(error|warning|notice) [^:]*::", line) for line in commands), commands
    assert not any(line.startswith(("::error::", "::warning::", "::notice::", "::add-mask", "::stop-commands"))
                   for line in lines)


def test_markdown_is_inert(rules):
    out = lint(rules, "markdown")
    assert not RAW_CONTROLS.search(out.replace("\n", "").replace("\t", ""))
    prose = without_code_spans(out)
    assert "<script" not in prose
    assert "@octocat" not in prose  # a mention would notify
    assert not LIVE_LINK.search(prose)
    assert "~~del~~" not in prose
    assert not re.search(r"(?<![\w\u200d])#1\b", prose)  # an issue reference
    for line in out.splitlines():
        if line.startswith("|"):  # every table row keeps its header's number of cells
            assert _cells(line) == _cells(_header(out, line)), line


def _cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


def _header(md: str, row: str) -> str:
    """The header row of the table `row` belongs to."""
    lines = md.splitlines()
    i = lines.index(row)
    while i > 0 and lines[i - 1].startswith("|"):
        i -= 1
    return lines[i]


@pytest.mark.parametrize("fmt", ["markdown", "html", "json"])
def test_technique_report_is_inert(rules, fmt):
    out = rulelint("report", "technique", "T1059.001", str(rules), "--format", fmt)
    assert "alert(1)" in out  # the rules are in the report
    assert "\x1b" not in out and "\x00" not in out and "\r" not in out
    if fmt == "html":
        assert "<script>alert(1)" not in out
        assert 'href="javascript:' not in out.lower()
        assert not RAW_CONTROLS.search(out.replace("\n", ""))
    elif fmt == "markdown":
        prose = without_code_spans(out)
        assert "<script" not in prose and "@octocat" not in prose and not LIVE_LINK.search(prose)
        assert not RAW_CONTROLS.search(out.replace("\n", ""))
    else:
        json.loads(out)


def test_pr_report_is_inert(tmp_path):
    """The PR review comment: the payload rules are the change under review."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=tmp_path,
                       check=True, capture_output=True, timeout=60)
    (tmp_path / "base.yml").write_text(
        "title: Base\nid: 00000000-0000-4000-8000-0000000000ba\nlogsource:\n    product: windows\n"
        "    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\\\base.exe'\n"
        "    condition: sel\n", encoding="utf-8")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    write_rules(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "rulelint", "report", "pr", "--base", "HEAD", ".", "--no-reference"],
                          cwd=tmp_path, capture_output=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")[-3000:]
    out = proc.stdout.decode("utf-8")
    assert "alert(1)" in out and "RL201" in out  # the change and its findings are reported
    assert not RAW_CONTROLS.search(out.replace("\n", "").replace("\t", ""))
    prose = without_code_spans(out)
    assert "<script" not in prose and "@octocat" not in prose and not LIVE_LINK.search(prose)
    assert not re.search(r"(?<![\w\u200d])#1\b", prose)
