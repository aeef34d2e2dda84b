"""Every query of the reference corpus through rulelint's loaders: the success table per language.

Usage: python tools/query_gate.py [CORPUS]   (default ../shared/corpus)

For each language: queries found, those that parse, those that yield predicates,
and the time its files took to load (one core). KQL counts the `query` of kuery
rules and the `threat_query` of indicator-match rules. For SPL, "predicates" means
the filter stage yields a predicate (tstats where, the leading search, later
`| search`/`| where`, join subsearches, group-by filters) and "strict" counts those
with a predicate before the first aggregation. Failures are listed after the table.
"""

from __future__ import annotations

import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rulelint.loaders import discover, load_file  # noqa: E402
from rulelint.loaders.kql import parse_kql  # noqa: E402
from rulelint.loaders.query import PredicateSink, QueryError  # noqa: E402

NAMES = {"eql": "EQL", "kuery": "KQL", "esql": "ES|QL", "lucene": "Lucene"}


def _load(path: str, language: str, rows: dict, seconds: Counter, failures: list[str]):
    """Load one file, timed and counted under `language`; the loaded result, or None on a parse-error."""
    started = time.perf_counter()
    res = load_file(path)
    seconds[language] += time.perf_counter() - started
    if language == "SPL" and not res.rules and not res.findings:
        return None  # not a detection (baseline, investigation)
    rows[language]["queries"] += 1
    errors = [f.message for f in res.findings if f.name == "parse-error"]
    if errors:
        failures.append(f"{language:7} {path}: {errors[0]}")
        return None
    rows[language]["parsed"] += 1
    return res


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared" / "corpus"
    rows: dict[str, Counter] = defaultdict(Counter)
    seconds: Counter = Counter()
    failures: list[str] = []

    for path in discover([str(corpus / "elastic")]):
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        rule = data.get("rule", {})
        language = NAMES.get(rule.get("language", ""), "")
        if not language:
            continue
        res = _load(path, language, rows, seconds, failures)
        if res is None:
            continue
        rows[language]["predicates"] += bool(res.rules and res.rules[0].predicates)
        threat = rule.get("threat_query")
        if isinstance(threat, str) and rule.get("threat_language") == "kuery":
            row = rows["KQL"]
            row["queries"] += 1
            try:
                sink = PredicateSink(threat)
                parse_kql(threat, sink)
                row["parsed"] += 1
                row["predicates"] += bool(sink.predicates)
            except QueryError as e:
                failures.append(f"KQL     {path} (threat_query): {e.reason}")

    for path in discover([str(corpus / "splunk" / "detections")]):
        res = _load(path, "SPL", rows, seconds, failures)
        if res is None:
            continue
        row = rows["SPL"]
        rule = res.rules[0]
        if rule.extra.get("filter_predicates"):
            row["predicates"] += 1
        else:
            failures.append(f"SPL     {path}: no filter-stage predicate")
        if any(not {"post_aggregation", "group_by"} & set(p.notes) for p in rule.predicates):
            row["strict"] += 1

    print(f"{'language':<9}{'queries':>9}{'parsed':>9}{'predicates':>12}{'share':>9}{'strict':>8}{'load s':>8}")
    ok = True
    for language in ("KQL", "EQL", "ES|QL", "Lucene", "SPL"):
        r = rows[language]
        share = r["predicates"] / max(r["queries"], 1)
        strict = str(r["strict"]) if language == "SPL" else ""
        print(f"{language:<9}{r['queries']:>9}{r['parsed']:>9}{r['predicates']:>12}{share:>9.1%}{strict:>8}"
              f"{seconds[language]:>8.2f}")
        bar = {"KQL": 1.0, "EQL": 1.0, "ES|QL": 0.95, "SPL": 0.98}.get(language, 1.0)
        ok &= share >= bar
    for line in failures:
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
