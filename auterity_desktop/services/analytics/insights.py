"""Automatic insights from a table of time series: ``generate_insights(data)``. Pure,
vectorised where the maths allows, and Qt-free.

**Input.** ``data`` is a pandas DataFrame with at most ``MAX_CELLS`` cells
(``PAYLOAD_TOO_LARGE`` beyond that).

* **Time column.** Taken from ``time_column`` when given. Otherwise it is the first column
  of datetime dtype, or else the first non-numeric column in which at least 90 % of the
  non-empty values parse as dates. With no time column, rows count as equally spaced steps
  (frequency ``None``, dates are step numbers).
* **Value columns.** Taken from ``value_columns``, or else every numeric column (booleans
  excluded).
* **Resampling.** Each series is resampled to one regular frequency by the mean of each bin:
  ``frequency`` (a pandas alias such as ``"D"``, ``"h"`` or ``"MS"``) when given, otherwise a
  detected one (calendar month start or end when every timestamp is one, otherwise the most
  common gap). Empty bins stay missing, and methods that need a gap-free series interpolate
  linearly.

**Per value column.**

* **descriptive.** Count, mean, std (ddof = 1), min, quartiles, max and missing share are
  taken over the *raw* rows. Over the resampled series, the report adds ``resampled_points``
  and ``resampled_missing_share``.
* **trend.** OLS of value on step index (``scipy.stats.linregress``). The slope's 95 % CI is
  ``slope ± t_{0.975, n−2}·SE`` and the p-value is two-sided (t, n − 2 degrees of freedom).
  Confidence = 1 − p.
* **change_point.** Binary segmentation for changes in mean. A segment is split at the
  point with the largest SSE reduction ``k(n−k)/n·(x̄_left − x̄_right)²``, computed for every
  split at once from cumulative sums. The split is kept if the reduction exceeds the
  BIC-like penalty ``2·σ̂²·ln n`` (the new mean and the location are two parameters).
  σ̂ = 1.4826·MAD(first differences)/√2, which is robust to the shifts themselves. Segments
  have at least ``MIN_SEGMENT`` points, and a column gets at most ``MAX_CHANGE_POINTS``
  splits. Confidence = 1 − Bonferroni-adjusted p of the two-sample z-test of the two means
  (p × number of candidate splits, capped at 1).
* **anomaly.** There are three detectors, and each anomaly lists those that flagged it:
  - ``rolling_zscore``: |x − mean| / std over the previous ``ROLLING_WINDOW`` points
    (point excluded) ≥ 3;
  - ``ewma``: the one-step EWMA forecast residual ``x_t − m_{t−1}``, with λ = 0.25, scaled by
    the robust spread (1.4826·MAD) of all residuals, ≥ 3. This is a residual chart, since
    the classic EWMA chart targets sustained shifts rather than spikes;
  - ``mad``: the modified z-score 0.6745·(r − median)/MAD > 3.5 (Iglewicz & Hoaglin) on the
    residuals from the OLS trend line, so a trend alone is not an anomaly. If MAD = 0 it
    falls back to 1.2533·mean absolute deviation, and if that is 0 too nothing is flagged.

  Confidence = share of the three detectors that flagged the point. At most
  ``MAX_ANOMALIES_PER_COLUMN`` anomalies are reported per column, the strongest first, and
  a note says when more were cut.
* **forecast.** Additive Holt-Winters is compared with a linear-trend baseline (see
  ``forecasting``). The season length is 7 for daily, 24 for hourly and 12 for monthly data,
  used only if the training part holds at least two full seasons. Both models are fitted on
  the first 80 % and scored by MAE on the last 20 %. The winner is refitted on the whole
  series and forecasts ``horizon`` steps with 95 % intervals. Insight confidence = share of
  holdout points inside the winner's 95 % interval.

**Across columns.**

* **correlation.** Pearson and Spearman correlations with their p-values, over
  pair-complete resampled points. A pair becomes an insight only if some method gives
  |r| ≥ 0.5 and p < 0.05. Confidence = 1 − the p of the strongest such method.

A method lacking data (see the ``MIN_POINTS_*`` constants) is skipped with a note in
``InsightReport.notes`` rather than failing. Bad input raises ``ServiceError``:

* ``INVALID_INPUT`` for a wrong type;
* ``VALIDATION_ERROR`` for an empty frame, an unknown column, no numeric column, a bad
  frequency or a bad horizon;
* ``PAYLOAD_TOO_LARGE`` beyond the size limits.

Everything here is CPU-bound and blocking; async callers run it in a worker thread.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from numpy.typing import NDArray
from scipy import stats  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.forecasting import (
    ModelForecast,
    fit_holt_winters,
    forecast_holt_winters,
    forecast_linear,
)

MAX_CELLS = 5_000_000
MAX_RESAMPLED_POINTS = 1_000_000
MAX_HORIZON = 1_000
MIN_POINTS_TREND = 3
MIN_POINTS_CHANGE = 10
MIN_POINTS_ANOMALY = 10
MIN_POINTS_FORECAST = 10
MIN_POINTS_CORRELATION = 5
MIN_SEGMENT = 5
MAX_CHANGE_POINTS = 10
ROLLING_WINDOW = 30
ZSCORE_THRESHOLD = 3.0
EWMA_LAMBDA = 0.25
EWMA_THRESHOLD = 3.0
MAD_THRESHOLD = 3.5
MAX_ANOMALIES_PER_COLUMN = 50
HOLDOUT_SHARE = 0.2
CORRELATION_MIN_R = 0.5
CORRELATION_MAX_P = 0.05
DATE_PARSE_SHARE = 0.9

_SEASONS = {"D": 7, "h": 24, "MS": 12, "ME": 12}
_UNITS = {
    "D": "day",
    "h": "hour",
    "min": "minute",
    "s": "second",
    "MS": "month",
    "ME": "month",
    "QS": "quarter",
    "QE": "quarter",
    "YS": "year",
    "YE": "year",
}

FloatArray = NDArray[np.float64]


def _json(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, NaN/inf to None, timestamps to ISO."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Insight:
    """One finding. ``confidence`` is in [0, 1]; each kind's derivation is in the module doc."""

    kind: str  # trend | change_point | anomaly | forecast | correlation
    column: str
    title: str
    method: str
    evidence: dict[str, Any]
    confidence: float
    details: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "title": self.title,
            "method": self.method,
            "evidence": _json(self.evidence),
            "confidence": _json(self.confidence),
            "details": self.details,
        }


