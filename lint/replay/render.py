"""Replay results as text, JSON, Markdown and HTML: separate renderers over one result."""

from __future__ import annotations

import html
import json
from typing import Any, TextIO

from ..model.rule import NormalizedRule
from .run import ReplayResult

TOGETHER_SHOWN = 20


def document(res: ReplayResult, with_events: bool = True) -> dict[str, Any]:
    """The JSON document: `rules` (every judged rule, most hits first), `not_judged`, `summary`."""
    rules = res.rules
    judged = [n for n in range(len(rules)) if n not in res.not_judged]
    judged.sort(key=lambda n: (-(res.hits[n].hits if n in res.hits else 0), rules[n].path, rules[n].key))
    out_rules = []
    for n in judged:
        r, h = rules[n], res.hits.get(n)
        entry: dict[str, Any] = {"path": r.path, "id": r.id, "vendor": r.vendor, "title": r.title,
                                 "hits": h.hits if h else 0}
        if with_events:
            entry["events"] = [{"file": f, "index": i} for f, i in (h.events if h else [])]
        entry["background_hits"] = (h.hits - h.attack_hits) if h else 0
        entry["by_source"] = dict(h.by_source.most_common()) if h else {}
        entry["by_host"] = dict(h.by_host.most_common()) if h else {}
        out_rules.append(entry)
    not_judged = [{"path": rules[n].path, "id": rules[n].id, "vendor": rules[n].vendor, "title": rules[n].title,
                   "reason": why} for n, why in sorted(res.not_judged.items(), key=lambda kv: rules[kv[0]].path)]
    return {"rules": out_rules, "not_judged": not_judged, "summary": summary(res)}


def summary(res: ReplayResult) -> dict[str, Any]:
    rules = res.rules
    by_vendor: dict[str, dict[str, int]] = {}
    for n, r in enumerate(rules):
        v = by_vendor.setdefault(r.vendor, {"rules": 0, "judged": 0, "with_hits": 0, "hits": 0})
        v["rules"] += 1
        if n not in res.not_judged:
            v["judged"] += 1
        if n in res.hits:
            v["with_hits"] += 1
            v["hits"] += res.hits[n].hits
    return {
        "events": res.events,
        "files": res.files,
        "attack_events": res.attack_events,
        "read_errors": len(res.errors),
        "rules": len(rules),
        "rules_judged": len(rules) - len(res.not_judged),
        "rules_with_hits": len(res.hits),
        "hits": sum(h.hits for h in res.hits.values()),
        "by_vendor": dict(sorted(by_vendor.items())),
        "by_source": dict(res.by_source.most_common()),
        "together": together(res),
        "seconds": round(res.seconds, 3),
    }


def together(res: ReplayResult, limit: int = TOGETHER_SHOWN) -> list[dict[str, Any]]:
    """Rules of different vendors that fired on the same events: one behaviour, covered thrice."""
    out = []
    for group, count in sorted(res.together.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]:
        rs = [res.rules[n] for n in group]
        out.append({"events": count, "vendors": sorted({r.vendor for r in rs}),
                    "rules": [{"path": r.path, "id": r.id, "vendor": r.vendor, "title": r.title} for r in rs]})
    return out


def render_json(res: ReplayResult, out: TextIO) -> None:
    json.dump(document(res), out, indent=1, ensure_ascii=False)
    out.write("\n")


def _top(res: ReplayResult, limit: int) -> list[tuple[NormalizedRule, Any]]:
    ranked = sorted(res.hits.items(), key=lambda kv: (-kv[1].hits, res.rules[kv[0]].path))
    return [(res.rules[n], h) for n, h in ranked[:limit]]


