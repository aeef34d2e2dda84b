"""Robustness against two sets of 30 rules scored by hand with the Summiting the Pyramid
documents before rulelint computed any level (tests/analysis/robustness_hand_scored*.yml;
each file's header gives its draw and the scorer's conventions).

The issue's aim is exact agreement on at least 65 % and a mean absolute error of at most
0.5 level; the figures are in docs/robustness.md. Set 2 was scored after the table had been
revised on set 1, as a blind check: its first comparison is recorded below. This test holds
the measured agreement as a floor, so a change to the table or the combination that loses
agreement fails here, naming every rule where rulelint and the hand scores differ."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rulelint.analysis.robustness import robustness_of
from rulelint.loaders import load_paths

HERE = Path(__file__).parent
# (file, vendor counts, floor of exact levels, ceiling of the mean absolute error)
# Set 1: 16/30 and 0.86 when added; 28/30 and 0.14 once the table followed the method on filters, hosts,
# OS settings, well-known identities and inside-boundary addresses.
# Set 2: 20/30 and 0.35 at its blind first comparison; 23/30 and 0.26 after WMI classes, registry value
# names, protocol payload commands and the ClickOnce host were added to the table and the arguments beside a
# native tool's name in one command line were read as that tool's (the scorer reads a program's name inside a
# command line as an image name, level 1; rulelint keeps the method's command line of a pre-existing tool, 3).
SETS = [
    ("robustness_hand_scored.yml", {"sigma": 14, "elastic": 8, "splunk": 8}, 28, 0.14),
    ("robustness_hand_scored_2.yml", {"sigma": 16, "elastic": 7, "splunk": 7}, 23, 0.26),
]


def _compare(shared_corpus: Path, name: str) -> list:
    rows = []
    for e in yaml.safe_load((HERE / name).read_text(encoding="utf-8"))["rules"]:
        [rule] = load_paths([str(shared_corpus / e["path"])], 1).rules[:1]
        rows.append((e, robustness_of(rule)))
    return rows


@pytest.mark.parametrize("name,vendors,floor,ceiling", SETS, ids=[s[0] for s in SETS])
def test_each_set_is_thirty_rules_of_three_vendors(shared_corpus, name, vendors, floor, ceiling):
    rows = _compare(shared_corpus, name)
    got = [e["vendor"] for e, _ in rows]
    assert len(rows) == 30 and {v: got.count(v) for v in set(got)} == vendors


@pytest.mark.parametrize("name,vendors,floor,ceiling", SETS, ids=[s[0] for s in SETS])
def test_agreement_with_the_hand_scores_does_not_fall(shared_corpus, name, vendors, floor, ceiling):
    rows = _compare(shared_corpus, name)
    exact = [(e, r) for e, r in rows if e["level"] == r.level]
    both = [(e, r) for e, r in rows if e["level"] is not None and r.level is not None]
    mae = sum(abs(e["level"] - r.level) for e, r in both) / len(both)
    differ = "; ".join(f"{e['path']}: hand {e['level']}, rulelint {r.level} ({r.reason})"
                       for e, r in rows if e["level"] != r.level)
    assert len(exact) >= floor and mae <= ceiling, f"{len(exact)}/30 exact, MAE {mae:.2f}; they differ on: {differ}"


def test_the_two_sets_do_not_share_a_rule():
    paths = [{e["path"] for e in yaml.safe_load((HERE / name).read_text(encoding="utf-8"))["rules"]} for name, *_ in SETS]
    assert len(paths[0]) == len(paths[1]) == 30 and not paths[0] & paths[1]
