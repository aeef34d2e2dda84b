"""How well the noise score agrees with what rule maintainers did about noisy rules.

    python tools/eval_noise.py [--corpus ../shared/corpus] [--labels ../shared/data/noise-dev]

Reads the development half of the maintainers' labels (`pairs/` before/after versions of
rules whose commit reduced false positives; `labels.csv` of rules known noisy) and reports:

- pairs: the share of before/after pairs where the version before the fix scores noisier
  than the one after (ties count half), with the counts of right, tied and reversed pairs;
- AUC per label: the chance that a labelled rule scores noisier than an unlabelled rule of
  the same top folders (ties count half);
- the share of rules at exactly 0 and at exactly 1, and of rules with no score.

Each pair version is judged against the corpus in place of the corpus copy of its rule, as
`rulelint explain` judges a rule. The figures go into docs/noise-score.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
LABELS = ("known_fps_ever", "moved_rules_to_threat_hunting", "hayabusa_noisy_ever", "hayabusa_excluded_for_fps")


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a positive scores above a negative), ties half: the Mann-Whitney statistic by ranks."""
    if not positive or not negative:
        return float("nan")
    allv = sorted([(v, 1) for v in positive] + [(v, 0) for v in negative])
    rank_sum, i = 0.0, 0
    while i < len(allv):
        j = i
        while j < len(allv) and allv[j][0] == allv[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # average rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if allv[k][1])
        i = j
    n1, n0 = len(positive), len(negative)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def pair_figure(before: list[float], after: list[float]) -> tuple[float, int, int, int]:
    right = sum(1 for b, a in zip(before, after) if b > a)
    tied = sum(1 for b, a in zip(before, after) if b == a)
    wrong = len(before) - right - tied
    return ((right + tied / 2) / len(before) if before else float("nan")), right, tied, wrong


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(SHARED / "corpus"))
    ap.add_argument("--labels", default=str(SHARED / "data" / "noise-dev"))
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()

    from rulelint.analysis.noise import noise_score
    from rulelint.engine import corpus_index, replace_in_index
    from rulelint.loaders import discover, load_paths
    from rulelint.reference import BUNDLED
    from rulelint.settings import Settings

    settings = Settings(jobs=args.jobs, reference=str(BUNDLED) if BUNDLED.is_file() else None)
    base = corpus_index(discover([args.corpus]), settings, None)
    index = base.index
    common = settings.commonness(index)
    scores = {r.path: noise_score(r, common) for r in base.rules}

    sigma_root = Path(args.corpus) / "sigma"
    pairs_dir = Path(args.labels) / "pairs"
    before_s: list[float] = []
    after_s: list[float] = []
    with open(pairs_dir / "index.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        versions = []
        for side in ("before", "after"):
            path = pairs_dir / side / row["file"]
            loaded = load_paths([str(path)], 1)
            if not loaded.rules:
                break
            rule = loaded.rules[0]
            replace_in_index(index, loaded.rules, {os.path.abspath(path)})
            versions.append(noise_score(rule, common))
        if len(versions) == 2 and None not in versions:
            before_s.append(versions[0])
            after_s.append(versions[1])
    figure, right, tied, wrong = pair_figure(before_s, after_s)
    print(f"pairs: {figure:.3f} over {len(before_s)} pairs ({right} right, {tied} tied, {wrong} reversed)")

    with open(Path(args.labels) / "labels.csv", encoding="utf-8") as fh:
        labels = list(csv.DictReader(fh))
    labelled_paths = {str(sigma_root / row["path"]) for row in labels}
    folders = {row["path"].split("/")[0] for row in labels}
    pool = {p: s for p, s in scores.items() if s is not None
            and p.startswith(str(sigma_root)) and Path(p).relative_to(sigma_root).parts[0] in folders}
    for label in LABELS:
        pos = [pool[str(sigma_root / r["path"])] for r in labels
               if r.get(label) not in ("0", "", None) and str(sigma_root / r["path"]) in pool]
        neg = [s for p, s in pool.items() if p not in labelled_paths]
        print(f"AUC {label}: {auc(pos, neg):.3f} ({len(pos)} labelled rules against {len(neg)} unlabelled)")
    values = [v for v in scores.values() if v is not None]
    print(f"rules: {len(scores)}, {len(scores) - len(values)} without a score; of the scored, at exactly 0: {sum(1 for v in values if v == 0) / len(values):.1%}; "
          f"at exactly 1: {sum(1 for v in values if v == 1) / len(values):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