@dataclass(frozen=True)
class Forecast:
    dates: list[str]
    mean: list[float]
    lower: list[float]
    upper: list[float]
    method: str
    holdout_mae: float | None
    baseline_mae: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dates": list(self.dates),
            "mean": _json(self.mean),
            "lower": _json(self.lower),
            "upper": _json(self.upper),
            "method": self.method,
            "holdout_mae": _json(self.holdout_mae),
            "baseline_mae": _json(self.baseline_mae),
        }


@dataclass(frozen=True)
class InsightReport:
    columns: list[str]
    frequency: str | None
    n_rows: int
    insights: list[Insight]
    forecasts: dict[str, Forecast]
    descriptive: dict[str, dict[str, Any]]
    time_column: str | None = None
    notes: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "frequency": self.frequency,
            "n_rows": self.n_rows,
            "time_column": self.time_column,
            "insights": [i.to_dict() for i in self.insights],
            "forecasts": {k: f.to_dict() for k, f in self.forecasts.items()},
            "descriptive": _json(self.descriptive),
            "notes": [dict(n) for n in self.notes],
        }


# -- input handling -------------------------------------------------------------------------


def _fail(code: ErrorCode, message: str, **details: Any) -> ServiceError:
    return ServiceError(code, message, _json(details))


def _parse_dates(values: pd.Series) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(values, errors="coerce", format="mixed")


def _detect_time_column(data: pd.DataFrame) -> str | None:
    for name in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[name]):
            return str(name)
    for name in data.columns:
        col = data[name]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        present = col.dropna()
        if len(present) and _parse_dates(present).notna().mean() >= DATE_PARSE_SHARE:
            return str(name)
    return None


