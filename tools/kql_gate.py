"""Parse every KQL query of the Elastic corpus and print a success table.

    .venv/bin/python tools/kql_gate.py [corpus-dir]    (default: ../shared/corpus)

Takes `query` where `language = "kuery"` and `threat_query` where
`threat_language = "kuery"`. Exits 1 if any query fails to parse.
"""

from __future__ import annotations

import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

from rulelint.loaders.kql import parse_kql
from rulelint.loaders.query import PredicateSink, QueryError


def kql_queries(root: Path) -> list[tuple[Path, str, str]]:
    """(file, key, query text) for every KQL query under root/elastic."""
    out = []
    for path in sorted((root / "elastic").rglob("*.toml")):
        rule = tomllib.loads(path.read_text(encoding="utf-8")).get("rule", {})
        for key, lang in (("query", "language"), ("threat_query", "threat_language")):
            if rule.get(lang) == "kuery" and isinstance(rule.get(key), str):
                out.append((path, key, rule[key]))
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    queries = kql_queries(root)
    parse_kql("a:b", PredicateSink())  # build the parser outside the timing
    total, ok, preds = Counter(), Counter(), Counter()
    failures = []
    start = time.perf_counter()
    for path, key, text in queries:
        total[key] += 1
        sink = PredicateSink(text)
        try:
            parse_kql(text, sink)
        except QueryError as e:
            failures.append((path, key, e))
            continue
        ok[key] += 1
        preds[key] += len(sink.predicates)
    elapsed = time.perf_counter() - start
    print(f"{'source':<14}{'queries':>8}{'parsed':>8}{'failed':>8}{'predicates':>12}")
    for key in ("query", "threat_query"):
        print(f"{key:<14}{total[key]:>8}{ok[key]:>8}{total[key] - ok[key]:>8}{preds[key]:>12}")
    print(f"{'all':<14}{sum(total.values()):>8}{sum(ok.values()):>8}{len(failures):>8}{sum(preds.values()):>12}")
    print(f"parse time: {elapsed:.3f} s ({1000 * elapsed / max(1, len(queries)):.2f} ms per query)")
    for path, key, e in failures:
        print(f"FAIL {path.relative_to(root)} [{key}] @{e.offset}: {e.construct}: {e.reason}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
