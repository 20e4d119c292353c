"""Per-feature drift between a reference data set and current data, with Evidently's
defaults (``evidently`` 0.7, ``legacy/calculations/stattests``):

=====================  ===============================  ==================================
reference rows         numeric feature (> 5 values)     categorical, or numeric ≤ 5 values
=====================  ===============================  ==================================
≤ 1,000                Kolmogorov–Smirnov, p ≤ 0.05     chi-square, p ≤ 0.05
> 1,000                Wasserstein / std(ref), ≥ 0.1    Jensen–Shannon distance, ≥ 0.1
=====================  ===============================  ==================================

"Reference rows" counts the reference data set's rows (missing values included); "values"
counts a numeric feature's distinct reference values. Missing values are dropped before a
test; a feature with nothing left on one side is reported as not tested. ``method="psi"``
tests every feature with the population stability index instead (drift when ≥ 0.1): the
reference's deciles as bins for numbers, the categories otherwise.

Differences from Evidently, on purpose: the chi-square test compares the two samples'
counts (a test of homogeneity) rather than current counts against reference shares taken
as exact, so a category that appears only in current data is a finite, meaningful signal;
with two categories it equals Evidently's z-test for proportions. PSI uses quantile bins of
the reference (the usual credit-scoring form) rather than Sturges bins of both samples.

The data set drifts when the share of drifted features (of those tested) is ≥ 0.5.
``distribution`` gives what the GUI overlays for one feature: histogram shares over Sturges
bins of both samples for numbers, category shares otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.services.monitoring import drift_stats
from auterity_desktop.services.monitoring.drift_stats import Floats

NUMERIC, CATEGORICAL = "numeric", "categorical"
KINDS = (NUMERIC, CATEGORICAL)
METHODS = ("auto", "psi")
LOW_CARDINALITY = 5  # numbers with at most this many distinct values are tested as categories
MAX_BARS = 20  # categories drawn one by one; the rest are summed as "(other)"
MAX_BINS = 50
OTHER = "(other)"

TEST_NAMES = {
    "ks": "Kolmogorov–Smirnov",
    "chi2": "chi-square",
    "wasserstein": "Wasserstein (normed)",
    "jensenshannon": "Jensen–Shannon",
    "psi": "PSI",
    "none": "not tested",
}
P_VALUE_TESTS = frozenset({"ks", "chi2"})
NDArrayStr = Any  # a numpy object array of str (numpy's typing has no better name)


@dataclass(frozen=True)
class DriftThresholds:
    p_value: float = 0.05  # KS, chi-square: drift when p ≤ this
    distance: float = 0.1  # normed Wasserstein, Jensen–Shannon: drift when ≥ this
    psi: float = 0.1  # PSI: drift when ≥ this
    drift_share: float = 0.5  # the data set drifts when this share of features drifted
    small_reference: int = 1000  # reference rows up to which KS and chi-square are used


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str
    test: str  # a key of TEST_NAMES
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    reference_count: int  # values compared (missing ones dropped)
    current_count: int
    note: str = ""

    @property
    def tested(self) -> bool:
        return self.test != "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureDrift:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class DriftResult:
    features: list[FeatureDrift]
    method: str
    drift_share: float  # the threshold
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def tested(self) -> int:
        return sum(f.tested for f in self.features)

    @property
    def drifted(self) -> int:
        return sum(f.drifted for f in self.features)

    @property
    def share(self) -> float:
        return self.drifted / self.tested if self.tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        return self.tested > 0 and self.share >= self.drift_share


# -- preparing columns ----------------------------------------------------------------------
def numeric_values(values: Any) -> Floats:
    """Finite numbers of a column (missing, non-numeric and non-finite values dropped)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    array: Floats = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return array[np.isfinite(array)]


def category_values(values: Any) -> NDArrayStr:
    """Present values of a column as text (missing ones dropped)."""
    series = pd.Series(values, dtype=object)
    return series[series.notna()].astype(str).to_numpy(dtype=object)


def _number_labels(values: Floats) -> NDArrayStr:
    """Low-cardinality numbers as category labels: 3.0 → "3", 2.5 → "2.5"."""
    return np.array([f"{v:g}" if float(v).is_integer() else repr(float(v)) for v in values])


def _counts(reference: NDArrayStr, current: NDArrayStr) -> tuple[list[str], Floats, Floats]:
    keys = sorted(set(reference.tolist()) | set(current.tolist()))
    index = {k: i for i, k in enumerate(keys)}
    ref = np.bincount([index[v] for v in reference.tolist()], minlength=len(keys))
    cur = np.bincount([index[v] for v in current.tolist()], minlength=len(keys))
    return keys, ref.astype(np.float64), cur.astype(np.float64)