def _detect_frequency(times: pd.DatetimeIndex) -> str | None:
    unique = times.unique().sort_values()
    if len(unique) < 2:
        return None
    if len(unique) >= 3 and bool(unique.is_month_start.all()) and unique.normalize().equals(unique):
        return "MS"
    if len(unique) >= 3 and bool(unique.is_month_end.all()) and unique.normalize().equals(unique):
        return "ME"
    gaps = pd.Series(np.diff(unique.asi8)).mode()
    unit_ns = pd.Timedelta(1, unit=unique.unit).value
    step = pd.Timedelta(int(gaps.iloc[0]) * unit_ns, unit="ns")
    day = pd.Timedelta(days=1)
    if step >= day and step % day == pd.Timedelta(0):
        days = step // day
        return "D" if days == 1 else f"{days}D"
    return str(pd.tseries.frequencies.to_offset(step).freqstr)


def _offset(frequency: str) -> Any:
    try:
        return pd.tseries.frequencies.to_offset(frequency)
    except (ValueError, TypeError):
        raise _fail(
            ErrorCode.VALIDATION_ERROR, f"unknown frequency {frequency!r}", frequency=frequency
        ) from None


def _unit(frequency: str | None) -> str:
    if frequency is None:
        return "step"
    off = _offset(frequency)
    word = "week" if off.rule_code.startswith("W") else _UNITS.get(off.rule_code)
    if word is None:
        return f"step of {frequency}"
    return word if off.n == 1 else f"{off.n} {word}s"


def _season_length(frequency: str | None) -> int | None:
    if frequency is None:
        return None
    off = _offset(frequency)
    return _SEASONS.get(off.rule_code) if off.n == 1 else None


def _validate(
    data: Any, time_column: str | None, value_columns: list[str] | None, horizon: int
) -> None:
    if not isinstance(data, pd.DataFrame):
        raise _fail(
            ErrorCode.INVALID_INPUT,
            f"data must be a pandas DataFrame, not {type(data).__name__}",
            type=type(data).__name__,
        )
    if data.empty:
        raise _fail(ErrorCode.VALIDATION_ERROR, "data has no rows or no columns")
    cells = int(data.shape[0]) * int(data.shape[1])
    if cells > MAX_CELLS:
        raise _fail(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"data has {cells} cells; the limit is {MAX_CELLS}",
            cells=cells,
            limit=MAX_CELLS,
        )
    names = {str(c) for c in data.columns}
    for name in [time_column, *(value_columns or [])]:
        if name is not None and name not in names:
            raise _fail(ErrorCode.VALIDATION_ERROR, f"unknown column {name!r}", column=name)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON:
        raise _fail(
            ErrorCode.VALIDATION_ERROR,
            f"horizon must be an integer from 1 to {MAX_HORIZON}",
            horizon=repr(horizon),
        )


def _prepare(
    data: pd.DataFrame,
    time_column: str | None,
    value_columns: list[str] | None,
    frequency: str | None,
    notes: list[dict[str, str]],
) -> tuple[pd.DataFrame, str | None, str | None, list[str]]:
    """Return the resampled frame (index = time or step), time column, frequency, columns."""
    frame = data.copy()
    frame.columns = [str(c) for c in frame.columns]
    if time_column is None:
        time_column = _detect_time_column(frame)
    if value_columns is None:
        value_columns = [
            c
            for c in frame.columns
            if c != time_column
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
        if not value_columns:
            raise _fail(ErrorCode.VALIDATION_ERROR, "data has no numeric column to analyse")
    for c in value_columns:
        if c == time_column:
            raise _fail(ErrorCode.VALIDATION_ERROR, f"{c!r} is the time column", column=c)
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]):
            raise _fail(ErrorCode.VALIDATION_ERROR, f"column {c!r} is not numeric", column=c)
    values = frame[value_columns].astype("float64")
    if time_column is None:
        if frequency is not None:
            notes.append({"column": "*", "method": "resample", "reason": "no time column"})
        return values.reset_index(drop=True), None, None, value_columns

    times = frame[time_column]
    if not pd.api.types.is_datetime64_any_dtype(times):
        times = _parse_dates(times)
    keep = times.notna().to_numpy()
    if not keep.all():
        notes.append(
            {
                "column": time_column,
                "method": "resample",
                "reason": f"{int((~keep).sum())} rows without a valid time were dropped",
            }
        )
    values = values[keep]
    index = pd.DatetimeIndex(times[keep])
    if len(index) == 0:
        raise _fail(ErrorCode.VALIDATION_ERROR, f"time column {time_column!r} has no valid dates")
    values.index = index
    values = values.sort_index(kind="stable")
    if frequency is None:
        frequency = _detect_frequency(index)
    if frequency is None:
        return values, time_column, None, value_columns
    offset = _offset(frequency)
    span = index.max() - index.min()
    try:
        expected = int(span / pd.Timedelta(offset)) + 1
    except (ValueError, TypeError):  # calendar offsets (months) have no fixed length
        expected = int(span / pd.Timedelta(days=28)) + 1
    if expected > MAX_RESAMPLED_POINTS:
        raise _fail(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"resampling to {frequency} gives about {expected} points; the limit is "
            f"{MAX_RESAMPLED_POINTS}",
            points=expected,
            limit=MAX_RESAMPLED_POINTS,
        )
    fixed = isinstance(offset, pd.tseries.offsets.Tick | pd.tseries.offsets.Day)
    # fixed-length bins start at the first timestamp; calendar bins at calendar boundaries
    resampled = (
        values.resample(offset, origin="start") if fixed else values.resample(offset)
    ).mean()
    return resampled, time_column, frequency, value_columns


