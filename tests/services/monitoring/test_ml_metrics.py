"""Model metrics against hand-computed values and scipy (ranks, Mann–Whitney U)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from auterity_desktop.services.monitoring import ml_metrics as mm


def test_binary_classification_by_hand() -> None:
    actual = ["1", "1", "1", "1", "0", "0", "0", "0", "0", "0"]
    predicted = ["1", "1", "1", "0", "1", "1", "0", "0", "0", "0"]
    # tp = 3, fn = 1, fp = 2, tn = 4
    got = mm.classification_metrics(actual, predicted)
    assert got["accuracy"] == pytest.approx(7 / 10)
    assert got["precision"] == pytest.approx(3 / 5)
    assert got["recall"] == pytest.approx(3 / 4)
    assert got["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert got["roc_auc"] is None  # no scores given


def test_the_positive_label() -> None:
    assert mm.positive_label_of(["no", "yes"]) == "yes"
    assert mm.positive_label_of(["0", "1"]) == "1"
    assert mm.positive_label_of(["1", "2"]) == "1"
    assert mm.positive_label_of(["cat", "dog"], configured="cat") == "cat"
    got = mm.classification_metrics(["cat", "dog", "dog"], ["cat", "cat", "dog"], None, "cat")
    assert (got["precision"], got["recall"]) == (pytest.approx(0.5), pytest.approx(1.0))


def test_macro_average_for_multiclass() -> None:
    actual = ["a", "a", "a", "b", "b", "c"]
    predicted = ["a", "a", "b", "b", "c", "c"]
    got = mm.classification_metrics(actual, predicted)
    # a: p 2/2, r 2/3; b: p 1/2, r 1/2; c: p 1/2, r 1/1
    precision = (1 + 0.5 + 0.5) / 3
    recall = (2 / 3 + 0.5 + 1) / 3
    f1s = [2 * 1 * (2 / 3) / (1 + 2 / 3), 0.5, 2 * 0.5 * 1 / 1.5]
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["precision"] == pytest.approx(precision)
    assert got["recall"] == pytest.approx(recall)
    assert got["f1"] == pytest.approx(sum(f1s) / 3)
    assert got["roc_auc"] is None
    # a label never predicted has precision 0 in the average, as scikit-learn counts it
    missing = mm.classification_metrics(["a", "b", "c"], ["a", "b", "b"])
    assert missing["precision"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_undefined_metrics_are_none() -> None:
    got = mm.classification_metrics(["0", "0"], ["0", "0"])
    assert got["accuracy"] == 1.0
    assert got["precision"] is None and got["recall"] is None and got["f1"] is None
    assert mm.roc_auc([True, True], [0.2, 0.9]) is None
    assert mm.regression_metrics([3.0, 3.0], [2.0, 4.0])["r2"] is None
    assert mm.compute_metrics("classification", [], []) == dict.fromkeys(mm.CLASSIFICATION_METRICS)


def test_rank_average_matches_scipy() -> None:
    r = np.random.default_rng(4)
    values = r.integers(0, 20, size=200).astype(float)
    assert mm.rank_average(values).tolist() == pytest.approx(stats.rankdata(values).tolist())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_roc_auc_equals_mann_whitney_u(seed: int) -> None:
    r = np.random.default_rng(seed)
    labels = r.random(300) < 0.35
    scores = np.round(r.random(300) * 0.6 + labels * 0.3, 2)  # rounded: many ties
    u = stats.mannwhitneyu(scores[labels], scores[~labels]).statistic
    assert mm.roc_auc(labels, scores) == pytest.approx(u / (labels.sum() * (~labels).sum()))
    actual = np.where(labels, "1", "0").tolist()
    got = mm.classification_metrics(actual, actual, scores.tolist())
    assert got["roc_auc"] == pytest.approx(mm.roc_auc(labels, scores))


def test_roc_auc_small_case_by_hand() -> None:
    # positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4, 0.8>0.1, 0.4=0.4, 0.4>0.1)
    assert mm.roc_auc([True, True, False, False], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(3.5 / 4)
    with_gaps = mm.classification_metrics(["1", "0", "1"], ["1", "0", "0"], [0.9, None, 0.2])
    assert with_gaps["roc_auc"] is None  # one negative had no score: only positives remain


def test_regression_by_hand_and_against_scipy() -> None:
    actual = [3.0, -0.5, 2.0, 7.0]
    predicted = [2.5, 0.0, 2.0, 8.0]
    got = mm.regression_metrics(actual, predicted)
    assert got["mae"] == pytest.approx(0.5)
    assert got["rmse"] == pytest.approx(math.sqrt(0.375))
    assert got["r2"] == pytest.approx(0.9486081370449679)  # the textbook example
    r = np.random.default_rng(9)
    x = r.normal(size=500)
    y = 2 * x + r.normal(0, 0.5, size=500)
    fit = stats.linregress(x, y)
    line = fit.intercept + fit.slope * x
    assert mm.regression_metrics(y, line)["r2"] == pytest.approx(fit.rvalue**2, rel=1e-9)


def test_degradation_rules() -> None:
    assert mm.degraded("accuracy", 0.90, 0.84, 0.05)
    assert not mm.degraded("accuracy", 0.90, 0.86, 0.05)
    assert not mm.degraded("accuracy", 0.90, 0.99, 0.05)
    assert mm.degraded("mae", 100.0, 111.0, 0.1)  # errors: relative rise
    assert not mm.degraded("mae", 100.0, 109.0, 0.1)
    assert not mm.degraded("f1", None, 0.1, 0.05) and not mm.degraded("f1", 0.8, None, 0.05)
