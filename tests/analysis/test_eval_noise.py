"""tools/eval_noise.py: the pair figure and the AUC it reports are computed right."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("eval_noise", REPO / "tools" / "eval_noise.py")
ev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ev)  # type: ignore[union-attr]


def test_auc_counts_ties_half_and_orders():
    assert ev.auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert ev.auc([0.1], [0.9]) == 0.0
    assert ev.auc([0.5], [0.5]) == 0.5
    # one positive above 2 of 4 negatives, tied with one: (2 + 0.5) / 4
    assert ev.auc([0.5], [0.1, 0.2, 0.5, 0.9]) == pytest.approx(0.625)


def test_pair_figure():
    figure, right, tied, wrong = ev.pair_figure([0.9, 0.5, 0.1, 0.3], [0.1, 0.5, 0.4, 0.2])
    assert (right, tied, wrong) == (2, 1, 1)
    assert figure == pytest.approx((2 + 0.5) / 4)
