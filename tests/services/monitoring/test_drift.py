"""Drift statistics against scipy on fixed, seeded data; PSI by hand; Evidently's choice of
test by reference size and kind; the data-set verdict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from auterity_desktop.services.monitoring import drift_stats
from auterity_desktop.services.monitoring.drift import (
    DriftThresholds,
    detect_drift,
    distribution,
    feature_drift,
)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- Kolmogorov–Smirnov -------------------------------------------------------------------
KS_CASES = [
    # (size a, size b, shift of b): equal sizes, unequal, ties, large (asymptotic) samples
    (100, 100, 0.0),
    (250, 400, 0.25),
    (500, 777, 0.1),
    (1000, 3000, 0.05),
    (30, 45, 0.8),
    (999, 1000, 0.05),
    (1000, 10_000, 0.02),
    (60, 20_000, 0.2),
    (1000, 20_000, 0.05),
    (800, 15_000, 0.0),
]


@pytest.mark.parametrize(("n1", "n2", "shift"), KS_CASES)
def test_ks_matches_scipy(n1: int, n2: int, shift: float) -> None:
    r = rng(n1 * 7 + n2)
    a, b = r.normal(size=n1), r.normal(shift, 1.0, size=n2)
    ours = drift_stats.ks_2samp(a, b)
    theirs = stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)
    assert ours.detail == ("exact" if max(n1, n2) <= 10_000 else "asymptotic")


def test_ks_with_ties_and_integers_matches_scipy() -> None:
    r = rng(3)
    a, b = r.integers(0, 12, size=300), r.integers(1, 13, size=410)
    ours, theirs = drift_stats.ks_2samp(a, b), stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    same = drift_stats.ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (same.statistic, same.p_value) == (0.0, 1.0)


def test_costly_exact_ks_falls_back_to_the_asymptotic_distribution() -> None:
    r = rng(11)
    a, b = r.normal(size=1000), r.normal(0.5, 1.0, size=9_973)  # coprime sizes, big shift
    ours, theirs = drift_stats.ks_2samp(a, b), stats.ks_2samp(a, b)
    assert ours.detail == "asymptotic"
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value < 1e-30 and theirs.pvalue < 1e-30


@pytest.mark.parametrize("n", [3, 20, 140, 141, 909, 5000, 250_000])
def test_kolmogorov_distribution_matches_scipy_kstwo(n: int) -> None:
    for d in np.linspace(0.0005, 0.999, 80):
        assert drift_stats.kstwo_sf(float(d), n) == pytest.approx(
            stats.kstwo.sf(d, n), rel=1e-8, abs=1e-12
        )


# -- chi-square -----------------------------------------------------------------------------
def _counts(ref: np.ndarray, cur: np.ndarray) -> tuple[list[str], list[int], list[int]]:
    keys = sorted(set(ref) | set(cur))
    return keys, [int((ref == k).sum()) for k in keys], [int((cur == k).sum()) for k in keys]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chi_square_matches_scipy_contingency(seed: int) -> None:
    r = rng(seed)
    ref = r.choice(list("abcde"), size=600, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    cur = r.choice(list("abcdef"), size=350, p=[0.25, 0.25, 0.2, 0.15, 0.1, 0.05])
    _keys, ref_counts, cur_counts = _counts(ref, cur)
    ours = drift_stats.chi2_homogeneity(ref_counts, cur_counts)
    chi2, p, dof, _expected = stats.chi2_contingency([ref_counts, cur_counts], correction=False)
    assert ours.statistic == pytest.approx(chi2, rel=1e-12)
    assert ours.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert ours.detail == f"dof={dof}"


def test_two_categories_equal_the_z_test_for_proportions() -> None:
    ref_counts, cur_counts = [420, 380], [230, 270]
    ours = drift_stats.chi2_homogeneity(ref_counts, cur_counts)
    p1, p2 = 420 / 800, 230 / 500
    pooled = (420 + 230) / 1300
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 800 + 1 / 500))
    assert ours.statistic == pytest.approx(z**2, rel=1e-12)
    assert ours.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert drift_stats.chi2_homogeneity([5], [7]).p_value == 1.0  # one category: nothing to test


@pytest.mark.parametrize("dof", [1, 2, 7, 40, 300])
def test_chi_square_tail_matches_scipy(dof: int) -> None:
    for x in (0.001, 0.5, 1.0, 3.0, 10.0, 55.0, 250.0, 900.0):
        assert drift_stats.chi2_sf(x, dof) == pytest.approx(
            stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300
        )


# -- distances ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [4, 5])
def test_wasserstein_matches_scipy(seed: int) -> None:
    r = rng(seed)
    a, b = r.gamma(2.0, 3.0, size=1500), r.gamma(2.4, 3.0, size=900)
    assert drift_stats.wasserstein(a, b) == pytest.approx(
        stats.wasserstein_distance(a, b), rel=1e-12
    )
    assert drift_stats.wasserstein_normed(a, b) == pytest.approx(
        stats.wasserstein_distance(a, b) / np.std(a), rel=1e-12
    )
    assert drift_stats.wasserstein_normed([3.0] * 10, [3.5] * 5) == pytest.approx(0.5 / 0.001)


def test_jensen_shannon_matches_scipy() -> None:
    r = rng(6)
    p, q = r.random(12), r.random(12)
    q[3] = 0.0
    assert drift_stats.jensenshannon(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    assert drift_stats.jensenshannon([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))
    assert drift_stats.jensenshannon([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_psi_by_hand() -> None:
    ref, cur = [0.5, 0.3, 0.2, 0.0], [0.3, 0.3, 0.3, 0.1]
    expected = (
        (0.5 - 0.3) * math.log(0.5 / 0.3)
        + 0.0
        + (0.2 - 0.3) * math.log(0.2 / 0.3)
        + (1e-4 - 0.1) * math.log(1e-4 / 0.1)  # the empty bin counts as 0.0001
    )
    assert drift_stats.psi(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert drift_stats.psi([0.25] * 4, [0.25] * 4) == 0.0


def test_psi_bins_are_reference_deciles() -> None:
    reference = np.arange(1, 101, dtype=float)  # 1 … 100: ten values per decile
    current = np.array([5.0] * 30 + [95.0] * 70)
    cuts, ref, cur = drift_stats.quantile_shares(reference, current)
    assert cuts.tolist() == pytest.approx([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1])
    assert ref.tolist() == pytest.approx([0.1] * 10)
    assert cur.tolist() == pytest.approx([0.3] + [0.0] * 8 + [0.7])
    by_hand = (0.1 - 0.3) * math.log(0.1 / 0.3) + 8 * (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    by_hand += (0.1 - 0.7) * math.log(0.1 / 0.7)
    got = feature_drift("x", "numeric", reference, current, method="psi")
    assert (got.test, got.threshold, got.drifted) == ("psi", 0.1, True)
    assert got.statistic == pytest.approx(by_hand, rel=1e-12)


# -- choosing the test ----------------------------------------------------------------------
def _frames(rows_ref: int, rows_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = rng(seed)
    reference = pd.DataFrame(
        {
            "price": r.normal(30_000, 5_000, size=rows_ref),
            "make": r.choice(["toyota", "honda", "ford"], size=rows_ref),
            "doors": r.choice([2, 4], size=rows_ref),  # numeric, two values
            "mileage": r.gamma(2.0, 20_000, size=rows_ref),
        }
    )
    current = pd.DataFrame(
        {
            "price": r.normal(33_000, 5_000, size=rows_cur),  # shifted
            "make": r.choice(["toyota", "honda", "ford", "kia"], size=rows_cur),  # new make
            "doors": r.choice([2, 4], size=rows_cur),
            "mileage": r.gamma(2.0, 20_000, size=rows_cur),
        }
    )
    return reference, current


KINDS = {"price": "numeric", "make": "categorical", "doors": "numeric", "mileage": "numeric"}


def test_a_small_reference_uses_ks_and_chi_square() -> None:
    reference, current = _frames(1000, 700, seed=21)  # exactly 1,000 rows: still "small"
    result = detect_drift(reference, current, KINDS)
    tests = {f.feature: f for f in result.features}
    assert {k: f.test for k, f in tests.items()} == {
        "price": "ks", "make": "chi2", "doors": "chi2", "mileage": "ks",
    }  # fmt: skip
    assert tests["doors"].note == "≤ 5 distinct values"
    ks = stats.ks_2samp(reference["price"], current["price"])
    assert tests["price"].statistic == pytest.approx(ks.statistic, abs=1e-12)
    assert tests["price"].p_value == pytest.approx(ks.pvalue, rel=1e-9)
    _keys, ref_counts, cur_counts = _counts(
        reference["make"].to_numpy(), current["make"].to_numpy()
    )
    chi2, p, _dof, _e = stats.chi2_contingency([ref_counts, cur_counts], correction=False)
    assert tests["make"].statistic == pytest.approx(chi2, rel=1e-12)
    assert tests["make"].p_value == pytest.approx(p, rel=1e-9)
    for f in result.features:
        assert f.threshold == 0.05
        assert f.drifted == (f.p_value is not None and f.p_value <= 0.05)
    assert tests["price"].drifted and tests["make"].drifted and not tests["mileage"].drifted


def test_a_larger_reference_uses_wasserstein_and_jensen_shannon() -> None:
    reference, current = _frames(1001, 700, seed=22)
    result = detect_drift(reference, current, KINDS)
    tests = {f.feature: f for f in result.features}
    assert {k: f.test for k, f in tests.items()} == {
        "price": "wasserstein", "make": "jensenshannon", "doors": "jensenshannon",
        "mileage": "wasserstein",
    }  # fmt: skip
    price = stats.wasserstein_distance(reference["price"], current["price"])
    assert tests["price"].statistic == pytest.approx(price / np.std(reference["price"]))
    _keys, ref_counts, cur_counts = _counts(
        reference["make"].to_numpy(), current["make"].to_numpy()
    )
    js = distance.jensenshannon(np.array(ref_counts) / 1001, np.array(cur_counts) / 700)
    assert tests["make"].statistic == pytest.approx(js, rel=1e-12)
    for f in result.features:
        assert f.p_value is None and f.threshold == 0.1
        assert f.drifted == (f.statistic >= 0.1)


def test_the_data_set_drifts_when_half_the_features_do() -> None:
    reference, current = _frames(500, 500, seed=23)
    result = detect_drift(reference, current, KINDS)
    assert [f.feature for f in result.features if f.drifted] == ["price", "make"]
    assert (result.drifted, result.tested, result.share) == (2, 4, 0.5)
    assert result.dataset_drift  # 0.5 ≥ 0.5
    stricter = detect_drift(reference, current, KINDS, thresholds=DriftThresholds(drift_share=0.6))
    assert not stricter.dataset_drift
    one = detect_drift(
        reference, current, {"price": "numeric", "mileage": "numeric", "doors": "numeric"}
    )
    assert (one.drifted, one.tested) == (1, 3) and not one.dataset_drift


def test_missing_values_are_dropped_and_empty_features_are_not_tested() -> None:
    reference = pd.DataFrame({"a": [1.0, None, 3.0, 4.0, 5.0, 6.0, 7.0], "b": [None] * 7})
    current = pd.DataFrame({"a": [2.0, 3.0, float("nan"), 5.0], "b": ["x", "y", "x", None]})
    result = detect_drift(reference, current, {"a": "numeric", "b": "categorical"})
    a, b = result.features
    assert (a.reference_count, a.current_count) == (6, 3)
    assert a.statistic == pytest.approx(stats.ks_2samp([1, 3, 4, 5, 6, 7], [2, 3, 5]).statistic)
    assert (b.test, b.drifted, b.note) == ("none", False, "no values in the reference")
    assert result.tested == 1


def test_distributions_for_the_chart() -> None:
    r = rng(8)
    ref, cur = r.normal(size=400), r.normal(1.0, 1.0, size=300)
    hist = distribution(ref, cur, "numeric")
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    assert hist["type"] == "histogram" and hist["edges"] == pytest.approx(edges.tolist())
    assert sum(hist["reference"]) == pytest.approx(1.0) and sum(hist["current"]) == pytest.approx(1)
    assert hist["reference"] == pytest.approx((np.histogram(ref, edges)[0] / 400).tolist())
    bars = distribution(["a", "b", "b", None], ["b", "c", "c", "c"], "categorical")
    assert bars["categories"] == ["b", "c", "a"]  # by combined share
    assert bars["reference"] == pytest.approx([2 / 3, 0.0, 1 / 3])
    assert bars["current"] == pytest.approx([0.25, 0.75, 0.0])
    many = distribution([f"v{i}" for i in range(30)], ["v0"], "categorical")
    assert len(many["categories"]) == 21 and many["categories"][-1] == "(other)"
    assert many["reference"][-1] == pytest.approx(10 / 30)
    few = distribution([1, 2, 2, 3], [3, 3], "numeric")  # few values: bars of the values
    assert few["type"] == "bars" and few["categories"] == ["3", "2", "1"]