# -- one feature ----------------------------------------------------------------------------
def feature_drift(
    name: str,
    kind: str,
    reference: Any,
    current: Any,
    *,
    reference_rows: int | None = None,
    thresholds: DriftThresholds = DriftThresholds(),
    method: str = "auto",
) -> FeatureDrift:
    """Test one feature; ``reference_rows`` is the reference data set's size (defaults to
    the length of ``reference``), which picks the test family."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rows = len(reference) if reference_rows is None else reference_rows
    as_number = kind == NUMERIC
    ref_num = cur_num = np.empty(0)
    if as_number:
        ref_num, cur_num = numeric_values(reference), numeric_values(current)
        n_ref, n_cur = ref_num.size, cur_num.size
    else:
        ref_cat, cur_cat = category_values(reference), category_values(current)
        n_ref, n_cur = ref_cat.size, cur_cat.size
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current data"
        return FeatureDrift(
            name, kind, "none", None, None, 0.0, False, n_ref, n_cur, f"no values in the {side}"
        )
    if as_number and np.unique(ref_num).size <= LOW_CARDINALITY:
        as_number = False
        ref_cat, cur_cat = _number_labels(ref_num), _number_labels(cur_num)
    note = "" if as_number or kind == CATEGORICAL else f"≤ {LOW_CARDINALITY} distinct values"

    def verdict(test: str, result: drift_stats.TestResult, threshold: float) -> FeatureDrift:
        if test in P_VALUE_TESTS:
            drifted = result.p_value is not None and result.p_value <= threshold
        else:
            drifted = result.statistic >= threshold
        return FeatureDrift(
            name, kind, test, result.statistic, result.p_value, threshold, drifted,
            n_ref, n_cur, note,
        )  # fmt: skip

    if method == "psi":
        if as_number:
            _cuts, ref_shares, cur_shares = drift_stats.quantile_shares(ref_num, cur_num)
        else:
            _keys, ref_counts, cur_counts = _counts(ref_cat, cur_cat)
            ref_shares, cur_shares = ref_counts / n_ref, cur_counts / n_cur
        value = drift_stats.psi(ref_shares, cur_shares)
        return verdict("psi", drift_stats.TestResult(value), thresholds.psi)
    if rows <= thresholds.small_reference:
        if as_number:
            return verdict("ks", drift_stats.ks_2samp(ref_num, cur_num), thresholds.p_value)
        _keys, ref_counts, cur_counts = _counts(ref_cat, cur_cat)
        return verdict(
            "chi2", drift_stats.chi2_homogeneity(ref_counts, cur_counts), thresholds.p_value
        )
    if as_number:
        value = drift_stats.wasserstein_normed(ref_num, cur_num)
        return verdict("wasserstein", drift_stats.TestResult(value), thresholds.distance)
    _keys, ref_counts, cur_counts = _counts(ref_cat, cur_cat)
    value = drift_stats.jensenshannon(ref_counts / n_ref, cur_counts / n_cur)
    return verdict("jensenshannon", drift_stats.TestResult(value), thresholds.distance)


# -- a data set -----------------------------------------------------------------------------
def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    thresholds: DriftThresholds = DriftThresholds(),
    method: str = "auto",
    with_distributions: bool = True,
) -> DriftResult:
    """Test every feature named in ``kinds`` ({name: "numeric" | "categorical"}); both
    frames must hold those columns (a column missing from ``current`` counts as empty)."""
    features: list[FeatureDrift] = []
    distributions: dict[str, dict[str, Any]] = {}
    rows = len(reference)
    for name, kind in kinds.items():
        ref = reference[name] if name in reference else pd.Series([], dtype=object)
        cur = current[name] if name in current else pd.Series([], dtype=object)
        features.append(
            feature_drift(
                name, kind, ref, cur, reference_rows=rows, thresholds=thresholds, method=method
            )
        )
        if with_distributions:
            distributions[name] = distribution(ref, cur, kind)
    return DriftResult(features, method, thresholds.drift_share, distributions)


def distribution(reference: Any, current: Any, kind: str) -> dict[str, Any]:
    """Both samples' shares for an overlaid chart.

    Numbers: ``{"type": "histogram", "edges": [...], "reference": [...], "current":
    [...]}`` over Sturges bins of both samples (at most ``MAX_BINS``). Categories (and
    numbers with ≤ 5 distinct values): ``{"type": "bars", "categories": [...], ...}``,
    the most common ``MAX_BARS`` first and the rest as "(other)". Shares are of the
    values present; ``*_count`` says how many that were."""
    if kind == NUMERIC:
        ref, cur = numeric_values(reference), numeric_values(current)
        if np.unique(ref).size > LOW_CARDINALITY or (ref.size == 0 and cur.size > 0):
            return _histogram(ref, cur)
        ref_cat, cur_cat = _number_labels(ref), _number_labels(cur)
    else:
        ref_cat, cur_cat = category_values(reference), category_values(current)
    return _bars(ref_cat, cur_cat)


def _shares(counts: Floats) -> list[float]:
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * counts.size


def _histogram(ref: Floats, cur: Floats) -> dict[str, Any]:
    both = np.concatenate([ref, cur])
    if both.size == 0:
        edges = np.array([0.0, 1.0])
    else:
        edges = np.histogram_bin_edges(both, bins="sturges")
        if edges.size - 1 > MAX_BINS:
            edges = np.histogram_bin_edges(both, bins=MAX_BINS)
    return {
        "type": "histogram",
        "edges": edges.tolist(),
        "reference": _shares(np.histogram(ref, edges)[0].astype(np.float64)),
        "current": _shares(np.histogram(cur, edges)[0].astype(np.float64)),
        "reference_count": int(ref.size),
        "current_count": int(cur.size),
    }


def _bars(ref: NDArrayStr, cur: NDArrayStr) -> dict[str, Any]:
    keys, ref_counts, cur_counts = _counts(ref, cur)
    ref_share = ref_counts / max(ref.size, 1)
    cur_share = cur_counts / max(cur.size, 1)
    order = sorted(range(len(keys)), key=lambda i: (-(ref_share[i] + cur_share[i]), keys[i]))
    shown: Sequence[int] = order[:MAX_BARS]
    categories = [keys[i] for i in shown]
    ref_out = [float(ref_share[i]) for i in shown]
    cur_out = [float(cur_share[i]) for i in shown]
    rest = order[MAX_BARS:]
    if rest:
        categories.append(OTHER)
        ref_out.append(float(sum(ref_share[i] for i in rest)))
        cur_out.append(float(sum(cur_share[i] for i in rest)))
    return {
        "type": "bars",
        "categories": categories,
        "reference": ref_out,
        "current": cur_out,
        "reference_count": int(ref.size),
        "current_count": int(cur.size),
    }
