"""Model quality metrics from actual and predicted values, in numpy alone.

Classification: accuracy; precision, recall and F1 of the positive label when the labels
seen (actual ∪ predicted) are at most two, otherwise their unweighted mean over every
label (macro average, a label's undefined precision or recall counting as 0, as
scikit-learn does); ROC AUC of a binary model from the positive label's scores, by ranks
(the Mann–Whitney U statistic over n₊·n₋, ties at half). Regression: MAE, RMSE and R².

A metric that is undefined for the data (no positive prediction for precision, one class
only for ROC AUC, constant actual values for R²) is ``None`` rather than a made-up 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

CLASSIFICATION, REGRESSION = "classification", "regression"
TASKS = (CLASSIFICATION, REGRESSION)
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
METRICS = {CLASSIFICATION: CLASSIFICATION_METRICS, REGRESSION: REGRESSION_METRICS}
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
METRIC_NAMES = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}

Metrics = dict[str, float | None]


def _ratio(top: float, bottom: float) -> float | None:
    return float(top / bottom) if bottom else None


def accuracy(actual: Sequence[Any], predicted: Sequence[Any]) -> float | None:
    a, p = np.asarray(actual, dtype=object), np.asarray(predicted, dtype=object)
    return _ratio(float(np.sum(a == p)), a.size)


def binary_scores(
    actual: Sequence[Any], predicted: Sequence[Any], positive: Any
) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 of the ``positive`` label."""
    a = np.asarray(actual, dtype=object) == positive
    p = np.asarray(predicted, dtype=object) == positive
    tp = float(np.sum(a & p))
    precision = _ratio(tp, float(np.sum(p)))
    recall = _ratio(tp, float(np.sum(a)))
    if precision is None or recall is None:
        return precision, recall, None
    return precision, recall, (2 * precision * recall / (precision + recall) if tp else 0.0)


def macro_scores(
    actual: Sequence[Any], predicted: Sequence[Any]
) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 averaged over every label seen (macro average)."""
    labels = sorted({*actual, *predicted}, key=str)
    if not labels:
        return None, None, None
    per_label = [binary_scores(actual, predicted, label) for label in labels]
    precision = [p or 0.0 for p, _r, _f in per_label]
    recall = [r or 0.0 for _p, r, _f in per_label]
    f1 = [f or 0.0 for _p, _r, f in per_label]
    return float(np.mean(precision)), float(np.mean(recall)), float(np.mean(f1))


def rank_average(values: ArrayLike) -> NDArray[np.float64]:
    """Ranks 1…n with ties sharing their average rank."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    average = (starts + ends + 1) / 2.0  # ranks starts+1 … ends
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def roc_auc(is_positive: ArrayLike, scores: ArrayLike) -> float | None:
    """The area under the ROC curve: the chance a random positive scores above a random
    negative (ties count half). ``None`` unless both classes are present."""
    positive = np.asarray(is_positive, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(s)
    positive, s = positive[keep], s[keep]
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rank_average(s)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def positive_label_of(labels: Sequence[Any], configured: Any = None) -> Any:
    """The positive class of a binary model: as configured, else "1" when the labels
    seen include it (or are only "0"), else the last label in sorted order."""
    if configured is not None:
        return configured
    seen = sorted({str(v) for v in labels})
    if "1" in seen or set(seen) <= {"0"}:
        return "1"
    return seen[-1]


def classification_metrics(
    actual: Sequence[Any],
    predicted: Sequence[Any],
    scores: Sequence[float | None] | None = None,
    positive_label: Any = None,
) -> Metrics:
    """Labels compare as given (the service passes them as text)."""
    labels = {*actual, *predicted}
    result: Metrics = {"accuracy": accuracy(actual, predicted)}
    if len(labels) <= 2:
        positive = positive_label_of(list(labels), positive_label)
        precision, recall, f1 = binary_scores(actual, predicted, positive)
        auc = None
        if scores is not None:
            score_array = np.array([np.nan if s is None else s for s in scores], dtype=float)
            auc = roc_auc(np.asarray(actual, dtype=object) == positive, score_array)
    else:
        precision, recall, f1 = macro_scores(actual, predicted)
        auc = None  # ROC AUC needs one score per class for multiclass models
    result.update(precision=precision, recall=recall, f1=f1, roc_auc=auc)
    return result


def regression_metrics(actual: ArrayLike, predicted: ArrayLike) -> Metrics:
    a = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if a.size == 0:
        return {"mae": None, "rmse": None, "r2": None}
    errors = a - p
    total = float(np.sum((a - a.mean()) ** 2))
    r2 = None if total == 0 else 1.0 - float(np.sum(errors**2)) / total
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "r2": r2,
    }


def compute_metrics(
    task: str,
    actual: Sequence[Any],
    predicted: Sequence[Any],
    scores: Sequence[float | None] | None = None,
    positive_label: Any = None,
) -> Metrics:
    if task == CLASSIFICATION:
        if not len(actual):
            return dict.fromkeys(CLASSIFICATION_METRICS)
        return classification_metrics(actual, predicted, scores, positive_label)
    return regression_metrics(actual, predicted)


def degraded(metric: str, baseline: float | None, current: float | None, tolerance: float) -> bool:
    """Worse than the baseline by more than the tolerance: an absolute drop for scores
    (higher is better), a relative rise for errors (MAE, RMSE)."""
    if baseline is None or current is None:
        return False
    if metric in LOWER_IS_BETTER:
        return current > baseline + tolerance * max(abs(baseline), 1e-12)
    return baseline - current > tolerance
