"""The technique catalog page as Markdown: for a wiki, a repository, a PR comment.

Nothing from rule text is raw Markdown or HTML: values go through the escaping helpers;
the only tags are the `<details>` this module writes.
"""

from __future__ import annotations

from ..renderers.escape import md_code as _code, md_text
from .technique import LEVEL_NAMES, VENDORS, TechniqueReport, robustness_label, sample_text, tactic_label

VENDOR_LABEL = {"sigma": "Sigma", "elastic": "Elastic", "splunk": "Splunk"}

INTRO_FIELDS = ("The fields most rules look at when detecting this technique. The How column shows the operators "
                "authors use and how many rules use each; sample values are starting points, not a "
                "complete list.")
INTRO_INDICATORS = ("Field, operator and value combinations ranked by how many rules under this technique "
                    "use each. The corpus reach counts the rules of the whole corpus (any technique) that test "
                    "the same combination: high numbers mark indicators too common to mean much alone. Blank "
                    "means the combination is specific to this technique. In ordinary activity: what the "
                    "prevalence prior knows of the value on ordinary hosts (blank: nothing, which is not rare).")
INTRO_EXCLUSIONS = ("What rules under this technique exclude (clauses under a top-level NOT), by how many rules "
                    "exclude each: the false-positive paths the community learned to filter out.")


def md_code(text: str) -> str:
    """A code span safe inside a table cell (every use here is in one or in a list)."""
    return _code(text, table=True)


def title(report: TechniqueReport) -> str:
    return f"{report.name} ({report.technique})" if report.name else report.technique


def _ops(ops: dict[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in ops.items())


def _samples(values: list[str]) -> str:
    return ", ".join(md_code(sample_text(v)) for v in values if v != "")


INTRO_ROBUSTNESS = (
    "Rules per Summiting the Pyramid level: how much an adversary must change to slip past them (1: a value "
    "they choose, such as a file name or a hash; 5: the technique itself). The level of a rule is that of "
    "its weakest AND-ed part; `rulelint explain RULE` shows which observable sets it.")


def render(report: TechniqueReport) -> str:
    total = sum(report.rules.values())
    out = [f"# {md_text(title(report))}", ""]
    if report.tactics:
        more = report.other_tactics()
        also = f" (its rules also tag {', '.join(md_text(tactic_label(t)) for t in more)})" if more else ""
        out += [f"**Tactic:** {', '.join(md_text(tactic_label(t)) for t in report.tactics)}{also}", ""]
    counts = " · ".join(f"{VENDOR_LABEL[v]} {report.rules.get(v, 0)}" for v in VENDORS)
    out += [f"**Rules:** {total} ({counts}), in a corpus of {report.corpus_rules:,} rules.", "",
            f"**ATT&CK release:** {report.attack_release()}", ""]

    out += ["## Events covered", "",
            f"{len(report.events)} normalized event categories are read by rules tagged with this technique.", "",
            "| Event | Rules | " + " | ".join(VENDOR_LABEL[v] for v in VENDORS) + " |",
            "|---|---:|" + "---:|" * len(VENDORS)]
    for e in report.events:
        out.append(f"| {md_code(e['event'])} | {e['rules']} | "
                   + " | ".join(str(e["vendors"].get(v, "")) for v in VENDORS) + " |")

    out += ["", "## Authoring guide", "",
            f"Patterns shared across the {total} rules above: which fields they filter on, what values they "
            "look for, and what they exclude. Field names are unified across vendors (Sigma's `Image`, "
            "Elastic's `process.executable`, Splunk's `process_path` are one row, shown as most rules write "
            "it). Each rule counts at most once per row.", ""]

    out += [f"### Fields filtered most ({report.fields_total} distinct)", "", INTRO_FIELDS, "",
            "| Field | Rules | How | Sample values | Also written as |", "|---|---:|---|---|---|"]
    for f in report.fields:
        out.append(f"| {md_code(f.field)} | {f.rules} | {md_text(_ops(f.ops))} | {_samples(f.samples)} | "
                   f"{', '.join(md_code(a) for a in f.aliases)} |")

    out += ["", f"### Top indicator values ({report.indicators_total} distinct)", "", INTRO_INDICATORS, "",
            "| Field | Kind | Value | Rules (here) | Corpus reach | In ordinary activity |", "|---|---|---|---:|---:|---|"]
    for i in report.indicators:
        reach = "" if i.specific else f"{i.corpus_reach:,}"
        out.append(f"| {md_code(i.field)} | {md_text(i.op)} | {md_code(sample_text(i.value))} | {i.rules_here} | {reach} "
                   f"| {md_text(i.ordinary)} |")

    out += ["", f"### Exclusions ({report.exclusions_total} distinct)", "", INTRO_EXCLUSIONS, "",
            "| Field | Kind | Value | Rules excluding |", "|---|---|---|---:|"]
    for e in report.exclusions:
        out.append(f"| {md_code(e.field)} | {md_text(e.op)} | {md_code(sample_text(e.value))} | {e.rules_excluding} |")
    if not report.exclusions:
        out.append("| | | *no rule under this technique excludes anything* | |")

    out += ["", "## How evadable are this technique's rules", "", INTRO_ROBUSTNESS, "",
            "| Level | What an adversary must change | " + " | ".join(VENDOR_LABEL[v] for v in VENDORS) + " |",
            "|---|---|" + "---:|" * len(VENDORS)]
    for level, by_vendor in report.robustness_counts().items():
        if any(by_vendor.values()):
            out.append(f"| {level} | {LEVEL_NAMES[level]} | " + " | ".join(str(by_vendor[v] or "") for v in VENDORS) + " |")
    out += ["", "## Rules under this technique", ""]
    for v in VENDORS:
        rules = [r for r in report.rule_list if r.vendor == v]
        if not rules:
            continue
        out += [f"<details><summary>{VENDOR_LABEL[v]}: {len(rules)} rules</summary>", ""]
        for r in rules:
            noise = f", noise {r.noise_score:.2f}" if r.noise_score is not None else ""
            noise += f", robustness {robustness_label(r)}"
            if r.baseline_hits is not None:
                noise += f", hits in baseline {r.baseline_hits:,}"
            out.append(f"- **{md_text(r.title or r.key)}** ({md_code(r.path)}; {md_text(r.platform)}, "
                       f"{md_text(r.domain)}, {md_code(r.event)}{noise})")
        out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def render_index(reports: list[TechniqueReport]) -> str:
    out = ["# Techniques in the corpus", "",
           f"{len(reports)} ATT&CK techniques are tagged by at least one rule.", "",
           "| Technique | Name | Tactic | Rules | " + " | ".join(VENDOR_LABEL[v] for v in VENDORS) + " |",
           "|---|---|---|---:|" + "---:|" * len(VENDORS)]
    for r in sorted(reports, key=lambda r: (-sum(r.rules.values()), r.technique)):
        out.append(f"| [{r.technique}]({r.technique}.md) | {md_text(r.name)} | "
                   f"{', '.join(md_text(tactic_label(t)) for t in r.tactics)} | {sum(r.rules.values())} | "
                   + " | ".join(str(r.rules.get(v, 0)) for v in VENDORS) + " |")
    return "\n".join(out) + "\n"
