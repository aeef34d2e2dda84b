"""The technique catalog page as one self-contained HTML file: no network, no CDN.

Sortable tables, a bar of the operator mix per field, a scatter of corpus reach against
rules here, every row expandable to the rules behind it, and the rule list filterable
by vendor, platform and domain. All text from rules is escaped; the script only sorts,
filters and scrolls.
"""

from __future__ import annotations

import math

from ..renderers.escape import html_text as esc
from .technique import LEVEL_NAMES, VENDORS, TechniqueReport, robustness_label, sample_text, tactic_label
from .technique_markdown import (INTRO_EXCLUSIONS, INTRO_FIELDS, INTRO_INDICATORS, INTRO_ROBUSTNESS, VENDOR_LABEL,
                                 title)

VENDOR_COLOUR = {"sigma": "#4e79a7", "elastic": "#f28e2b", "splunk": "#59a14f"}

# Colour per operator, fixed so the bars read the same on every page.
OP_COLOURS = {
    "eq": "#4e79a7", "ends_with": "#f28e2b", "contains": "#59a14f", "starts_with": "#e15759",
    "wildcard": "#76b7b2", "regex_match": "#edc948", "exists": "#b07aa1", "is_null": "#ff9da7",
    "cidr": "#9c755f", "gt": "#bab0ac", "ge": "#bab0ac", "lt": "#bab0ac", "le": "#bab0ac", "in": "#4e79a7",
    "fieldref": "#8c8c8c",
}

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1180px;padding:1.5em;color:#1d2330}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #d8dde6;padding-bottom:.2em}
.meta{color:#4a5263}.pill{display:inline-block;background:#eef1f6;border-radius:9px;padding:0 .55em;margin-right:.3em}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{border-bottom:1px solid #e6e9ef;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f6f8fb;cursor:pointer;user-select:none;white-space:nowrap}th.num,td.num{text-align:right}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f7;padding:0 .25em;border-radius:3px;word-break:break-all}
code.fld{word-break:normal;white-space:nowrap}
details>summary{cursor:pointer}details.rules ul{margin:.3em 0 .3em 1.2em;padding:0}
.bar{display:flex;height:12px;width:180px;border-radius:2px;overflow:hidden;margin-top:3px;background:#eee}
.bar span{display:block;height:100%}.legend span{display:inline-block;margin-right:.8em}
.legend i{display:inline-block;width:10px;height:10px;margin-right:.3em;border-radius:2px;vertical-align:-1px}
.muted{color:#8a91a0}.filters label{margin-right:1.2em}.rule{border-bottom:1px solid #eef0f4;padding:.3em 0}
.rule:target{background:#fff6d6}.rule .path{color:#4a5263;font-size:12px}.hidden{display:none}
svg text{font-size:11px;fill:#4a5263}
"""

SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
  var asc=th.getAttribute('aria-sort')!=='ascending';
  t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=a.cells[i].dataset.v,y=b.cells[i].dataset.v;
   var nx=parseFloat(x),ny=parseFloat(y),c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
   return asc?c:-c});
  rows.forEach(function(r){body.appendChild(r)});});});});
function applyFilters(){var f={};document.querySelectorAll('.filters select').forEach(function(s){f[s.name]=s.value});
 var shown={};document.querySelectorAll('.rule').forEach(function(r){
  var ok=Object.keys(f).every(function(k){return f[k]==='*'||r.dataset[k]===f[k]});
  r.classList.toggle('hidden',!ok);if(ok){shown[r.dataset.vendor]=(shown[r.dataset.vendor]||0)+1}});
 document.querySelectorAll('.vendor-count').forEach(function(c){c.textContent=shown[c.dataset.vendor]||0});}
document.querySelectorAll('.filters select').forEach(function(s){s.addEventListener('change',applyFilters)});
document.addEventListener('click',function(e){var a=e.target.closest('a.rl');if(!a)return;
 var r=document.getElementById(a.getAttribute('href').slice(1));if(r){var d=r.querySelector('details');if(d)d.open=true}});
"""


def _cell(text: str, sort: str | int | float | None = None, cls: str = "", raw: bool = False) -> str:
    v = esc(str(sort if sort is not None else text))
    c = f' class="{cls}"' if cls else ""
    return f'<td data-v="{v}"{c}>{text if raw else esc(text)}</td>'


def _rule_links(keys: list[str], anchors: dict[str, str], titles: dict[str, str], label: str) -> str:
    items = "".join(f'<li><a class="rl" href="#{anchors[k]}">{esc(titles[k])}</a></li>' for k in keys if k in anchors)
    return f'<details class="rules"><summary>{label}</summary><ul>{items}</ul></details>'


def _op_bar(ops: dict[str, int]) -> str:
    total = sum(ops.values()) or 1
    spans = "".join(f'<span style="width:{100 * n / total:.1f}%;background:{OP_COLOURS.get(op, "#999")}" '
                    f'title="{esc(op)} {n}"></span>' for op, n in ops.items())
    return f'<div class="bar" role="img" aria-label="operator mix">{spans}</div>'


def _scatter(report: TechniqueReport) -> str:
    """Corpus reach (log scale) against rules here: the top-left corner is what this
    technique owns, the top-right what everything uses."""
    pts = report.indicators
    if not pts:
        return ""
    w, h, pad = 640, 260, 44
    max_here = max(i.rules_here for i in pts)
    max_reach = max(i.corpus_reach for i in pts)
    ly = math.log10(max(10, max_reach))

    def x(v: int) -> float:
        return pad + (w - 2 * pad) * (v / max_here if max_here else 0)

    def y(v: int) -> float:
        return h - pad - (h - 2 * pad) * (math.log10(max(1, v)) / ly)

    ticks = "".join(f'<line x1="{pad}" x2="{w - pad}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eee"/>'
                    f'<text x="{pad - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:,}</text>'
                    for t in (1, 10, 100, 1000, 10000) if t <= max(10, max_reach))
    xt = "".join(f'<text x="{x(t):.1f}" y="{h - pad + 16}" text-anchor="middle">{t}</text>'
                 for t in sorted({1, max(1, max_here // 2), max_here}))
    dots = "".join(
        f'<circle cx="{x(i.rules_here):.1f}" cy="{y(i.corpus_reach):.1f}" r="4" '
        f'fill="{"#59a14f" if i.specific else "#e15759"}" fill-opacity=".65">'
        f'<title>{esc(i.field)} {esc(i.op)} {esc(i.value)}: {i.rules_here} here, reach {i.corpus_reach:,}</title></circle>'
        for i in pts)
    return (f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="corpus reach against rules here">'
            f'{ticks}{xt}<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#999"/>{dots}'
            f'<text x="{w / 2}" y="{h - 6}" text-anchor="middle">rules under this technique</text>'
            f'<text x="12" y="{h / 2}" transform="rotate(-90 12 {h / 2})" text-anchor="middle">corpus reach (log)</text>'
            f'</svg><p class="legend"><span><i style="background:#e15759"></i>used beyond this technique</span>'
            f'<span><i style="background:#59a14f"></i>specific to it</span></p>')


def _quadrant(report: TechniqueReport) -> str:
    """Each rule by its noise score (x) and robustness level (y): the top-left quadrant is
    what a detection engineer wants, quiet and hard to evade."""
    pts = [r for r in report.rule_list if r.noise_score is not None and r.robustness is not None]
    if not pts:
        return '<p class="muted">No rule here has both a noise score and a robustness level.</p>'
    w, h, pad = 640, 300, 48

    def x(v: float) -> float:
        return pad + (w - 2 * pad) * v

    def y(level: int) -> float:
        return h - pad - (h - 2 * pad) * (level - 1) / 4

    # Rules of one level spread a little, so equal scores do not hide each other.
    seen: dict[tuple[int, int], int] = {}
    dots = []
    for r in pts:
        slot = (r.robustness or 0, round(r.noise_score * 50))
        k = seen[slot] = seen.get(slot, -1) + 1
        jitter = (k % 5 - 2) * 5
        dots.append(f'<circle cx="{x(r.noise_score):.1f}" cy="{y(r.robustness) + jitter:.1f}" r="4.5" '
                    f'fill="{VENDOR_COLOUR[r.vendor]}" fill-opacity=".7"><title>{esc(r.title or r.key)} '
                    f'({VENDOR_LABEL[r.vendor]}): noise {r.noise_score:.2f}, robustness {robustness_label(r)}</title></circle>')
    grid = "".join(f'<line x1="{pad}" x2="{w - pad}" y1="{y(l):.1f}" y2="{y(l):.1f}" stroke="#eee"/>'
                   f'<text x="{pad - 8}" y="{y(l) + 4:.1f}" text-anchor="end">{l}</text>' for l in range(1, 6))
    xt = "".join(f'<text x="{x(t):.1f}" y="{h - pad + 16}" text-anchor="middle">{t:g}</text>' for t in (0, .25, .5, .75, 1))
    mid = (f'<line x1="{x(.5):.1f}" x2="{x(.5):.1f}" y1="{pad / 2}" y2="{h - pad}" stroke="#ccc" stroke-dasharray="4 3"/>'
           f'<line x1="{pad}" x2="{w - pad}" y1="{(y(3) + y(4)) / 2:.1f}" y2="{(y(3) + y(4)) / 2:.1f}" stroke="#ccc" '
           f'stroke-dasharray="4 3"/>'
           f'<text x="{x(.02):.1f}" y="{pad / 2 + 10}" fill="#59a14f">quiet, hard to evade</text>'
           f'<text x="{x(.98):.1f}" y="{h - pad - 6}" text-anchor="end" fill="#e15759">noisy, easy to evade</text>')
    legend = "".join(f'<span><i style="background:{VENDOR_COLOUR[v]}"></i>{VENDOR_LABEL[v]}</span>' for v in VENDORS)
    return (f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="noise score against robustness level of each rule">{grid}{xt}{mid}'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#999"/>{"".join(dots)}'
            f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">noise score (0 quiet, 1 fires on everything)</text>'
            f'<text x="12" y="{h / 2}" transform="rotate(-90 12 {h / 2})" text-anchor="middle">robustness level</text>'
            f'</svg><p class="legend">{legend}</p>')


def render(report: TechniqueReport) -> str:
    anchors = {r.key: f"r{n}" for n, r in enumerate(report.rule_list)}
    titles = {r.key: r.title or r.key for r in report.rule_list}
    total = sum(report.rules.values())
    h: list[str] = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{esc(title(report))}: rulelint technique catalog</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(title(report))}</h1>",
    ]
    meta = []
    for t in report.tactics:
        meta.append(f'<span class="pill">Tactic: {esc(tactic_label(t))}</span>')
    more = report.other_tactics()
    if more:
        meta.append(f'<span class="muted">its rules also tag: {esc(", ".join(tactic_label(t) for t in more))}</span>')
    h.append(f'<p class="meta">{"".join(meta)}</p>')
    counts = ", ".join(f"{VENDOR_LABEL[v]} {report.rules.get(v, 0)}" for v in VENDORS)
    h.append(f'<p class="meta">{total} rules ({counts}) in a corpus of {report.corpus_rules:,}. '
             f'ATT&amp;CK {esc(report.attack_release())}.</p>')

    h.append("<h2>Events covered</h2>")
    h.append(f"<p>{len(report.events)} normalized event categories are read by rules tagged with this technique.</p>")
    h.append('<table class="sortable"><thead><tr><th>Event</th><th class="num">Rules</th>'
             + "".join(f'<th class="num">{VENDOR_LABEL[v]}</th>' for v in VENDORS) + "</tr></thead><tbody>")
    for e in report.events:
        h.append("<tr>" + _cell(f"<code>{esc(e['event'])}</code>", e["event"], raw=True)
                 + _cell(str(e["rules"]), e["rules"], "num")
                 + "".join(_cell(str(e["vendors"].get(v, "")), e["vendors"].get(v, 0), "num") for v in VENDORS) + "</tr>")
    h.append("</tbody></table>")

    h.append("<h2>Authoring guide</h2>")
    h.append(f"<p>Patterns shared across the {total} rules under this technique. Field names are unified across "
             "vendors and shown as most rules write them; each rule counts at most once per row.</p>")
    h.append(f"<h3>Fields filtered most ({report.fields_total} distinct)</h3><p>{esc(INTRO_FIELDS)}</p>")
    ops_seen = list(dict.fromkeys(op for f in report.fields for op in f.ops))
    h.append('<p class="legend">' + "".join(f'<span><i style="background:{OP_COLOURS.get(op, "#999")}"></i>{esc(op)}</span>'
                                            for op in ops_seen) + "</p>")
    h.append('<table class="sortable"><thead><tr><th>Field</th><th class="num">Rules</th><th>How</th>'
             "<th>Sample values</th><th>Also written as</th></tr></thead><tbody>")
    for f in report.fields:
        how = esc(", ".join(f"{op} {n}" for op, n in f.ops.items())) + _op_bar(f.ops)
        samples = ", ".join(f"<code>{esc(sample_text(v))}</code>" for v in f.samples if v != "")
        h.append("<tr>" + _cell(f"<code class=\"fld\">{esc(f.field)}</code>", f.field, raw=True)
                 + _cell(_rule_links(f.rule_keys, anchors, titles, str(f.rules)), f.rules, "num", raw=True)
                 + _cell(how, sum(f.ops.values()), raw=True) + _cell(samples, ", ".join(f.samples), raw=True)
                 + _cell(", ".join(f"<code>{esc(a)}</code>" for a in f.aliases), ", ".join(f.aliases), raw=True)
                 + "</tr>")
    h.append("</tbody></table>")

    h.append(f"<h3>Top indicator values ({report.indicators_total} distinct)</h3><p>{esc(INTRO_INDICATORS)}</p>")
    h.append(_scatter(report))
    h.append('<table class="sortable"><thead><tr><th>Field</th><th>Kind</th><th>Value</th>'
             '<th class="num">Rules (here)</th><th class="num">Corpus reach</th><th>In ordinary activity</th>'
             '</tr></thead><tbody>')
    for i in report.indicators:
        h.append("<tr>" + _cell(f"<code class=\"fld\">{esc(i.field)}</code>", i.field, raw=True) + _cell(i.op)
                 + _cell(_rule_links(i.rule_keys, anchors, titles, f"<code>{esc(sample_text(i.value))}</code>"), i.value, raw=True)
                 + _cell(str(i.rules_here), i.rules_here, "num")
                 + _cell("" if i.specific else f"{i.corpus_reach:,}", i.corpus_reach, "num")
                 + _cell(i.ordinary) + "</tr>")
    h.append("</tbody></table>")

    h.append(f"<h3>Exclusions ({report.exclusions_total} distinct)</h3><p>{esc(INTRO_EXCLUSIONS)}</p>")
    h.append('<table class="sortable"><thead><tr><th>Field</th><th>Kind</th><th>Value</th>'
             '<th class="num">Rules excluding</th></tr></thead><tbody>')
    for e in report.exclusions:
        h.append("<tr>" + _cell(f"<code class=\"fld\">{esc(e.field)}</code>", e.field, raw=True) + _cell(e.op)
                 + _cell(_rule_links(e.rule_keys, anchors, titles, f"<code>{esc(sample_text(e.value))}</code>"), e.value, raw=True)
                 + _cell(str(e.rules_excluding), e.rules_excluding, "num") + "</tr>")
    if not report.exclusions:
        h.append('<tr><td colspan="4" class="muted">No rule under this technique excludes anything.</td></tr>')
    h.append("</tbody></table>")

    h.append(f"<h2>How evadable are this technique's rules</h2><p>{esc(INTRO_ROBUSTNESS)}</p>")
    h.append('<table><thead><tr><th>Level</th><th>What an adversary must change</th>'
             + "".join(f'<th class="num">{VENDOR_LABEL[v]}</th>' for v in VENDORS) + "</tr></thead><tbody>")
    for level, by_vendor in report.robustness_counts().items():
        if any(by_vendor.values()):
            h.append(f"<tr><td>{level}</td><td>{esc(LEVEL_NAMES[level])}</td>"
                     + "".join(f'<td class="num">{by_vendor[v] or ""}</td>' for v in VENDORS) + "</tr>")
    h.append("</tbody></table>")
    h.append("<h3>Noise against robustness</h3><p>Each rule by its noise score and its robustness level. "
             "The top-left is what a detection engineer wants: quiet and hard to evade.</p>")
    h.append(_quadrant(report))
    h.append("<h2>Rules under this technique</h2><p>Every rule tagged with this technique, grouped by vendor. "
             "Open a rule for its indicators and exclusions.</p>")
    h.append('<p class="filters">')
    for name, label in (("vendor", "Vendor"), ("platform", "Platform"), ("domain", "Domain")):
        options = sorted({getattr(r, name) for r in report.rule_list})
        opts = "".join(f'<option value="{esc(o)}">{esc(VENDOR_LABEL.get(o, o))}</option>' for o in options)
        h.append(f'<label>{label} <select name="{name}"><option value="*">(all)</option>{opts}</select></label>')
    h.append("</p>")
    for v in VENDORS:
        rules = [r for r in report.rule_list if r.vendor == v]
        if not rules:
            continue
        h.append(f'<h3>{VENDOR_LABEL[v]} <span class="vendor-count" data-vendor="{v}">{len(rules)}</span> rules</h3>')
        for r in rules:
            noise = f" · noise {r.noise_score:.2f}" if r.noise_score is not None else ""
            noise += f" · robustness {robustness_label(r)}"
            if r.baseline_hits is not None:
                noise += f" · hits in baseline {r.baseline_hits:,}"
            ind = "".join(f"<li><code>{esc(x)}</code></li>" for x in r.indicators) or '<li class="muted">none</li>'
            exc = "".join(f"<li><code>{esc(x)}</code></li>" for x in r.exclusions) or '<li class="muted">none</li>'
            h.append(
                f'<div class="rule" id="{anchors[r.key]}" data-vendor="{esc(r.vendor)}" data-platform="{esc(r.platform)}" '
                f'data-domain="{esc(r.domain)}"><details><summary><b>{esc(titles[r.key])}</b> '
                f'<span class="muted">{esc(r.platform)} · {esc(r.domain)} · {esc(r.event)}{noise}</span></summary>'
                f'<div class="path"><code>{esc(r.path)}</code>{" line " + str(r.line) if r.line else ""}'
                f'{" · id " + esc(r.id) if r.id else ""}</div>'
                f"<p>Indicators:</p><ul>{ind}</ul><p>Exclusions:</p><ul>{exc}</ul></details></div>")
    h.append('<p class="muted">Generated by rulelint from the rules\' own logic and ATT&amp;CK tags.</p>')
    h.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(h) + "\n"


def render_index(reports: list[TechniqueReport]) -> str:
    rows = []
    for r in sorted(reports, key=lambda r: (-sum(r.rules.values()), r.technique)):
        tactic = ", ".join(tactic_label(t) for t in r.tactics)
        rows.append("<tr>" + _cell(f'<a href="{esc(r.technique)}.html">{esc(r.technique)}</a>', r.technique, raw=True)
                    + _cell(r.name) + _cell(tactic) + _cell(str(sum(r.rules.values())), sum(r.rules.values()), "num")
                    + "".join(_cell(str(r.rules.get(v, 0)), r.rules.get(v, 0), "num") for v in VENDORS) + "</tr>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Techniques: rulelint technique catalog</title><style>{STYLE}</style></head><body>"
            f"<h1>Techniques in the corpus</h1><p>{len(reports)} ATT&amp;CK techniques are tagged by at least one rule. "
            "Click a column to sort.</p>"
            '<table class="sortable"><thead><tr><th>Technique</th><th>Name</th><th>Tactic</th><th class="num">Rules</th>'
            + "".join(f'<th class="num">{VENDOR_LABEL[v]}</th>' for v in VENDORS)
            + "</tr></thead><tbody>" + "".join(rows) + f"</tbody></table><script>{SCRIPT}</script></body></html>\n")