# -- per-column methods ----------------------------------------------------------------------


def _describe(raw: pd.Series, resampled: pd.Series) -> dict[str, Any]:
    v = raw.to_numpy(dtype=np.float64)
    present = v[~np.isnan(v)]
    n = len(present)
    q = np.quantile(present, [0.25, 0.5, 0.75]) if n else [math.nan] * 3
    return {
        "count": n,
        "mean": float(present.mean()) if n else None,
        "std": float(present.std(ddof=1)) if n > 1 else None,
        "min": float(present.min()) if n else None,
        "q25": float(q[0]),
        "median": float(q[1]),
        "q75": float(q[2]),
        "max": float(present.max()) if n else None,
        "missing_share": float(1 - n / len(v)) if len(v) else None,
        "resampled_points": len(resampled),
        "resampled_missing_share": float(resampled.isna().mean()) if len(resampled) else None,
    }


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _trend(column: str, y: FloatArray, unit: str) -> Insight:
    x = np.flatnonzero(~np.isnan(y)).astype(np.float64)
    yy = y[~np.isnan(y)]
    res = stats.linregress(x, yy)
    dof = len(yy) - 2
    t = float(stats.t.ppf(0.975, dof))
    slope, se, p = float(res.slope), float(res.stderr), float(res.pvalue)
    if not math.isfinite(p):  # a constant series
        p = 1.0
    low, high = slope - t * se, slope + t * se
    if p < 0.05:
        verb = "rises" if slope > 0 else "falls"
        sentence = f"{column} {verb} by {_num(abs(slope))} per {unit}, {_p_text(p)}"
    else:
        sentence = f"{column} shows no significant trend ({_p_text(p)})"
    return Insight(
        kind="trend",
        column=column,
        title=sentence,
        method="ols_linregress",
        evidence={
            "slope": slope,
            "ci_low": low,
            "ci_high": high,
            "p_value": p,
            "intercept": float(res.intercept),
            "r_squared": float(res.rvalue) ** 2,
            "n": len(yy),
            "unit": unit,
        },
        confidence=1.0 - p,
        details=f"95% CI for the slope per {unit}: [{_num(low)}, {_num(high)}]",
    )


def _robust_sigma_of_diffs(y: FloatArray) -> float:
    d = np.diff(y)
    mad = float(np.median(np.abs(d - np.median(d))))
    sigma = 1.4826 * mad / math.sqrt(2.0)
    if sigma == 0.0:
        sigma = float(np.std(d)) / math.sqrt(2.0)
    return sigma


def _best_split(y: FloatArray) -> tuple[int, float] | None:
    """The split k (left = y[:k]) with the largest SSE reduction, vectorised over k."""
    n = len(y)
    if n < 2 * MIN_SEGMENT:
        return None
    csum = np.cumsum(y)
    k = np.arange(MIN_SEGMENT, n - MIN_SEGMENT + 1)
    left_mean = csum[k - 1] / k
    right_mean = (csum[-1] - csum[k - 1]) / (n - k)
    gain = k * (n - k) / n * (left_mean - right_mean) ** 2
    i = int(np.argmax(gain))
    return int(k[i]), float(gain[i])


