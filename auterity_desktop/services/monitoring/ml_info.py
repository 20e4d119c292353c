"""What model monitoring hands out: models, metric summaries and series, drift reports —
and the thresholds every judgement uses, with their defaults and how overrides are checked.

Thresholds (override any of them per model when registering):

======================  =======  ==========================================================
key                     default  meaning
======================  =======  ==========================================================
``p_value``             0.05     KS and chi-square: a feature drifted when p ≤ this
``distance``            0.1      normed Wasserstein and Jensen–Shannon: drifted when ≥ this
``psi``                 0.1      PSI (on request): drifted when ≥ this
``drift_share``         0.5      the data set drifted when this share of features drifted
``small_reference``     1000     reference rows up to which KS and chi-square are used
``min_labelled``        30       labelled predictions needed before metrics are judged
``metric_window``       604800   seconds of recent predictions a metric check judges (7 d)
``metric_tolerance``    below    how much worse than the baseline a metric may get
======================  =======  ==========================================================

Metric tolerances: accuracy, precision, recall, F1, ROC AUC and R² may drop by 0.05
(absolute) below the baseline; MAE and RMSE may rise by 10 % (relative) above it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auterity_desktop.services.monitoring.drift import DriftThresholds, FeatureDrift
from auterity_desktop.services.monitoring.ml_data import invalid
from auterity_desktop.services.monitoring.ml_metrics import LOWER_IS_BETTER, METRIC_NAMES

DEFAULT_TOLERANCES = {m: (0.1 if m in LOWER_IS_BETTER else 0.05) for m in METRIC_NAMES}
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "p_value": 0.05,
    "distance": 0.1,
    "psi": 0.1,
    "drift_share": 0.5,
    "small_reference": 1000,
    "min_labelled": 30,
    "metric_window": 7 * 86400,
    "metric_tolerance": DEFAULT_TOLERANCES,
}
_RANGES = {
    "p_value": (0.0, 1.0),
    "distance": (0.0, 10.0),
    "psi": (0.0, 100.0),
    "drift_share": (0.0, 1.0),
    "small_reference": (0, 10_000_000),
    "min_labelled": (1, 10_000_000),
    "metric_window": (60.0, 10 * 366 * 86400.0),
}


def check_thresholds(overrides: Any) -> dict[str, Any]:
    """The overrides as given, checked: known keys, numbers in range."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise invalid("thresholds must be an object", field="thresholds")
    checked: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "metric_tolerance":
            if not isinstance(value, Mapping):
                raise invalid("metric_tolerance must be an object", field="thresholds")
            tolerances = {}
            for metric, tolerance in value.items():
                if metric not in METRIC_NAMES:
                    raise invalid(f"There is no metric {metric!r}", field="thresholds")
                tolerances[metric] = _in_range(f"metric_tolerance.{metric}", tolerance, 0, 1e6)
            checked[key] = tolerances
        elif key in _RANGES:
            low, high = _RANGES[key]
            number = _in_range(key, value, low, high)
            checked[key] = int(number) if isinstance(low, int) else number
        else:
            raise invalid(
                f"There is no threshold {key!r}; use {', '.join(DEFAULT_THRESHOLDS)}",
                field="thresholds",
            )
    return checked


def _in_range(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise invalid(f"Threshold {key} must be a number", field="thresholds")
    if not low <= value <= high:
        raise invalid(f"Threshold {key} must be between {low} and {high}", field="thresholds")
    return float(value)


def effective_thresholds(overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**DEFAULT_THRESHOLDS, **overrides}
    merged["metric_tolerance"] = {**DEFAULT_TOLERANCES, **overrides.get("metric_tolerance", {})}
    return merged


def drift_thresholds(thresholds: Mapping[str, Any]) -> DriftThresholds:
    return DriftThresholds(
        p_value=float(thresholds["p_value"]),
        distance=float(thresholds["distance"]),
        psi=float(thresholds["psi"]),
        drift_share=float(thresholds["drift_share"]),
        small_reference=int(thresholds["small_reference"]),
    )


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    version: str
    task: str
    features: dict[str, str]  # name → kind, in order
    target: str | None
    positive_label: str | None
    thresholds: dict[str, Any]  # effective (defaults with the overrides)
    baseline: dict[str, float | None] | None
    description: str
    reference_rows: int
    predictions: int
    labelled: int
    created_by: str
    created_at: float
    last_report_id: str | None
    last_drift_at: float | None
    last_drift_share: float | None
    last_dataset_drift: bool | None
    metric_state: dict[str, Any] | None

    @property
    def key(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def degraded(self) -> list[str]:
        return list((self.metric_state or {}).get("degraded", []))


@dataclass(frozen=True)
class MetricsSummary:
    model: str
    version: str
    task: str
    window_start: float | None
    window_end: float
    predictions: int  # in the window
    labelled: int  # of those, with an actual value
    metrics: dict[str, float | None]
    baseline: dict[str, float | None] | None
    degraded: list[str]  # metrics worse than the baseline beyond their tolerance
    judged: bool  # enough labelled predictions (``min_labelled``) to judge


@dataclass(frozen=True)
class MetricsPoint:
    start: float  # bucket start (UTC, seconds)
    predictions: int
    labelled: int
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class LogResult:
    logged: int
    ids: list[str]


@dataclass(frozen=True)
class ActualsResult:
    updated: int
    newly_labelled: int
    unknown: list[str]  # ids no prediction has (first 100)
    unknown_count: int


@dataclass(frozen=True)
class DriftReport:
    id: str
    model: str
    version: str
    created_at: float
    created_by: str
    method: str
    window_start: float | None
    window_end: float
    reference_rows: int
    current_rows: int
    tested: int
    drifted: int
    share: float
    drift_share: float
    dataset_drift: bool
    features: list[FeatureDrift]
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def feature(self, name: str) -> FeatureDrift | None:
        return next((f for f in self.features if f.feature == name), None)

    def summary(self) -> str:
        verdict = "data-set drift" if self.dataset_drift else "no data-set drift"
        return (
            f"{verdict}: {self.drifted} of {self.tested} features drifted "
            f"({self.share:.0%}; threshold {self.drift_share:.0%})"
        )
