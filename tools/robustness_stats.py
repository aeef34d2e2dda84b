"""Robustness levels over a corpus: the per-vendor distribution, the reasons for no level,
and (with --dump) every rule's label, to compare two versions of the observable table.

    python tools/robustness_stats.py CORPUS [--dump levels.json] [--diff old.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from rulelint.analysis.robustness import robustness_of
from rulelint.loaders import discover, load_paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--dump", help="write {path: label} here")
    ap.add_argument("--diff", help="an earlier --dump: print the rules whose label changed")
    args = ap.parse_args(argv)
    root = Path(args.corpus)
    rules = load_paths([str(p) for p in discover([str(root)])], 2).rules
    dist: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    nulls: collections.Counter = collections.Counter()
    columns: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    labels: dict[str, str] = {}
    for r in rules:
        rob = robustness_of(r)
        dist[r.vendor][rob.level if rob.level is not None else "null"] += 1
        columns[r.vendor][rob.column or "none"] += 1
        if rob.level is None:
            nulls[rob.reason.split(":")[0][:70]] += 1
        labels[f"{Path(r.path).relative_to(root)}#{r.id}"] = rob.label
    print(f"| vendor | rules | 1 | 2 | 3 | 4 | 5 | null |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for vendor, c in sorted(dist.items()):
        print(f"| {vendor} | {sum(c.values()):,} | " + " | ".join(f"{c[k]:,}" for k in (1, 2, 3, 4, 5, "null")) + " |")
    print("\ncolumns:")
    for vendor, c in sorted(columns.items()):
        print(f"  {vendor}: " + ", ".join(f"{k} {c[k]:,}" for k in ("A", "U", "K", "H", "P", "none") if c[k]))
    print("\nno level:")
    for why, n in nulls.most_common(12):
        print(f"  {n:5d}  {why}")
    if args.dump:
        Path(args.dump).write_text(json.dumps(labels, indent=0, sort_keys=True), encoding="utf-8")
    if args.diff:
        old = json.loads(Path(args.diff).read_text(encoding="utf-8"))
        moves = collections.Counter((old.get(k, "-"), v) for k, v in labels.items() if old.get(k) != v)
        print(f"\n{sum(moves.values())} rules changed label:")
        for (a, b), n in moves.most_common(30):
            print(f"  {n:5d}  {a} -> {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
