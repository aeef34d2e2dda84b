"""Text output: off a terminal the fast plain writer prints exactly what rich prints
line by line, control characters shown as escapes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rulelint.run_result import RunResult
from rulelint.findings import Finding, Related
from rulelint.renderers import text


def _result(findings: list[Finding]) -> RunResult:
    return RunResult(corpus=[], targets=[], findings=findings, index=None, common=None, noise={},
                     files=len({f.path for f in findings}), corpus_errors=0, seconds=0.0,
                     counts={"rules": 2, "corpus_rules": 10, "by_vendor": {"sigma": 2}, "common_threshold": 3})


FINDINGS = [
    Finding("RL101", "noisy-standalone-indicator", "warning", "Image ends_with '\\cmd.exe' [red]x[/red]",
            "rules/a.yml", 7, related=[Related(f"rules/p{i}.yml", i, f"peer rule 'P{i}' uses it") for i in range(5)]),
    Finding("RL001", "parse-error", "error", "bad \x1b[31mred\x1b[0m\ttab \u202eevil", "rules/a.yml", None),
    Finding("RL203", "contradictory-logic", "error", "no event matches", "rules/\x1bb.yml", 123456),
]


def _rich_lines(result: RunResult, monkeypatch: pytest.MonkeyPatch) -> str:
    """What rich prints line by line: the console claims a colour system, so render()
    takes the rich path (the plain writer is removed: calling it would fail), while
    rich itself, holding no colour system, writes no styles."""
    out = io.StringIO()
    monkeypatch.setattr(text, "_render_plain", None)
    monkeypatch.setattr(Console, "color_system", property(lambda self: "standard"))
    text.render(result, out)
    monkeypatch.undo()
    return out.getvalue()


def test_plain_writer_matches_rich_off_a_terminal(monkeypatch):
    result = _result(FINDINGS)
    fast = io.StringIO()
    text.render(result, fast)
    assert fast.getvalue() == _rich_lines(result, monkeypatch)
    assert "\x1b" not in fast.getvalue() and "\u202e" not in fast.getvalue()
    assert "\\x1b[31m" in fast.getvalue() and "\\u202e" in fast.getvalue()
    assert "see rules/p2.yml:2" in fast.getvalue() and "rules/p3.yml" not in fast.getvalue()  # three related at most


def test_no_findings_prints_the_summary_only():
    out = io.StringIO()
    text.render(_result([]), out)
    assert out.getvalue().lstrip().startswith("rulelint summary")
