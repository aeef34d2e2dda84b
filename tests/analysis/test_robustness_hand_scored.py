"""Robustness against 30 rules scored by hand with the Summiting the Pyramid documents
before rulelint computed any level (tests/analysis/robustness_hand_scored.yml).

The issue's aim is exact agreement on at least 65 % and a mean absolute error of at most
0.5 level; today's figures are in docs/robustness.md. This test holds the measured
agreement as a floor, so a change to the table or the combination that loses agreement
fails here, naming every rule where rulelint and the hand scores differ."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rulelint.analysis.robustness import robustness_of
from rulelint.loaders import load_paths

HAND = Path(__file__).with_name("robustness_hand_scored.yml")
# Measured when the hand scores were added: 16 of 30 exact, MAE 0.86 over the 29 scored by both; after the
# table followed the method on filters, host processes, OS settings, well-known identities and inside-boundary
# addresses: 28 of 30 exact, MAE 0.14.
FLOOR_EXACT, CEILING_MAE = 28, 0.14


@pytest.fixture(scope="module")
def comparisons(shared_corpus):
    rows = []
    for e in yaml.safe_load(HAND.read_text(encoding="utf-8"))["rules"]:
        [rule] = load_paths([str(shared_corpus / e["path"])], 1).rules[:1]
        rows.append((e, robustness_of(rule)))
    return rows


def test_the_hand_scored_set_is_thirty_rules_of_three_vendors(comparisons):
    vendors = [e["vendor"] for e, _ in comparisons]
    assert len(comparisons) == 30 and {v: vendors.count(v) for v in set(vendors)} == {
        "sigma": 14, "elastic": 8, "splunk": 8}


def test_agreement_with_the_hand_scores_does_not_fall(comparisons):
    exact = [(e, r) for e, r in comparisons if e["level"] == r.level]
    both = [(e, r) for e, r in comparisons if e["level"] is not None and r.level is not None]
    mae = sum(abs(e["level"] - r.level) for e, r in both) / len(both)
    differ = "; ".join(f"{e['path']}: hand {e['level']}, rulelint {r.level} ({r.reason})"
                       for e, r in comparisons if e["level"] != r.level)
    assert len(exact) >= FLOOR_EXACT and mae <= CEILING_MAE, (
        f"{len(exact)}/30 exact, MAE {mae:.2f}; they differ on: {differ}")
