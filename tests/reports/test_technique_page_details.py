"""Technique pages read cleanly: a tactic once however its rules spell it, values that
differ only in case as one, Splunk's routing fields left out, field names kept whole in
HTML, and the ATT&CK release named."""

from __future__ import annotations

import json

from rulelint.cli.main import main

from ..conftest import sigma_rule

SPLUNK = """name: Remote tool from a private index
id: 3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b
type: TTP
status: production
search: 'index=private_idx sourcetype=custom:proc process_name=rare-remote-tool.exe | stats count by dest'
tags:
  mitre_attack_id:
  - T1219
"""


def _page(tmp_path, capsys, fmt: str) -> str:
    rules = tmp_path / "rules"
    rules.mkdir()
    for i, (tactic, value) in enumerate((("command_and_control", "S-1-5-18"), ("command-and-control", "s-1-5-18"))):
        (rules / f"r{i}.yml").write_text(sigma_rule(
            f"Remote tool {i}", f"selection:\n    CommandLine|contains: '{value}'\n    Image|endswith: '\\\\rare{i}.exe'\n"
                                "condition: selection", tags=(f"attack.{tactic}", "attack.t1219")))
    (rules / "s.yml").write_text(SPLUNK)
    out = tmp_path / f"page.{fmt}"
    assert main(["report", "technique", "T1219", str(rules), "--format", fmt, "-o", str(out), "--no-progress",
                 "--no-reference", "--no-cache"]) == 0
    capsys.readouterr()
    return out.read_text(encoding="utf-8")


def test_json_page_merges_case_and_drops_routing(tmp_path, capsys):
    page = json.loads(_page(tmp_path, capsys, "json"))
    fields = {f["canonical"]: f for f in page["fields"]}
    assert not {"index", "sourcetype", "source"} & set(fields)
    assert not any(i["field"] in ("index", "sourcetype") for i in page["indicators"])
    samples = [s.casefold() for s in fields["process.command_line"]["samples"]]
    assert samples.count("s-1-5-18") == 1
    assert sum(1 for i in page["indicators"] if i["value"].casefold() == "s-1-5-18") == 1
    assert page["attack_version"]


def test_markdown_names_the_tactic_once_and_the_release(tmp_path, capsys):
    page = _page(tmp_path, capsys, "markdown")
    assert page.count("Command and Control") == 1, page[:400]
    assert "also tag" not in page
    assert "**ATT&CK release:** Enterprise v" in page


def test_html_keeps_field_names_whole(tmp_path, capsys):
    page = _page(tmp_path, capsys, "html")
    assert 'code.fld{word-break:normal;white-space:nowrap}' in page
    assert '<code class="fld">process.command_line</code>' in page or '<code class="fld">CommandLine</code>' in page


def test_pages_say_how_evadable_the_rules_are(tmp_path, capsys):
    """Robustness per rule, counted per level and vendor, and the noise-against-robustness chart."""
    page = json.loads(_page(tmp_path, capsys, "json"))
    counts = page["robustness"]
    assert set(counts) == {"1", "2", "3", "4", "5", "none"}
    assert sum(sum(by.values()) for by in counts.values()) == len(page["rule_list"]) == 3
    for r in page["rule_list"]:
        level = str(r["robustness"]) if r["robustness"] is not None else "none"
        assert counts[level][r["vendor"]] >= 1
    md = _page(tmp_path / "md", capsys, "markdown") if (tmp_path / "md").mkdir() is None else ""
    assert "## How evadable are this technique's rules" in md and ", robustness " in md
    html = _page(tmp_path / "html", capsys, "html") if (tmp_path / "html").mkdir() is None else ""
    assert 'aria-label="noise score against robustness level of each rule"' in html
    assert "quiet, hard to evade" in html