def change_points(y: FloatArray) -> list[tuple[int, float, float, float]]:
    """Binary segmentation on the mean: ``(index, mean_before, mean_after, confidence)``.

    ``index`` is the first point of the new segment; ``y`` must have no NaN.
    """
    n = len(y)
    sigma = _robust_sigma_of_diffs(y)
    if sigma == 0.0:
        sigma = 1e-12
    penalty = 2.0 * sigma**2 * math.log(n)
    found: list[int] = []
    queue = [(0, n)]
    while queue and len(found) < MAX_CHANGE_POINTS:
        start, end = queue.pop(0)
        split = _best_split(y[start:end])
        if split is None or split[1] <= penalty:
            continue
        cut = start + split[0]
        found.append(cut)
        queue.extend([(start, cut), (cut, end)])
    found.sort()
    bounds = [0, *found, n]
    out = []
    candidates = max(n - 2 * MIN_SEGMENT + 1, 1)
    for i, cut in enumerate(found):
        before, after = y[bounds[i] : cut], y[cut : bounds[i + 2]]
        z = abs(after.mean() - before.mean()) / (
            sigma * math.sqrt(1 / len(before) + 1 / len(after))
        )
        p = min(1.0, 2.0 * float(stats.norm.sf(z)) * candidates)
        out.append((cut, float(before.mean()), float(after.mean()), 1.0 - p))
    return out


def _mad_scores(r: FloatArray) -> FloatArray:
    med = np.nanmedian(r)
    mad = float(np.nanmedian(np.abs(r - med)))
    if mad > 0:
        return np.asarray(0.6745 * (r - med) / mad, dtype=np.float64)
    meanad = float(np.nanmean(np.abs(r - np.nanmean(r))))
    if meanad > 0:  # IBM's fallback: 1.253314 · mean absolute deviation
        return np.asarray((r - med) / (1.253314 * meanad), dtype=np.float64)
    return np.zeros_like(r)


def anomaly_scores(y: pd.Series) -> pd.DataFrame:
    """Scores of the three detectors per point (NaN where a detector cannot judge)."""
    prev = y.shift(1)
    roll = prev.rolling(ROLLING_WINDOW, min_periods=min(ROLLING_WINDOW, MIN_POINTS_ANOMALY))
    std = roll.std()
    zscore = (y - roll.mean()) / std.where(std > 0)

    forecast = y.ewm(alpha=EWMA_LAMBDA, adjust=False, ignore_na=True).mean().shift(1)
    resid = (y - forecast).to_numpy(dtype=np.float64)
    med = np.nanmedian(resid)
    spread = 1.4826 * float(np.nanmedian(np.abs(resid - med)))
    ewma = (resid - med) / spread if spread > 0 else np.zeros_like(resid)

    v = y.to_numpy(dtype=np.float64)
    x = np.arange(len(v), dtype=np.float64)
    ok = ~np.isnan(v)
    slope, intercept = np.polyfit(x[ok], v[ok], 1)
    mad = _mad_scores(v - (intercept + slope * x))
    return pd.DataFrame(
        {"rolling_zscore": zscore.to_numpy(dtype=np.float64), "ewma": ewma, "mad": mad},
        index=y.index,
    )


_THRESHOLDS = {"rolling_zscore": ZSCORE_THRESHOLD, "ewma": EWMA_THRESHOLD, "mad": MAD_THRESHOLD}


