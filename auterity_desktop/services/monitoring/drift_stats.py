"""Two-sample statistics for drift detection, computed with numpy alone.

Each function gives the answer of the scipy function named in its docstring (scipy is a
test dependency only; the tests compare the two on fixed data):

- ``ks_2samp`` — ``scipy.stats.ks_2samp(a, b)`` (two-sided, ``method="auto"``): the exact
  p-value when neither sample has more than 10,000 values, else the ``kstwo``
  distribution at ``round(n·m/(n+m))``. One deviation: an exact computation that would
  take more than ``EXACT_BUDGET`` lattice steps (only a large, clearly shifted pair of
  samples gets there, whose p-value is far below any threshold) uses ``kstwo`` too.
- ``chi2_homogeneity`` — ``scipy.stats.chi2_contingency(table, correction=False)`` on the
  2×k table of category counts (reference, current). For two categories this equals the
  pooled two-proportion z-test Evidently uses there (χ² = z²), so one test covers both.
- ``wasserstein`` — ``scipy.stats.wasserstein_distance(a, b)`` (1-D, unweighted).
- ``jensenshannon`` — ``scipy.spatial.distance.jensenshannon(p, q)`` (natural logarithm,
  so 0 … √ln 2 ≈ 0.833), which Evidently uses.
- ``psi`` — the population stability index Σ (r − c)·ln(r / c) over shares, empty shares
  replaced by ``PSI_EPSILON``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

MAX_AUTO_N = 10_000  # scipy's 'auto': exact p-values while both samples are this small
EXACT_BUDGET = 2_000_000  # lattice steps an exact KS p-value may take (see module doc)
PSI_EPSILON = 1e-4  # the share an empty bin counts as in PSI (Evidently's value)
_SCALE = 2.0**128
_TINY = 1e-300

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float | None = None
    detail: str = ""  # e.g. "exact" / "asymptotic" for KS, degrees of freedom for χ²


# -- Kolmogorov–Smirnov ---------------------------------------------------------------------
def ks_2samp(a: ArrayLike, b: ArrayLike) -> TestResult:
    """The two-sided two-sample Kolmogorov–Smirnov test (see the module doc)."""
    x = np.sort(np.asarray(a, dtype=np.float64))
    y = np.sort(np.asarray(b, dtype=np.float64))
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    both = np.concatenate([x, y])
    diffs = (
        np.searchsorted(x, both, side="right") / n1 - np.searchsorted(y, both, side="right") / n2
    )
    d = float(max(np.clip(-diffs.min(), 0.0, 1.0), diffs.max()))
    g = math.gcd(n1, n2)
    if max(n1, n2) <= MAX_AUTO_N:
        lcm = (n1 // g) * n2
        h = round(d * lcm)
        d = h / lcm  # as scipy: the statistic on the lattice of the exact computation
        if h == 0:
            return TestResult(d, 1.0, "exact")
        p = _exact_p(n1, n2, g, h)
        if p is not None and 0.0 <= p <= 1.0:
            return TestResult(d, p, "exact")
    big, small = max(n1, n2), min(n1, n2)
    en = int(np.round(big * small / (big + small)))
    return TestResult(d, float(np.clip(kstwo_sf(d, en), 0.0, 1.0)), "asymptotic")


def _exact_p(n1: int, n2: int, g: int, h: int) -> float | None:
    """P(D ≥ h/lcm) by counting lattice paths; ``None`` when too costly to count."""
    if n1 == n2:
        return _prob_outside_square(n1, h)
    m, n = max(n1, n2), min(n1, n2)
    window = min(n + 1, 2 * (-(-h // (m // g))) + 2)
    if m * window > EXACT_BUDGET:
        return None
    return _prob_outside_band(m, n, g, h)


def _prob_outside_square(n: int, h: int) -> float:
    """Equal sample sizes: 2·Σ(−1)^(k+1)·C(2n, n−kh)/C(2n, n), summed in Horner form."""
    total = 0.0
    k = n // h
    while k >= 0:
        term = 1.0
        for j in range(h):
            term = (n - k * h - j) * term / (n + k * h + j + 1)
        total = term * (1.0 - total)
        k -= 1
    return 2 * total


def _prob_outside_band(m: int, n: int, g: int, h: int) -> float:
    """Unequal sizes (m > n): the share of lattice paths from (0, 0) to (m, n) that leave
    the band |x/m − y/n| < h/lcm, column by column over a sliding window (Hodges 1958, with
    Viehmann's 2021 recursion that carries 1 − p so it stays within [0, 1])."""
    mg, ng = m // g, n // g
    minj, maxj = 0, min(-(-h // mg), n + 1)
    curlen = maxj - minj
    size = min(2 * maxj + 2, n + 1)
    column = [1.0] * size
    for j in range(minj, maxj):
        column[j] = 0.0
    for i in range(1, m + 1):
        lastminj, lastlen = minj, curlen
        minj = min(max((ng * i - h) // mg + 1, 0), n)
        maxj = min(-(-(ng * i + h) // mg), n + 1)
        if maxj <= minj:
            return 1.0
        value = 0.0 if minj == 0 else 1.0
        shift = minj - lastminj
        for jj in range(maxj - minj):
            j = jj + minj
            value = (column[jj + shift] * i + value * j) / (i + j)
            column[jj] = value
        curlen = maxj - minj
        for jj in range(curlen, min(lastlen, size)):
            column[jj] = 1.0
    return column[maxj - minj - 1]


def kstwo_sf(d: float, n: int) -> float:
    """P(D_n ≥ d) for the two-sided one-sample statistic D_n (scipy's ``kstwo.sf``), after
    Simard & L'Ecuyer (2011): exact formulas at the edges, Durbin's matrix where it is
    cheap, Smirnov's one-sided sum in the tail and Pelz–Good in between."""
    if n <= 0 or math.isnan(d):
        return math.nan
    if d >= 1.0:
        return 0.0
    if d <= 0.0:
        return 1.0
    t = n * d
    if t <= 1.0:  # Ruben–Gambino
        if t <= 0.5:
            return 1.0
        log_cdf = math.lgamma(n + 1) - n * math.log(n) + n * math.log(2 * t - 1)
        return _clip(1.0 - math.exp(log_cdf))
    if t >= n - 1:
        return _clip(2 * (1.0 - d) ** n)
    if d >= 0.5:
        return _clip(2 * smirnov_sf(n, d))
    nd2 = t * d
    if n <= 140:
        if nd2 <= 4:
            return _clip(1.0 - _durbin_cdf(n, d))
        return _clip(2 * smirnov_sf(n, d))
    if nd2 >= 370.0:
        return 0.0
    if nd2 >= 2.2:
        return _clip(2 * smirnov_sf(n, d))
    if n <= 100_000 and n * d**1.5 <= 1.4:
        return _clip(1.0 - _durbin_cdf(n, d))
    return _clip(1.0 - _pelz_good_cdf(n, d))


def smirnov_sf(n: int, d: float) -> float:
    """P(D⁺_n ≥ d), the one-sided statistic (Birnbaum & Tingey 1951), summed in logs."""
    if d <= 0.0:
        return 1.0
    if d >= 1.0:
        return 0.0
    j = np.arange(0, math.floor(n * (1.0 - d)) + 1, dtype=np.float64)
    rest = 1.0 - d - j / n
    keep = rest > 0
    j, rest = j[keep], rest[keep]
    if j.size == 0:
        return 0.0
    log_factorials = np.array([math.lgamma(k + 1.0) for k in range(n + 1)])
    jj = j.astype(np.int64)
    logs = (
        log_factorials[n]
        - log_factorials[jj]
        - log_factorials[n - jj]
        + (n - j) * np.log(rest)
        + (j - 1) * np.log(d + j / n)
    )
    top = logs.max()
    return float(d * math.exp(top) * np.exp(logs - top).sum())


def _durbin_cdf(n: int, d: float) -> float:
    """P(D_n < d) by Durbin's matrix (Marsaglia, Tsang & Wang 2003), with the matrix
    power rescaled by 2¹²⁸ as it grows."""
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    powers = np.arange(1, m + 1)
    v = 1.0 - h**powers
    w = np.empty(m)
    fac = 1.0
    for j in range(1, m + 1):
        w[j - 1] = fac
        fac /= j
        v[j - 1] *= fac
    v[-1] = (1.0 + max(2 * h - 1.0, 0.0) ** m - 2 * h**m) * fac
    matrix = np.zeros((m, m))
    for i in range(1, m):
        matrix[i - 1 :, i] = w[: m - i + 1]
    matrix[:, 0] = v
    matrix[-1, :] = v[::-1]
    result = np.eye(m)
    exponent = matrix_exponent = 0
    remaining = n
    while remaining > 0:
        if remaining % 2:
            result = result @ matrix
            exponent += matrix_exponent
        matrix = matrix @ matrix
        matrix_exponent *= 2
        if abs(matrix[k - 1, k - 1]) > _SCALE:
            matrix /= _SCALE
            matrix_exponent += 128
        remaining //= 2
    p = float(result[k - 1, k - 1])
    for i in range(1, n + 1):
        p = i * p / n
        if abs(p) < 1.0 / _SCALE:
            p *= _SCALE
            exponent -= 128
    return _clip(math.ldexp(p, exponent))


def _pelz_good_cdf(n: int, d: float) -> float:
    """The Pelz–Good (1976) expansion of P(D_n ≤ d) for large n."""
    z = math.sqrt(n) * d
    z2, z3, z4, z6 = z**2, z**3, z**4, z**6
    pi2, pi4, pi6 = math.pi**2, math.pi**4, math.pi**6
    qlog = -pi2 / 8 / z2
    if qlog < -708:
        return 0.0
    q = math.exp(qlog)
    k1a, k1b = -z2, pi2 / 4
    k2a, k2b, k2c = 6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * pi2 / 4, pi4 * (1 - 2 * z2) / 16
    k3d = pi6 * (5 - 30 * z2) / 64
    k3c = pi4 * (-60 * z2 + 212 * z4) / 16
    k3b = pi2 * (135 * z4 - 96 * z6) / 4
    k3a = -30 * z6 - 90 * z**8
    terms = np.zeros(4)
    maxk = math.ceil(16 * z / math.pi)
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        m2, m4, m6 = m**2, m**4, m**6
        terms *= q ** (8 * k)
        terms += np.array(
            [
                1.0,
                k1a + k1b * m2,
                k2a + k2b * m2 + k2c * m4,
                k3a + k3b * m2 + k3c * m4 + k3d * m6,
            ]
        )
    terms *= q * math.sqrt(2 * math.pi)
    terms /= np.array([z, 6 * z4, 72 * z**7, 6480 * z**10])
    q = math.exp(-pi2 / 2 / z2)
    ks = np.arange(maxk, 0, -1, dtype=np.float64)
    k2 = ks**2
    qk = q**k2
    terms[2] += np.sum(k2 * qk) * pi2 * math.sqrt(2 * math.pi) / (-36 * z3)
    sqrt3z, kpi = math.sqrt(3) * z, math.pi * ks
    terms[3] += (
        np.sum((sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk)
        * pi2
        * math.sqrt(2 * math.pi)
        / (216 * z6)
    )
    terms /= np.power(float(n), np.arange(4) / 2.0)
    return _clip(float(terms.sum()))


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)


# -- chi-square -----------------------------------------------------------------------------
def chi2_homogeneity(reference_counts: ArrayLike, current_counts: ArrayLike) -> TestResult:
    """Pearson's χ² test that two samples share one categorical distribution; counts are
    per category, in the same order. Categories absent from both are ignored."""
    table = np.array([reference_counts, current_counts], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return TestResult(0.0, 1.0, "dof=0")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    return TestResult(statistic, chi2_sf(statistic, dof), f"dof={dof}")


def chi2_sf(x: float, dof: int) -> float:
    """P(χ²_dof ≥ x): the regularised upper incomplete gamma function Q(dof/2, x/2)."""
    if x <= 0:
        return 1.0
    return gammaincc(dof / 2.0, x / 2.0)


def gammaincc(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x)/Γ(a): a series below a + 1, a continued fraction above."""
    if x <= 0:
        return 1.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return _clip(1.0 - total * math.exp(log_prefix))
    b = x + 1.0 - a
    c = 1.0 / _TINY
    dd = 1.0 / b
    result = dd
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        dd = an * dd + b
        dd = _TINY if abs(dd) < _TINY else dd
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        dd = 1.0 / dd
        delta = dd * c
        result *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return _clip(math.exp(log_prefix) * result)


# -- distances ------------------------------------------------------------------------------
def wasserstein(a: ArrayLike, b: ArrayLike) -> float:
    """The first Wasserstein (earth mover's) distance of two 1-D samples: ∫|F − G|."""
    x = np.sort(np.asarray(a, dtype=np.float64))
    y = np.sort(np.asarray(b, dtype=np.float64))
    if x.size == 0 or y.size == 0:
        raise ValueError("both samples need at least one value")
    both = np.sort(np.concatenate([x, y]), kind="mergesort")
    deltas = np.diff(both)
    fx = np.searchsorted(x, both[:-1], side="right") / x.size
    fy = np.searchsorted(y, both[:-1], side="right") / y.size
    return float(np.sum(np.abs(fx - fy) * deltas))


def wasserstein_normed(reference: ArrayLike, current: ArrayLike) -> float:
    """Evidently's drift score for numbers: the Wasserstein distance in units of the
    reference's standard deviation (population, at least 0.001)."""
    ref = np.asarray(reference, dtype=np.float64)
    return wasserstein(ref, current) / max(float(np.std(ref)), 0.001)


def jensenshannon(p: ArrayLike, q: ArrayLike) -> float:
    """The Jensen–Shannon distance √(JS divergence) of two distributions (natural log);
    both are normalised to sum to 1 first."""
    pp = np.asarray(p, dtype=np.float64)
    qq = np.asarray(q, dtype=np.float64)
    pp, qq = pp / pp.sum(), qq / qq.sum()
    mid = (pp + qq) / 2.0
    divergence = _relative_entropy(pp, mid) + _relative_entropy(qq, mid)
    return float(math.sqrt(max(divergence, 0.0) / 2.0))


def _relative_entropy(p: Floats, q: Floats) -> float:
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])))


def psi(reference_shares: ArrayLike, current_shares: ArrayLike) -> float:
    """The population stability index of two share vectors over the same bins."""
    r = np.asarray(reference_shares, dtype=np.float64)
    c = np.asarray(current_shares, dtype=np.float64)
    r = np.where(r > 0, r, PSI_EPSILON)
    c = np.where(c > 0, c, PSI_EPSILON)
    return float(np.sum((r - c) * np.log(r / c)))


def quantile_shares(
    reference: ArrayLike, current: ArrayLike, bins: int = 10
) -> tuple[Floats, Floats, Floats]:
    """Shares of both samples in the reference's quantile bins (deciles by default): the
    interior cut points, then the two share vectors. A value on a cut point belongs to
    the bin above it; ties in the reference merge bins."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    cuts = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    ref_bins = np.searchsorted(cuts, ref, side="right")
    cur_bins = np.searchsorted(cuts, cur, side="right")
    size = cuts.size + 1
    return (
        cuts,
        np.bincount(ref_bins, minlength=size) / ref.size,
        np.bincount(cur_bins, minlength=size) / cur.size,
    )
