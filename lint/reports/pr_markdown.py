"""The PR report as Markdown for a pull-request comment.

The only HTML is the `<details>`, `<summary>` and `<b>` tags written here; rule text
goes through rulelint.renderers.escape (Markdown-escaped, or HTML-escaped inside a
`<summary>`, with mentions and issue references broken either way).
"""

from __future__ import annotations

from collections import Counter

from ..findings import Finding
from ..model.predicate import IndicatorKey, plural
from ..renderers.escape import html_text, md_code, md_text
from ..renderers.markdown import BUDGET, finding_lines
from .pr import PRReport, RuleChange

MAX_INDICATORS = 25  # rows per rule; the JSON output has them all


def _noise(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _severities(findings: list[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    parts = [plural(counts[s], s) if s != "info" else f"{counts[s]} info"
             for s in ("error", "warning", "info") if counts[s]]
    return f" ({', '.join(parts)})" if parts else ""


def _headline(report: PRReport) -> list[str]:
    new = [f for _, f in report.new]
    where = ", ".join(md_code(p) for p in report.paths)
    line = (f"Against {md_code(report.base)} ({md_code(report.base_commit[:12])}) under {where}: "
            f"{plural(len(report.changes), 'rule file')} changed, {plural(len(report.rules), 'rule')}. "
            f"**{plural(len(new), 'new finding')}**{_severities(new)}, {len(report.fixed)} fixed")
    if report.removed:
        line += f", {len(report.removed)} gone with deleted rules"
    return ["## rulelint PR review", "", line + ".", ""]


def _changes_table(report: PRReport) -> list[str]:
    if not report.changes:
        return ["No rule file changed under these paths.", ""]
    rules_at = Counter(r.path for r in report.rules)
    lines = ["| change | file | rules | new findings | fixed |", "|---|---|---:|---:|---:|"]
    for c in report.changes:
        name = md_code(c.path, table=True)
        if c.old_path:
            name = f"{md_code(c.old_path, table=True)} → {name}"
        lines.append(f"| {c.status} | {name} | {rules_at.get(c.path, 0)} | {c.new} | {c.fixed} |")
    return lines + [""]


def _findings(title: str, pairs: list[tuple[str, Finding]], budget: int) -> list[str]:
    if not pairs:
        return []
    lines = [f"### {title} ({len(pairs)})", ""]
    used = 0
    for n, (_, f) in enumerate(pairs):
        block = finding_lines(f, with_path=True)
        size = sum(len(x) + 1 for x in block)
        if used + size > budget and n:
            lines.append(f"- _{plural(len(pairs) - n, 'more')} not shown; `--format json` lists them all._")
            break
        lines += block
        used += size
    return lines + [""]


def _indicator_table(rc: RuleChange) -> list[str]:
    if not rc.indicators:
        return ["The rule has no indicators to measure.", ""]
    lines = ["| indicator | as written | use | other rules now | at base | common | change |",
             "|---|---|---|---:|---:|:---:|---|"]
    for row in rc.indicators[:MAX_INDICATORS]:
        key = IndicatorKey(row["field"], row["op"], row["value"]).display()
        before = "–" if row["reach_before"] is None else str(row["reach_before"])
        lines.append(f"| {md_code(key, table=True)} | {md_code(row['written'], table=True)} | "
                     f"{'selects' if row['positive'] else 'excludes'} | {row['reach'] if row['reach'] is not None else '–'} | "
                     f"{before} | {'yes' if row['common'] else ''} | {'added' if row.get('added') else ''} |")
    if len(rc.indicators) > MAX_INDICATORS:
        lines.append(f"| _{plural(len(rc.indicators) - MAX_INDICATORS, 'more indicator')}_ | | | | | | |")
    lines.append("")
    if rc.removed_indicators:
        gone = ", ".join(md_code(r["written"]) for r in rc.removed_indicators[:MAX_INDICATORS])
        more = f" and {len(rc.removed_indicators) - MAX_INDICATORS} more" if len(rc.removed_indicators) > MAX_INDICATORS else ""
        lines += [f"Removed by the change: {gone}{more}.", ""]
    return lines


def _exclusion_lines(rc: RuleChange) -> list[str]:
    if not rc.peers:
        return ["No peer rules on this log source share its activity.", ""]
    if not rc.missing_exclusions:
        return [f"It handles every exclusion most of its {plural(rc.peers, 'peer rule')} apply.", ""]
    lines = [f"**Exclusions its {plural(rc.peers, 'peer rule')} use and it lacks:**", "",
             "| exclusion | peers using it |", "|---|---:|"]
    for m in rc.missing_exclusions:
        lines.append(f"| {md_code(m['written'], table=True)} | {m['peers']} |")
    return lines + [""]


def _rule_section(rc: RuleChange) -> list[str]:
    title = rc.title or rc.id or rc.path
    noise = (f"noise {_noise(rc.noise_before)} → {_noise(rc.noise_after)}" if rc.status == "modified"
             else f"noise {_noise(rc.noise_after if rc.status == 'added' else rc.noise_before)}")
    counts = []
    if rc.new:
        counts.append(plural(len(rc.new), "new finding"))
    if rc.fixed:
        counts.append(f"{len(rc.fixed)} fixed")
    rob = (f"robustness {rc.robustness_before} → {rc.robustness_after}" if rc.status == "modified"
           else f"robustness {rc.robustness_after or rc.robustness_before}")
    summary = " · ".join([rc.vendor, rc.status, noise, rob, *counts])
    lines = [f"<details><summary><b>{html_text(title, inert=True)}</b> · {html_text(summary, inert=True)}</summary>",
             ""]
    facts = [md_code(rc.path)]
    if rc.id:
        facts.append(f"id {md_code(rc.id)}")
    if rc.techniques:
        facts.append("techniques " + ", ".join(md_code(t) for t in rc.techniques))
    facts.append(f"log source {md_code(rc.logsource)}")
    lines += [" · ".join(facts), ""]
    if rc.status in ("deleted", "broken"):
        why = "The rule was deleted." if rc.status == "deleted" else "The file no longer loads (see the new findings)."
        lines += [why, ""]
    else:
        lines += [f"Noise score (0 quiet .. 1 fires on almost everything): {_noise(rc.noise_before)} at the base, "
                  f"{_noise(rc.noise_after)} now." + (f" {md_text(rc.noise_note)}" if rc.noise_note else ""), ""]
        lines += [f"Robustness (Summiting the Pyramid level and event column; 1 an adversary's own value .. "
                  f"5 the technique): {rc.robustness_before or 'none'} at the base, {rc.robustness_after} now."
                  + (f" {md_text(rc.robustness_reason)}" if rc.robustness_reason else ""), ""]
        if rc.noise_evidence:
            lines += ["| Commonest condition | Share of hosts | Reach | In ordinary activity |", "|---|---:|---:|---|"]
            for t in rc.noise_evidence:
                share = f"{t['share']:.0%}" if t["share"] >= 0.5 else f"1 in {round(1 / t['share']):,}"
                lines.append(f"| {md_code(t['written'], table=True)} | {share} | {t['reach']} | {md_text(t['evidence'])} |")
            lines.append("")
        lines += _indicator_table(rc)
        lines += _exclusion_lines(rc)
    lines += ["</details>", ""]
    return lines


def render(report: PRReport, budget: int = BUDGET) -> str:
    lines = _headline(report) + _changes_table(report)
    lines += _findings("New findings", report.new, budget // 3)
    lines += _findings("Fixed findings", report.fixed, budget // 6)
    if report.rules:
        lines += ["### Changed rules", ""]
        used = sum(len(x) + 1 for x in lines)
        for n, rc in enumerate(report.rules):
            block = _rule_section(rc)
            size = sum(len(x) + 1 for x in block)
            if used + size > budget and n:
                lines += [f"_{plural(len(report.rules) - n, 'more changed rule')} not shown; "
                          "`--format json` lists them all._", ""]
                break
            lines += block
            used += size
    return "\n".join(lines).rstrip("\n") + "\n"

