"""Markdown output: rule text renders inert (no HTML, links, mentions, table breaks or
terminal control), checked by rendering with a CommonMark parser that lets raw HTML through."""

from __future__ import annotations

import html
import io
import re

import pytest
from markdown_it import MarkdownIt

from rulelint.engine import run
from rulelint.run_result import RunResult
from rulelint.settings import Settings
from rulelint.findings import Finding, Related
from rulelint.renderers import RENDERERS
from rulelint.renderers.escape import ZWJ, html_text, md_code, md_text, strip_controls
from rulelint.renderers.markdown import render

from ..conftest import REPO

# html=True: raw HTML passes through, as on GitHub before its sanitizer: escaping must hold alone.
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</td></tr></table><h1>x</h1>",
    "<details open><summary>hi</summary>",
    "@octocat and @org/team, mail me@example.com",
    "a`b``c```d",
    "`leading and trailing`",
    "x|y|z",
    "\x1b[31mred\x1b[0m and \x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "carriage\rreturn and\nnewline",
    "nul\x00byte\x07bell\x7fdel\x9bcsi",
    "[click](https://evil.example) ![img](https://evil.example/x.png) <https://evil.example>",
    "**bold** _it_ ~~gone~~ $math$",
    "# heading",
    "- not a list",
    "12. not a list",
    "&lt;script&gt; &amp; &#60;",
    "see #123 and GH-7 and owner/repo#9",
    "https://evil.example www.evil.example",
    "\u202eevil\u202c",
    "C:\\Windows\\System32\\cmd.exe \\*",
]


def visible(rendered_html: str) -> str:
    """What a reader sees: tags dropped, entities decoded, zero-width joiners removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html)).replace(ZWJ, "").strip()


def tags(rendered_html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", rendered_html)}


def expected(text: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", strip_controls(text)).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_shows_the_text_and_nothing_else(payload):
    out = MD.render(f"Before {md_text(payload)} after.")
    assert tags(out) == {"p"}
    assert visible(out) == f"Before {expected(payload)} after."


@pytest.mark.parametrize("payload", PAYLOADS)
def test_table_cells_keep_their_shape(payload):
    table = "| a | b | c |\n|---|---|---|\n" + f"| {md_text(payload)} | {md_code(payload, table=True)} | end |\n"
    out = MD.render(table)
    assert tags(out) == {"table", "thead", "tbody", "tr", "th", "td", "code"}
    cells = re.findall(r"<td>(.*?)</td>", out, flags=re.S)
    assert len(cells) == 3 and cells[2] == "end"
    assert visible(cells[0]) == expected(payload)
    assert html.unescape(re.sub(r"</?code>", "", cells[1])).strip() == expected(payload).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_code_holds_the_text_literally(payload):
    out = MD.render(f"x {md_code(payload)} y")
    assert tags(out) == {"p", "code"}
    code = re.search(r"<code>(.*)</code>", out, flags=re.S).group(1)
    assert html.unescape(code) == expected(payload).strip() or html.unescape(code).strip() == expected(payload).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_text_inside_our_summary_tag(payload):
    out = MD.render(f"<details><summary><b>{html_text(payload, inert=True)}</b></summary>\n\nbody\n\n</details>")
    assert tags(out) == {"details", "summary", "b", "p"}
    summary = re.search(r"<summary>(.*)</summary>", out).group(1)
    assert visible(summary) == expected(payload)


def test_mentions_references_and_links_are_broken_for_github():
    out = md_text("@octocat #12 GH-3 https://x.example www.x.example me@x.example")
    assert "@" + ZWJ + "octocat" in out and "#" + ZWJ + "12" in out and "GH-" + ZWJ + "3" in out
    assert "://" not in out.replace(":" + ZWJ + "//", "") and "www." not in out.replace("www" + ZWJ + ".", "")
    assert "@" + ZWJ + "x" in html_text("me@x.example", inert=True)
    assert "@" in html_text("me@x.example") and ZWJ not in html_text("me@x.example")


def test_code_fence_outgrows_backtick_runs():
    assert md_code("a``b") == "```a``b```"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b", table=True) == "`a\\|b`" and md_code("a|b") == "`a|b`"


def _result(findings: list[Finding]) -> RunResult:
    return RunResult(corpus=[], targets=[], findings=findings, index=None, common=None, noise={},
                     files=len({f.path for f in findings}), corpus_errors=0, seconds=0.0,
                     counts={"rules": 2, "corpus_rules": 10, "by_vendor": {"sigma": 2}, "common_threshold": 3})


def test_report_of_hostile_findings_is_inert():
    findings = [
        Finding("RL101", "noisy-standalone-indicator", "warning", payload, f"rules/{i}|<b>@x`.yml", i + 1,
                related=[Related("peer <i>@y</i>.yml", 2, payload)])
        for i, payload in enumerate(PAYLOADS)
    ]
    out = io.StringIO()
    render(_result(findings), out)
    rendered = MD.render(out.getvalue())
    assert tags(rendered) <= {"h2", "h3", "p", "strong", "em", "code", "ul", "li", "table", "thead", "tbody", "tr",
                              "th", "td"}
    text = visible(rendered)
    for payload in PAYLOADS:
        assert expected(payload) in text
    assert "@octocat" not in out.getvalue() and "\x1b" not in out.getvalue() and "\x00" not in out.getvalue()


def test_summary_table_counts_checks_by_severity():
    findings = [Finding("RL001", "parse-error", "error", "m", "a.yml", 1),
                Finding("RL001", "parse-error", "error", "m", "b.yml", 1),
                Finding("RL101", "noisy-standalone-indicator", "warning", "m", "a.yml", 3)]
    out = io.StringIO()
    render(_result(findings), out)
    text = out.getvalue()
    assert "**3 findings** (2 errors, 1 warning, 0 info) in 2 files" in text
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[4:7]]
            for line in text.splitlines() if line.startswith("| RL")}
    assert rows == {"RL001": ["2", "0", "0"], "RL101": ["0", "1", "0"]}
    assert text.index("### `a.yml`") < text.index("### `b.yml`")


def test_long_reports_stop_within_the_budget():
    findings = [Finding("RL101", "noisy-standalone-indicator", "warning", "x" * 200, f"r{i:04}.yml", 1)
                for i in range(2000)]
    out = io.StringIO()
    render(_result(findings), out, budget=20_000)
    text = out.getvalue()
    assert len(text) < 25_000
    shown = text.count("- 🟡")
    assert 0 < shown < 2000 and f"{2000 - shown} more findings in {2000 - shown} more files not shown" in text


def test_registered_for_the_cli_and_renders_our_corpus():
    result = run([str(REPO / "corpus")], settings=Settings())
    out = io.StringIO()
    RENDERERS["markdown"](result, out)
    text = out.getvalue()
    assert text.count("\n- ") == len(result.findings)
    for f in result.findings:  # each file a heading, its path a code span
        assert f"### `{f.path}`" in text
