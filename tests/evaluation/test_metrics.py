"""Pure metric functions checked against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from lmforge.evaluation.metrics import bootstrap_ci, classification_report, expected_calibration_error


def test_report_matches_hand_computed_values():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    conf = np.array([0.9, 0.6, 0.8, 0.7, 0.95, 0.55])
    r = classification_report(y_true, y_pred, conf, ["a", "b", "c"], bootstrap_samples=200)
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8),
                                   "support": 2}
    assert r["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert r["averages"]["micro"]["f1"] == pytest.approx(4 / 6)
    assert r["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    lo, hi = r["confidence_intervals"]["accuracy"]
    assert 0 <= lo <= 4 / 6 <= hi <= 1


def test_ece_of_a_perfectly_calibrated_model_is_zero_and_of_an_overconfident_one_is_not():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=conf.size) < conf
    assert expected_calibration_error(correct, conf)["ece"] < 0.02
    assert expected_calibration_error(np.zeros(100, bool), np.full(100, 0.99))["ece"] == pytest.approx(0.99)


def test_bootstrap_interval_narrows_with_more_data():
    rng = np.random.default_rng(1)

    def width(n):
        y = rng.integers(0, 2, n)
        p = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
        lo, hi = bootstrap_ci(y, p, 2, samples=300)["accuracy"]
        return hi - lo

    assert width(4000) < width(200) / 2


def test_fast_macro_f1_equals_sklearn():
    from lmforge.evaluation.metrics import _fast_macro_f1

    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    assert _fast_macro_f1(y, p, 5) == pytest.approx(f1_score(y, p, average="macro", labels=range(5)))
