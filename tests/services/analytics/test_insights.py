"""generate_insights: known-answer tests on fixed synthetic data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
from scipy import stats  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics import insights as insights_module
from auterity_desktop.services.analytics.forecasting import (
    fit_holt_winters,
    forecast_holt_winters,
    forecast_linear,
)
from auterity_desktop.services.analytics.insights import (
    Insight,
    InsightReport,
    change_points,
    generate_insights,
)


def _days(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="D")


def _of(report: InsightReport, kind: str, column: str | None = None) -> list[Insight]:
    return [i for i in report.insights if i.kind == kind and (column is None or i.column == column)]


def test_linear_trend_slope_inside_ci_and_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    n = 120
    y = 5.0 + 3.2 * np.arange(n) + rng.normal(0, 4, n)
    report = generate_insights(pd.DataFrame({"when": _days(n), "sales": y}))
    assert report.time_column == "when"
    assert report.frequency == "D"
    (trend,) = _of(report, "trend", "sales")
    ev = trend.evidence
    assert ev["ci_low"] < 3.2 < ev["ci_high"]
    ref = stats.linregress(np.arange(n), y)
    assert ev["slope"] == pytest.approx(ref.slope)
    assert ev["p_value"] == pytest.approx(ref.pvalue)
    t = stats.t.ppf(0.975, n - 2)
    assert ev["ci_high"] - ev["slope"] == pytest.approx(t * ref.stderr)
    assert trend.title.startswith("sales rises by 3.2 per day, p < 0.001")
    assert trend.confidence == pytest.approx(1 - ref.pvalue)


def test_no_trend_is_reported_as_not_significant() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(10, 1, 60)
    report = generate_insights(pd.DataFrame({"v": y}))
    (trend,) = _of(report, "trend")
    assert "no significant trend" in trend.title
    assert report.frequency is None  # no time column: equally spaced steps


def test_level_shift_found_within_two_points() -> None:
    rng = np.random.default_rng(3)
    n, at = 200, 123
    y = np.where(np.arange(n) < at, 10.0, 16.0) + rng.normal(0, 1, n)
    dates = _days(n)
    report = generate_insights(pd.DataFrame({"t": dates.astype(str), "level": y}))
    cps = _of(report, "change_point", "level")
    assert len(cps) == 1
    (cp,) = cps
    assert abs(cp.evidence["index"] - at) <= 2
    assert abs(pd.Timestamp(cp.evidence["date"]) - dates[at]) <= pd.Timedelta(days=2)
    assert cp.evidence["mean_before"] == pytest.approx(10, abs=0.3)
    assert cp.evidence["mean_after"] == pytest.approx(16, abs=0.3)
    assert cp.confidence > 0.99


def test_change_points_none_on_pure_noise() -> None:
    rng = np.random.default_rng(4)
    assert change_points(rng.normal(0, 1, 300)) == []


def test_spikes_found_by_every_anomaly_method() -> None:
    rng = np.random.default_rng(5)
    n = 300
    y = 50 + 0.05 * np.arange(n) + rng.normal(0, 1, n)
    spikes = [60, 150, 240]
    y[spikes] += [12, -12, 15]
    report = generate_insights(pd.DataFrame({"t": _days(n), "v": y}))
    found = {a.evidence["index"]: a for a in _of(report, "anomaly", "v")}
    for i in spikes:
        assert i in found, i
        assert found[i].evidence["methods"] == ["rolling_zscore", "ewma", "mad"]
        assert found[i].confidence == 1.0
    # no more than a handful of false alarms, and none by all three methods
    others = [a for i, a in found.items() if i not in spikes]
    assert len(others) <= 5
    assert all(a.confidence < 1.0 for a in others)


def test_mad_score_matches_definition() -> None:
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0])
    y.iloc[6] = 40.0
    scores = insights_module.anomaly_scores(y)
    x = np.arange(len(y))
    slope, intercept = np.polyfit(x, y, 1)
    r = y.to_numpy() - (intercept + slope * x)
    expected = 0.6745 * (r - np.median(r)) / np.median(np.abs(r - np.median(r)))
    np.testing.assert_allclose(scores["mad"].to_numpy(), expected)


def _seasonal(n: int, rng: np.random.Generator, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n)
    return 100 + 0.1 * t + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, n)


def test_holt_winters_beats_baseline_and_intervals_cover() -> None:
    rng = np.random.default_rng(6)
    n, horizon = 210, 14
    report = generate_insights(
        pd.DataFrame({"t": _days(n), "demand": _seasonal(n, rng)}), horizon=horizon
    )
    fc = report.forecasts["demand"]
    assert fc.method == "holt_winters_additive"
    assert fc.holdout_mae is not None
    assert fc.baseline_mae is not None
    assert fc.holdout_mae < fc.baseline_mae
    assert fc.dates[0] == "2024-07-29T00:00:00"
    assert len(fc.dates) == len(fc.mean) == horizon
    (insight,) = _of(report, "forecast", "demand")
    assert insight.evidence["season_length"] == 7

    lower, upper = np.array(fc.lower), np.array(fc.upper)
    covered = [
        np.mean((c >= lower) & (c <= upper))
        for c in (_seasonal(horizon, rng, start=n) for _ in range(200))
    ]
    coverage = float(np.mean(covered))
    assert 0.85 <= coverage <= 1.0


def test_holt_winters_interval_formula() -> None:
    rng = np.random.default_rng(7)
    y = _seasonal(70, rng)
    fit = fit_holt_winters(y, 7)
    fc = forecast_holt_winters(fit, 10)
    half = (fc.upper - fc.lower) / 2
    z = stats.norm.ppf(0.975)
    assert half[0] == pytest.approx(z * math.sqrt(fit.sigma2))  # h = 1: v = σ²
    a, b, g, m, h = fit.alpha, fit.beta, fit.gamma, 7, 9
    k = (h - 1) // m
    v = 1 + (h - 1) * (a * a + a * b * h + b * b * h * (2 * h - 1) / 6)
    v += g * k * (2 * a + g + b * m * (k + 1))
    assert half[h - 1] == pytest.approx(z * math.sqrt(fit.sigma2 * v))
    assert np.all(np.diff(half) >= -1e-12)
    for p in (fit.alpha, fit.beta, fit.gamma):
        assert 0 <= p <= 1


def test_linear_baseline_interval_matches_ols_formula() -> None:
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 7.0])
    fc = forecast_linear(y, 2)
    x = np.arange(8)
    res = stats.linregress(x, y)
    s = math.sqrt(np.sum((y - res.intercept - res.slope * x) ** 2) / 6)
    se = s * math.sqrt(1 + 1 / 8 + (8 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    assert fc.mean[0] == pytest.approx(res.intercept + res.slope * 8)
    assert fc.upper[0] - fc.mean[0] == pytest.approx(stats.t.ppf(0.975, 6) * se)


def test_correlations_only_for_related_pairs() -> None:
    rng = np.random.default_rng(8)
    n = 100
    a = rng.normal(0, 1, n)
    b = 2 * a + rng.normal(0, 0.5, n)
    c = rng.normal(0, 1, n)
    report = generate_insights(pd.DataFrame({"t": _days(n), "a": a, "b": b, "c": c}))
    (corr,) = _of(report, "correlation")
    assert corr.evidence["columns"] == ["a", "b"]
    r, p = stats.pearsonr(a, b)
    assert corr.evidence["pearson_r"] == pytest.approx(r)
    assert corr.evidence["pearson_p"] == pytest.approx(p)
    assert corr.evidence["spearman_rho"] == pytest.approx(stats.spearmanr(a, b)[0])
    assert "positively" in corr.title


def test_descriptive_statistics_match_numpy() -> None:
    values = [4.0, 8.0, np.nan, 15.0, 16.0, 23.0, 42.0, np.nan, 1.0, 7.0]
    report = generate_insights(pd.DataFrame({"x": values}))
    d = report.descriptive["x"]
    v = np.array([x for x in values if not math.isnan(x)])
    assert d["count"] == 8
    assert d["mean"] == pytest.approx(v.mean())
    assert d["std"] == pytest.approx(v.std(ddof=1))
    assert d["min"] == 1.0
    assert d["max"] == 42.0
    assert [d["q25"], d["median"], d["q75"]] == pytest.approx(np.quantile(v, [0.25, 0.5, 0.75]))
    assert d["missing_share"] == pytest.approx(0.2)


def test_report_is_json_serialisable_without_nan() -> None:
    rng = np.random.default_rng(9)
    n = 60
    y = rng.normal(0, 1, n)
    y[[3, 10]] = np.nan
    flat = np.ones(n)
    report = generate_insights(pd.DataFrame({"t": _days(n), "y": y, "flat": flat}))
    text = json.dumps(report.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["frequency"] == "D"
    assert set(back["forecasts"]) == {"y", "flat"}
    assert back["descriptive"]["y"]["missing_share"] == pytest.approx(2 / n)


def test_irregular_timestamps_are_resampled() -> None:
    times = pd.to_datetime(["2024-01-01 00:10", "2024-01-01 00:50", "2024-01-01 02:05"])
    times = times.append(pd.date_range("2024-01-01 03:00", periods=40, freq="h"))
    rng = np.random.default_rng(10)
    df = pd.DataFrame({"ts": times, "load": rng.normal(5, 1, len(times))})
    report = generate_insights(df, frequency="h")
    assert report.frequency == "h"
    assert report.descriptive["load"]["resampled_points"] == 42  # hourly bins from 00:10
    assert report.forecasts["load"].dates[0].startswith("2024-01-02T18:10")


def test_monthly_frequency_detected() -> None:
    dates = pd.date_range("2020-01-01", periods=36, freq="MS")
    rng = np.random.default_rng(11)
    report = generate_insights(pd.DataFrame({"m": dates, "v": rng.normal(0, 1, 36)}))
    assert report.frequency == "MS"
    assert report.forecasts["v"].dates[0] == "2023-01-01T00:00:00"


def test_too_few_points_are_noted_not_failed() -> None:
    report = generate_insights(pd.DataFrame({"t": _days(4), "v": [1.0, 2.0, 4.0, 3.0]}))
    skipped = {n["method"] for n in report.notes}
    assert {"change_point", "anomaly", "forecast"} <= skipped
    assert _of(report, "trend", "v")
    assert report.forecasts == {}


@pytest.mark.parametrize(
    ("data", "kwargs", "code"),
    [
        ([1, 2, 3], {}, ErrorCode.INVALID_INPUT),
        (pd.DataFrame(), {}, ErrorCode.VALIDATION_ERROR),
        (pd.DataFrame({"name": ["a", "b", "c"]}), {}, ErrorCode.VALIDATION_ERROR),
        (pd.DataFrame({"v": [1.0, 2.0]}), {"value_columns": ["nope"]}, ErrorCode.VALIDATION_ERROR),
        (pd.DataFrame({"v": [1.0, 2.0]}), {"time_column": "nope"}, ErrorCode.VALIDATION_ERROR),
        (pd.DataFrame({"v": [1.0, 2.0]}), {"horizon": 0}, ErrorCode.VALIDATION_ERROR),
        (pd.DataFrame({"v": [1.0, 2.0]}), {"frequency": "bogus"}, ErrorCode.VALIDATION_ERROR),
        (
            pd.DataFrame({"v": [1.0, 2.0], "s": ["x", "y"]}),
            {"value_columns": ["s"]},
            ErrorCode.VALIDATION_ERROR,
        ),
    ],
)
def test_bad_input(data: object, kwargs: dict[str, object], code: ErrorCode) -> None:
    with pytest.raises(ServiceError) as caught:
        generate_insights(data, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code is code


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(insights_module, "MAX_CELLS", 10)
    with pytest.raises(ServiceError) as caught:
        generate_insights(pd.DataFrame({"a": range(6), "b": range(6)}))
    assert caught.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert caught.value.details == {"cells": 12, "limit": 10}
