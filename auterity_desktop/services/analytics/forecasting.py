"""Forecasting for ``generate_insights``: additive Holt-Winters (ETS(A,A,A) / ETS(A,A,N)) and a
linear-trend baseline, both with 95 % prediction intervals. Pure numpy/scipy, Qt-free.

**Holt-Winters** is written in the error-correction (state-space) form of Hyndman et al.,
*Forecasting with Exponential Smoothing* (2008), with one-step error ``e_t = y_t − ŷ_t``::

    ŷ_t = ℓ_{t−1} + b_{t−1} + s_{t−m}
    ℓ_t = ℓ_{t−1} + b_{t−1} + α·e_t
    b_t = b_{t−1} + β·e_t
    s_t = s_{t−m} + γ·e_t            (only with a season of length m)

The optimiser sees three parameters bounded in [0, 1] — α, β* and γ* — and the model uses
``β = α·β*`` and ``γ = (1 − α)·γ*``, the classic Holt-Winters restriction (β ≤ α,
γ ≤ 1 − α) that keeps the model forecastable. They are fitted by minimising the sum of squared
one-step errors with ``scipy.optimize.minimize`` (L-BFGS-B). Initial states are heuristic,
not estimated: the level is the mean of the first season, the trend the difference of the
first two season means divided by m, the seasonal states the first season minus the level.
Without a season they are ``y_0`` and ``y_1 − y_0``.

**Intervals** use the closed-form forecast variance for the additive model (Hyndman et al.
2008, Table 6.1, class 1), with k = ⌊(h − 1)/m⌋::

    v_h = σ²·[1 + (h−1)·(α² + αβh + β²h(2h−1)/6) + γk·(2α + γ + βm(k+1))]

σ² is the residual variance, SSE / (n − parameters). The approximation is the usual
plug-in one: errors are assumed normal and homoscedastic, and the estimated parameters and
initial states are treated as known, so the intervals ignore estimation uncertainty. They
are therefore slightly too narrow on short series.

**Linear baseline.** This is OLS on the step index. Its interval is the classical OLS
prediction interval: ``t_{0.975, n−2}·s·√(1 + 1/n + (x − x̄)²/Sxx)``.

Fitting uses at most the last ``MAX_FIT_POINTS`` points, because the recursion is a Python
loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats  # type: ignore[import-untyped]

MAX_FIT_POINTS = 2_000
Z_95 = float(stats.norm.ppf(0.975))

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ModelForecast:
    """Point forecasts and 95 % bounds for ``h = 1 … horizon``."""

    method: str
    mean: FloatArray
    lower: FloatArray
    upper: FloatArray


@dataclass(frozen=True)
class HoltWintersFit:
    alpha: float
    beta: float
    gamma: float
    season_length: int | None
    level: float
    trend: float
    seasonal: FloatArray  # the last m seasonal states, oldest first
    sigma2: float
    n: int


def _initial_states(y: FloatArray, m: int | None) -> tuple[float, float, FloatArray]:
    if m:
        first, second = y[:m], y[m : 2 * m]
        level = float(first.mean())
        trend = float((second.mean() - first.mean()) / m)
        return level, trend, first - level
    return float(y[0]), float(y[1] - y[0]), np.zeros(0)


def _run(
    y: FloatArray, alpha: float, beta: float, gamma: float, m: int | None
) -> tuple[float, float, float, FloatArray]:
    """One pass of the recursion: (SSE, final level, final trend, last m seasonal states)."""
    level, trend, seasonal0 = _initial_states(y, m)
    season = list(seasonal0)
    sse = 0.0
    for t in range(len(y)):
        s = season[t] if m else 0.0  # season[i] holds s_{i-m}, so season[t] is s_{t-m}
        e = y[t] - (level + trend + s)
        sse += e * e
        level = level + trend + alpha * e
        trend = trend + beta * e
        if m:
            season.append(s + gamma * e)
    last = np.asarray(season[-m:], dtype=np.float64) if m else np.zeros(0)
    return sse, level, trend, last


def _unpack(params: FloatArray, seasonal: bool) -> tuple[float, float, float]:
    alpha = float(params[0])
    beta = alpha * float(params[1])
    gamma = (1.0 - alpha) * float(params[2]) if seasonal else 0.0
    return alpha, beta, gamma


def fit_holt_winters(y: FloatArray, season_length: int | None) -> HoltWintersFit:
    """Fit additive Holt-Winters (with a season when ``season_length`` is given).

    The caller checks there are at least two full seasons (or 4 points without a season).
    """
    y = np.asarray(y, dtype=np.float64)[-MAX_FIT_POINTS:]
    m = season_length
    seasonal = bool(m)

    def objective(params: FloatArray) -> float:
        return _run(y, *_unpack(params, seasonal), m)[0]

    x0 = np.array([0.3, 0.1, 0.1] if seasonal else [0.3, 0.1])
    result = optimize.minimize(objective, x0, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(x0))
    alpha, beta, gamma = _unpack(np.asarray(result.x, dtype=np.float64), seasonal)
    sse, level, trend, last = _run(y, alpha, beta, gamma, m)
    n_params = len(x0) + 2 + (m or 0)
    dof = max(len(y) - n_params, 1)
    return HoltWintersFit(alpha, beta, gamma, m, level, trend, last, sse / dof, len(y))


def forecast_holt_winters(fit: HoltWintersFit, horizon: int) -> ModelForecast:
    h = np.arange(1, horizon + 1, dtype=np.float64)
    mean = fit.level + h * fit.trend
    a, b, g = fit.alpha, fit.beta, fit.gamma
    var = 1.0 + (h - 1.0) * (a * a + a * b * h + b * b * h * (2.0 * h - 1.0) / 6.0)
    m = fit.season_length
    if m:
        mean = mean + fit.seasonal[(np.arange(horizon)) % m]
        k = np.floor((h - 1.0) / m)
        var = var + g * k * (2.0 * a + g + b * m * (k + 1.0))
    half = Z_95 * np.sqrt(fit.sigma2 * var)
    method = "holt_winters_additive" if m else "holt_linear"
    return ModelForecast(method, mean, mean - half, mean + half)


def forecast_linear(y: FloatArray, horizon: int) -> ModelForecast:
    """OLS line on the step index, extrapolated, with the OLS prediction interval."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    x = np.arange(n, dtype=np.float64)
    x_mean = x.mean()
    sxx = float(((x - x_mean) ** 2).sum())
    slope = float(((x - x_mean) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * x_mean)
    resid = y - (intercept + slope * x)
    s = math.sqrt(float((resid**2).sum()) / max(n - 2, 1))
    x_new = np.arange(n, n + horizon, dtype=np.float64)
    mean = intercept + slope * x_new
    t = float(stats.t.ppf(0.975, max(n - 2, 1)))
    half = t * s * np.sqrt(1.0 + 1.0 / n + (x_new - x_mean) ** 2 / sxx)
    return ModelForecast("linear_trend", mean, mean - half, mean + half)
