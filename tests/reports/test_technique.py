"""The per-technique catalog page: its sections computed from the corpus, in every format."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rulelint.cli.main import main
from tests.conftest import REPO, sigma_rule

CORPUS = str(REPO / "corpus")


def _report(tmp_path: Path, *args: str, fmt: str = "json") -> str:
    out = tmp_path / f"report.{fmt}"
    assert main(["report", "technique", *args, "--format", fmt, "--no-progress", "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shared_page(shared_corpus: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("technique") / "T1219.002.json"
    assert main(["report", "technique", "T1219.002", str(shared_corpus), "--format", "json", "--no-progress",
                 "-o", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def _row(rows: list[dict], **want: str) -> dict | None:
    return next((r for r in rows if all(r[k] == v for k, v in want.items())), None)


def test_shared_corpus_page_agrees_with_the_catalog(shared_page):
    """spec/catalog-page-T1219.002.txt: Sigma about 44-46 rules, Elastic about 6-7; AnyDesk and
    MeshAgent indicators lead; event.type start has a large reach; browsers are excluded."""
    assert shared_page["technique"] == "T1219.002"
    assert shared_page["name"] == "Remote Access Tools: Remote Desktop Software"
    assert shared_page["tactics"][0] == "command-and-control"
    assert 44 <= shared_page["rules"]["sigma"] <= 46 and 6 <= shared_page["rules"]["elastic"] <= 7
    ind = shared_page["indicators"]
    anydesk = _row(ind, field="Image", op="ends_with", value="\\anydesk.exe")
    mesh = _row(ind, field="CommandLine", op="contains", value="--meshservicename")
    start = _row(ind, field="event.type", op="eq", value="start")
    assert anydesk and anydesk["rules_here"] >= 4
    assert mesh and mesh["rules_here"] >= 4
    assert start and start["corpus_reach"] > 500 and start["rules_here"] >= 5
    browsers = {e["value"] for e in shared_page["exclusions"][:15] if e["field"] == "Image"}
    assert {"\\msedge.exe", "\\brave.exe"} <= browsers
    fields = {f["field"]: f for f in shared_page["fields"]}
    assert fields["Image"]["rules"] >= 20 and next(iter(fields["Image"]["ops"])) == "ends_with"
    assert {e["event"] for e in shared_page["events"]} >= {"process_creation", "file_event", "dns_query"}


def test_each_rule_counts_once_per_row(shared_page):
    total = sum(shared_page["rules"].values())
    for f in shared_page["fields"]:
        assert len(f["rule_keys"]) == f["rules"] <= total
        assert all(0 < n <= f["rules"] for n in f["ops"].values())
    for i in shared_page["indicators"]:
        assert len(set(i["rule_keys"])) == i["rules_here"] <= i["corpus_reach"]
    for e in shared_page["exclusions"]:
        assert len(set(e["rule_keys"])) == e["rules_excluding"]
    keys = [r["key"] for r in shared_page["rule_list"]]
    assert len(keys) == len(set(keys)) == total


def test_json_contract_on_the_example_corpus(tmp_path):
    page = json.loads(_report(tmp_path, "T1219.002", CORPUS))
    for key in ("technique", "rules", "events", "fields", "indicators", "exclusions"):
        assert key in page
    assert set(page["rules"]) == {"sigma", "elastic", "splunk"} and all(page["rules"].values())
    assert {"field", "rules", "ops", "samples"} <= set(page["fields"][0])
    assert {"field", "op", "value", "rules_here", "corpus_reach"} <= set(page["indicators"][0])
    assert {"field", "op", "value", "rules_excluding"} <= set(page["exclusions"][0])
    # Reach comes from the whole corpus and the bundled reference: browsers are everywhere.
    edge = _row(page["indicators"], field="Image", value="\\msedge.exe")
    assert edge and edge["corpus_reach"] > edge["rules_here"]


def test_markdown_has_every_section(tmp_path):
    md = _report(tmp_path, "T1219.002", CORPUS, fmt="markdown")
    plain = md.replace("\\", "")  # whatever Markdown escapes the renderer chose
    assert plain.startswith("# Remote Access Tools: Remote Desktop Software (T1219.002)")
    for heading in ("## Events covered", "### Fields filtered most", "### Top indicator values",
                    "### Exclusions", "## Rules under this technique"):
        assert heading in md
    assert re.search(r"\| `Image` \| ends\\?_with \| `\\msedge.exe` \| \d+ \| \d+ \|", md)


class _Refs(HTMLParser):
    """Every URL-bearing attribute and every element, to prove the page loads nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset", "data", "poster")]


def test_html_is_self_contained(tmp_path):
    html = _report(tmp_path, "T1219.002", CORPUS, fmt="html")
    refs = _Refs()
    refs.feed(html)
    assert refs.urls and all(u.startswith("#") for u in refs.urls), refs.urls
    assert not {"link", "iframe", "img", "object", "embed"} & set(refs.tags)
    assert "<script src" not in html and "@import" not in html and "url(" not in html
    assert 'class="sortable"' in html and "<svg" in html and 'name="platform"' in html and 'name="domain"' in html
    # Every rule link points at a rule on the page.
    anchors = set(re.findall(r'<div class="rule" id="(r\d+)"', html))
    assert anchors and set(re.findall(r'href="#(r\d+)"', html)) <= anchors


def test_rule_text_renders_inert(tmp_path, write_rules):
    evil = "<script>alert(1)</script> @octocat [x](javascript:alert(1)) `tick` | pipe \x1b[31mred"
    root = write_rules({"r/evil.yml": sigma_rule(
        "Evil " + evil.replace("\x1b", ""), "selection:\n  Image|endswith: '\\evil<b>.exe'\ncondition: selection",
        tags=("attack.t1219.002",))})
    html = _report(tmp_path, "T1219.002", str(root), "--no-reference", fmt="html")
    assert "<script>alert" not in html and "<b>.exe" not in html and "&lt;script&gt;" in html
    md = _report(tmp_path, "T1219.002", str(root), "--no-reference", fmt="markdown")
    prose = re.sub(r"(`+).*?\1", "", md)  # inside code spans `<b>` is literal text
    assert "<script>" not in prose and "<b>" not in prose and "@octocat" not in md and "\x1b" not in md


def test_unknown_technique_id_is_a_usage_error(capsys):
    assert main(["report", "technique", "remote-desktop", CORPUS, "--no-progress"]) == 2
    assert "not an ATT&CK technique id" in capsys.readouterr().err


def test_techniques_writes_a_page_per_technique_and_an_index(tmp_path):
    out = tmp_path / "pages"
    assert main(["report", "techniques", CORPUS, "-o", str(out), "--no-progress"]) == 0
    pages = {p.name for p in out.iterdir()}
    assert "index.html" in pages and "T1219.002.html" in pages and "T1059.003.html" in pages
    index = (out / "index.html").read_text(encoding="utf-8")
    linked = set(re.findall(r'href="([^"]+)"', index))
    assert linked == pages - {"index.html"}
