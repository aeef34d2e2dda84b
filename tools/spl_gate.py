"""Gate for the Splunk loader: how many security_content detections yield predicates.

Usage: python tools/spl_gate.py [SPLUNK_ROOT]   (default ../shared/corpus/splunk)

Prints, per folder under detections/: detections, those whose filter stage yields at
least one predicate (everything but post-aggregation tests), those with a predicate
strictly before the first aggregation (the leading search, tstats where, join
subsearches), parse errors, and the time taken; then the failures.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rulelint.loaders.result import PARSE_ERROR  # noqa: E402
from rulelint.loaders.splunk import MacroTable, load_splunk, looks_like_splunk  # noqa: E402


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/corpus/splunk")
    files = sorted((root / "detections").rglob("*.yml"))
    rows: Counter = Counter()
    empty, errors = [], []
    start = time.perf_counter()
    for f in files:
        text = f.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=yaml.CSafeLoader)
        folder = f.relative_to(root / "detections").parts[0]
        rows[folder, "n"] += 1
        if not looks_like_splunk(data):
            rows[folder, "skipped"] += 1
            continue
        res = load_splunk(str(f), data, text, MacroTable.for_rule(str(f)))
        errs = [x for x in res.findings if x.code == PARSE_ERROR[0]]
        if errs:
            rows[folder, "error"] += 1
            errors.append((f, errs[0].message))
            continue
        rule = res.rules[0]
        if rule.extra["filter_predicates"]:
            rows[folder, "ok"] += 1
        else:
            empty.append(f)
        if any(not {"post_aggregation", "group_by"} & set(p.notes) for p in rule.predicates):
            rows[folder, "strict"] += 1
    elapsed = time.perf_counter() - start
    folders = sorted({k[0] for k in rows})
    print(f"{'folder':<14}{'detections':>11}{'filter':>8}{'strict':>8}{'errors':>8}")
    for name in folders + ["total"]:
        get = (lambda c: sum(rows[f, c] for f in folders)) if name == "total" else (lambda c: rows[name, c])
        print(f"{name:<14}{get('n'):>11}{get('ok'):>8}{get('strict'):>8}{get('error'):>8}")
    total, ok = sum(rows[f, "n"] for f in folders), sum(rows[f, "ok"] for f in folders)
    print(f"\n{ok}/{total} = {100 * ok / max(total, 1):.2f}% yield filter-stage predicates; {elapsed:.2f}s")
    for f, msg in errors:
        print(f"error  {f.relative_to(root)}: {msg}")
    for f in empty:
        print(f"empty  {f.relative_to(root)}")
    return 0 if ok >= 0.98 * total else 1


if __name__ == "__main__":
    raise SystemExit(main())