def _anomalies(
    column: str, y: pd.Series, labels: list[str], notes: list[dict[str, str]]
) -> list[Insight]:
    scores = anomaly_scores(y)
    flags = pd.DataFrame({m: (scores[m].abs() >= t) & y.notna() for m, t in _THRESHOLDS.items()})
    flags["mad"] &= scores["mad"].abs() > MAD_THRESHOLD  # Iglewicz & Hoaglin: strictly above
    hit = np.flatnonzero(flags.any(axis=1).to_numpy())
    strength = (scores.abs() / pd.Series(_THRESHOLDS)).max(axis=1).to_numpy()
    order = hit[np.argsort(-np.nan_to_num(strength[hit]), kind="stable")]
    if len(order) > MAX_ANOMALIES_PER_COLUMN:
        notes.append(
            {
                "column": column,
                "method": "anomaly",
                "reason": f"{len(order)} anomalies; only the {MAX_ANOMALIES_PER_COLUMN} "
                "strongest are reported",
            }
        )
        order = order[:MAX_ANOMALIES_PER_COLUMN]
    out = []
    for i in sorted(order.tolist()):
        methods = [m for m in _THRESHOLDS if bool(flags[m].iloc[i])]
        value = float(y.iloc[i])
        out.append(
            Insight(
                kind="anomaly",
                column=column,
                title=f"{column} is unusual at {labels[i]} ({_num(value)})",
                method="+".join(methods),
                evidence={
                    "date": labels[i],
                    "index": i,
                    "value": value,
                    "methods": methods,
                    "scores": {m: float(scores[m].iloc[i]) for m in _THRESHOLDS},
                },
                confidence=len(methods) / len(_THRESHOLDS),
                details="flagged by " + ", ".join(methods),
            )
        )
    return out


def _future_labels(index: pd.Index, frequency: str | None, horizon: int) -> list[str]:
    if isinstance(index, pd.DatetimeIndex) and frequency is not None:
        future = pd.date_range(index[-1], periods=horizon + 1, freq=frequency)[1:]
        return [t.isoformat() for t in future]
    start = len(index)
    return [str(start + h) for h in range(horizon)]


def _fit_forecast(y: FloatArray, m: int | None, horizon: int) -> ModelForecast:
    return forecast_holt_winters(fit_holt_winters(y, m), horizon)


def _forecast(
    column: str,
    y: FloatArray,
    season: int | None,
    horizon: int,
    labels: list[str],
) -> tuple[Forecast, Insight]:
    n = len(y)
    n_test = max(1, round(n * HOLDOUT_SHARE))
    train, test = y[: n - n_test], y[n - n_test :]
    m = season if season and len(train) >= 2 * season else None
    hw = _fit_forecast(train, m, n_test)
    base = forecast_linear(train, n_test)
    hw_mae = float(np.mean(np.abs(test - hw.mean)))
    base_mae = float(np.mean(np.abs(test - base.mean)))
    hw_wins = hw_mae < base_mae
    winner = hw if hw_wins else base
    coverage = float(np.mean((test >= winner.lower) & (test <= winner.upper)))
    final = _fit_forecast(y, m, horizon) if hw_wins else forecast_linear(y, horizon)
    forecast = Forecast(
        dates=labels,
        mean=final.mean.tolist(),
        lower=final.lower.tolist(),
        upper=final.upper.tolist(),
        method=final.method,
        holdout_mae=hw_mae if hw_wins else base_mae,
        baseline_mae=base_mae,
    )
    other = "the linear baseline" if hw_wins else hw.method
    insight = Insight(
        kind="forecast",
        column=column,
        title=(
            f"{column}: {final.method} forecasts {horizon} steps "
            f"(holdout MAE {_num(min(hw_mae, base_mae))} vs {_num(max(hw_mae, base_mae))} "
            f"for {other})"
        ),
        method=final.method,
        evidence={
            "holt_winters_mae": hw_mae,
            "baseline_mae": base_mae,
            "holt_winters_method": hw.method,
            "season_length": m,
            "holdout_points": n_test,
            "holdout_coverage_95": coverage,
        },
        confidence=coverage,
        details="confidence = share of holdout points inside the winner's 95% interval",
    )
    return forecast, insight


