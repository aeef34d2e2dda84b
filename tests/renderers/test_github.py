"""GitHub workflow commands: one annotation per finding, escaped as GitHub's toolkit does."""

from __future__ import annotations

import io
import os

import pytest

from rulelint.engine import Settings, run
from rulelint.findings import Finding, Related
from rulelint.renderers import RENDERERS
from rulelint.renderers.github import annotation, escape_data, escape_property

from ..conftest import REPO


@pytest.mark.parametrize("text, data, prop", [
    ("plain", "plain", "plain"),
    ("100%", "100%25", "100%25"),
    ("a\nb", "a%0Ab", "a%0Ab"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("C:\\rules,x.yml", "C:\\rules,x.yml", "C%3A\\rules%2Cx.yml"),
    ("%0A", "%250A", "%250A"),  # an escape written in the rule stays text
    ("red \x1b[31mX\x1b[0m\x00\x07", "red X", "red X"),
])
def test_escaping(text, data, prop):
    assert escape_data(text) == data
    assert escape_property(text) == prop


def finding(**kw) -> Finding:
    base = dict(code="RL101", name="noisy-standalone-indicator", severity="warning",
                message="Image ends_with '\\cmd.exe' (131 rules use it) stands alone.", path="rules/a.yml", line=7)
    return Finding(**{**base, **kw})


def test_one_line_per_finding_with_severity_file_line_and_title():
    assert annotation(finding()) == ("::warning file=rules/a.yml,line=7,title=RL101 noisy-standalone-indicator::"
                                     "Image ends_with '\\cmd.exe' (131 rules use it) stands alone.")
    assert annotation(finding(severity="error")).startswith("::error ")
    assert annotation(finding(severity="info")).startswith("::notice ")
    assert "line=" not in annotation(finding(line=None))


def test_rule_text_cannot_forge_a_second_command():
    forged = finding(message="bad\n::error file=x,line=1::forged", path="a,line=99:b.yml")
    line = annotation(forged)
    # GitHub reads a command only at the start of a line: one line, however many `::` inside.
    assert len(line.splitlines()) == 1
    assert line.startswith("::warning file=a%2Cline=99%3Ab.yml,line=7,")
    assert line.endswith("::bad%0A::error file=x,line=1::forged")


def test_related_rules_follow_the_message():
    f = finding(related=[Related("rules/peer.yml", 3, "peer rule 'P' excludes it")])
    assert annotation(f).endswith("stands alone.%0Asee rules/peer.yml:3 peer rule 'P' excludes it")


def test_absolute_paths_inside_the_workspace_become_relative(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert "file=rules/a.yml," in annotation(finding(path=os.path.join(str(tmp_path), "rules", "a.yml")))


def test_renders_a_run():
    result = run([str(REPO / "corpus")], settings=Settings())
    out = io.StringIO()
    RENDERERS["github"](result, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(result.findings) > 0
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