def _reasons(res: ReplayResult) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for why in res.not_judged.values():
        head = why.split(":")[0] if why.startswith(("a correlation", "a filter", "no query")) else \
            why.split(" ")[0] + " " + (why.split(" ")[1] if " " in why else "")
        counts[head] = counts.get(head, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def render_text(res: ReplayResult, out: TextIO, limit: int = 30) -> None:
    s = summary(res)
    out.write(f"Replayed {s['rules_judged']:,} of {s['rules']:,} rules over {s['events']:,} events "
              f"from {s['files']:,} files in {s['seconds']:.1f} s: {s['rules_with_hits']:,} rules fired, "
              f"{s['hits']:,} hits.\n")
    if res.attack_events:
        out.write(f"{res.attack_events:,} of the matched events are the recorded attacks' own (lab metadata); "
                  "'background' counts the other hits.\n")
    if res.errors:
        out.write(f"{len(res.errors)} unreadable events or files, first: {res.errors[0].file}: {res.errors[0].reason}\n")
    out.write(f"\nMost hits (top {limit}):\n")
    out.write(f"{'hits':>8} {'backgr.':>8}  {'vendor':<8} rule\n")
    for r, h in _top(res, limit):
        out.write(f"{h.hits:>8,} {h.hits - h.attack_hits:>8,}  {r.vendor:<8} {r.title} ({r.path})\n")
    groups = together(res, 10)
    if groups:
        out.write("\nRules of several vendors firing on the same events:\n")
        for g in groups:
            out.write(f"{g['events']:>8,}  " + " | ".join(f"{x['vendor']}: {x['title']}" for x in g["rules"]) + "\n")
    if res.not_judged:
        out.write(f"\n{len(res.not_judged):,} rules cannot be judged on single events: "
                  + ", ".join(f"{why} ({n})" for why, n in _reasons(res)) + ".\n")


def render_markdown(res: ReplayResult, out: TextIO, limit: int = 50) -> None:
    s = summary(res)
    out.write("# Replay summary\n\n")
    out.write(f"{s['rules_judged']:,} of {s['rules']:,} rules over {s['events']:,} events from {s['files']:,} files "
              f"({s['seconds']:.1f} s): {s['rules_with_hits']:,} rules fired, {s['hits']:,} hits"
              + (f"; {res.attack_events:,} matched events are recorded attacks' own" if res.attack_events else "") + ".\n\n")
    out.write("| vendor | rules | judged | fired | hits |\n|---|---:|---:|---:|---:|\n")
    for v, c in s["by_vendor"].items():
        out.write(f"| {v} | {c['rules']:,} | {c['judged']:,} | {c['with_hits']:,} | {c['hits']:,} |\n")
    out.write("\n## Most hits\n\n| hits | background | vendor | rule | path |\n|---:|---:|---|---|---|\n")
    for r, h in _top(res, limit):
        out.write(f"| {h.hits:,} | {h.hits - h.attack_hits:,} | {r.vendor} | {_md(r.title)} | `{r.path}` |\n")
    groups = together(res)
    if groups:
        out.write("\n## One behaviour, several vendors\n\nRules of different vendors that fired on the same events.\n\n"
                  "| events | rules |\n|---:|---|\n")
        for g in groups:
            out.write(f"| {g['events']:,} | " + "<br>".join(f"{x['vendor']}: {_md(x['title'])}" for x in g["rules"])
                      + " |\n")
    if res.not_judged:
        out.write("\n## Not judged on single events\n\n| reason | rules |\n|---|---:|\n")
        for why, n in _reasons(res):
            out.write(f"| {_md(why)} | {n:,} |\n")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_html(res: ReplayResult, out: TextIO, limit: int = 100) -> None:
    import io

    md = io.StringIO()
    render_markdown(res, md, limit)
    out.write("<!doctype html><meta charset='utf-8'><title>rulelint replay</title>"
              "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:90em}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
              "td.n{text-align:right}</style>\n")
    for block in md.getvalue().split("\n\n"):
        out.write(_block_html(block) + "\n")


def _block_html(block: str) -> str:
    lines = [ln for ln in block.strip().split("\n") if ln]
    if not lines:
        return ""
    if lines[0].startswith("#"):
        level = len(lines[0]) - len(lines[0].lstrip("#"))
        return f"<h{level}>{html.escape(lines[0].lstrip('# '))}</h{level}>"
    if lines[0].startswith("|"):
        rows = [_cells(ln) for ln in lines if not set(ln.replace("|", "").strip()) <= set("-:")]
        head, body = rows[0], rows[1:]
        out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"]
        for row in body:
            out.append("<tr>" + "".join(
                f"<td class='n'>{html.escape(c)}</td>" if c.replace(",", "").isdigit()
                else f"<td>{html.escape(c).replace('&lt;br&gt;', '<br>').replace('`', '')}</td>" for c in row) + "</tr>")
        return "".join(out) + "</table>"
    return "<p>" + html.escape(" ".join(lines)) + "</p>"


def _cells(line: str) -> list[str]:
    parts = line.strip().strip("|").split(" | ")
    return [p.strip().replace("\\|", "|") for p in parts]


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown, "html": render_html}