def _correlations(
    frame: pd.DataFrame, columns: list[str], notes: list[dict[str, str]]
) -> list[Insight]:
    out = []
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            pair = frame[[a, b]].dropna()
            if len(pair) < MIN_POINTS_CORRELATION:
                notes.append(
                    {
                        "column": f"{a} ~ {b}",
                        "method": "correlation",
                        "reason": f"only {len(pair)} paired points (need {MIN_POINTS_CORRELATION})",
                    }
                )
                continue
            x, y = pair[a].to_numpy(), pair[b].to_numpy()
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                continue
            pr, pp = (float(v) for v in stats.pearsonr(x, y))
            sr, sp = (float(v) for v in stats.spearmanr(x, y))
            results = {"pearson": (pr, pp), "spearman": (sr, sp)}
            passing = {
                k: rp
                for k, rp in results.items()
                if abs(rp[0]) >= CORRELATION_MIN_R and rp[1] < CORRELATION_MAX_P
            }
            if not passing:
                continue
            best = max(passing, key=lambda k: abs(passing[k][0]))
            r, p = passing[best]
            direction = "positively" if r > 0 else "negatively"
            out.append(
                Insight(
                    kind="correlation",
                    column=f"{a} ~ {b}",
                    title=f"{a} and {b} are {direction} correlated ({best} r = {r:.2f}, "
                    f"{_p_text(p)})",
                    method="+".join(passing),
                    evidence={
                        "columns": [a, b],
                        "n": len(pair),
                        "pearson_r": pr,
                        "pearson_p": pp,
                        "spearman_rho": sr,
                        "spearman_p": sp,
                    },
                    confidence=1.0 - p,
                    details="correlation is not causation; both may follow a shared trend",
                )
            )
    return out


# -- entry point -----------------------------------------------------------------------------


def generate_insights(
    data: pd.DataFrame,
    *,
    time_column: str | None = None,
    value_columns: list[str] | None = None,
    horizon: int = 7,
    frequency: str | None = None,
) -> InsightReport:
    """Analyse every value column of ``data``; see the module docstring for the methods."""
    _validate(data, time_column, value_columns, horizon)
    if frequency is not None:
        _offset(frequency)
    notes: list[dict[str, str]] = []
    frame, time_column, frequency, columns = _prepare(
        data, time_column, value_columns, frequency, notes
    )
    if isinstance(frame.index, pd.DatetimeIndex):
        labels = [t.isoformat() for t in frame.index]
    else:
        labels = [str(i) for i in range(len(frame))]
    unit = _unit(frequency)
    season = _season_length(frequency)
    future = _future_labels(frame.index, frequency, horizon)

    insights: list[Insight] = []
    forecasts: dict[str, Forecast] = {}
    descriptive: dict[str, dict[str, Any]] = {}
    raw = data.copy(deep=False)
    raw.columns = [str(c) for c in raw.columns]
    for column in columns:
        series = frame[column]
        descriptive[column] = _describe(raw[column], series)
        y = series.to_numpy(dtype=np.float64)
        n_valid = int((~np.isnan(y)).sum())

        def skip(method: str, need: int, column: str = column, n_valid: int = n_valid) -> None:
            notes.append(
                {
                    "column": column,
                    "method": method,
                    "reason": f"{n_valid} points, at least {need} needed",
                }
            )

        if n_valid >= MIN_POINTS_TREND:
            insights.append(_trend(column, y, unit))
        else:
            skip("trend", MIN_POINTS_TREND)
        filled = series.interpolate(limit_direction="both").to_numpy(dtype=np.float64)
        if n_valid >= MIN_POINTS_CHANGE:
            for cut, before, after, conf in change_points(filled):
                insights.append(
                    Insight(
                        kind="change_point",
                        column=column,
                        title=f"{column} shifts from {_num(before)} to {_num(after)} "
                        f"at {labels[cut]}",
                        method="binary_segmentation_bic",
                        evidence={
                            "date": labels[cut],
                            "index": cut,
                            "mean_before": before,
                            "mean_after": after,
                        },
                        confidence=conf,
                        details="mean of the segments either side of the change",
                    )
                )
        else:
            skip("change_point", MIN_POINTS_CHANGE)
        if n_valid >= MIN_POINTS_ANOMALY:
            insights.extend(_anomalies(column, series, labels, notes))
        else:
            skip("anomaly", MIN_POINTS_ANOMALY)
        if n_valid >= MIN_POINTS_FORECAST:
            forecast, insight = _forecast(column, filled, season, horizon, future)
            forecasts[column] = forecast
            insights.append(insight)
        else:
            skip("forecast", MIN_POINTS_FORECAST)
    if len(columns) > 1:
        insights.extend(_correlations(frame, columns, notes))

    return InsightReport(
        columns=columns,
        frequency=frequency,
        n_rows=len(data),
        insights=insights,
        forecasts=forecasts,
        descriptive=descriptive,
        time_column=time_column,
        notes=notes,
    )
