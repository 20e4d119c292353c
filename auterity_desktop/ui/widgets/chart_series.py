"""What a dashboard chart keeps per series and how it draws it cheaply (numpy, no Qt).

A ``SeriesBuffer`` holds a series' times and values in numpy arrays with room to grow, so a
live point is appended without copying the series, and the oldest points are dropped in
blocks. ``decimate`` reduces the visible part of a series to at most two points per pixel
column (the column's lowest and highest value, in the order they came), which draws the
same picture as every point. Units turn metric names into axis labels and readable values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

SERIES_COLOURS = ("accent", "#e8590c", "#2f9e44", "#ae3ec9", "#1098ad", "#f59f00", "#d6336c")


class SeriesBuffer:
    """Times (seconds since the epoch) and values of one series, oldest first."""

    def __init__(self, capacity: int = 1024) -> None:
        self._t = np.empty(max(16, capacity), dtype=np.float64)
        self._v = np.empty(max(16, capacity), dtype=np.float64)
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def t(self) -> np.ndarray:
        return self._t[self._start : self._end]

    @property
    def v(self) -> np.ndarray:
        return self._v[self._start : self._end]

    def clear(self) -> None:
        self._start = self._end = 0

    def set(self, t: np.ndarray, v: np.ndarray) -> None:
        n = len(t)
        if n > len(self._t):
            self._t = np.empty(n * 2, dtype=np.float64)
            self._v = np.empty(n * 2, dtype=np.float64)
        self._t[:n] = t
        self._v[:n] = v
        self._start, self._end = 0, n

    def append(self, t: float, v: float) -> None:
        if len(self) and t <= self._t[self._end - 1]:
            return  # already have a point at or after this time
        if self._end == len(self._t):
            self._make_room()
        self._t[self._end] = t
        self._v[self._end] = v
        self._end += 1

    def _make_room(self) -> None:
        n = len(self)
        if self._start >= len(self._t) // 2:  # half the array is dropped points: slide back
            self._t[:n] = self._t[self._start : self._end]
            self._v[:n] = self._v[self._start : self._end]
        else:
            t = np.empty(len(self._t) * 2, dtype=np.float64)
            v = np.empty(len(self._v) * 2, dtype=np.float64)
            t[:n] = self._t[self._start : self._end]
            v[:n] = self._v[self._start : self._end]
            self._t, self._v = t, v
        self._start, self._end = 0, n

    def drop_before(self, t: float) -> None:
        """Forget points older than ``t`` (a live window that moved on)."""
        if len(self):
            self._start += int(np.searchsorted(self.t, t, side="left"))

    def keep_last(self, n: int) -> None:
        if len(self) > n:
            self._start = self._end - n

    def at(self, t: float) -> tuple[float, float] | None:
        """The last point at or before ``t`` (what the crosshair shows)."""
        times = self.t
        i = int(np.searchsorted(times, t, side="right")) - 1
        if i < 0:
            return None
        return float(times[i]), float(self.v[i])


def decimate(
    t: np.ndarray, v: np.ndarray, x0: float, x1: float, columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """The points of [x0, x1] to draw on ``columns`` pixel columns: all of them when they
    are few, else per column its lowest and highest value (in the order the series ran
    through them) at the column's left edge. Columns are fixed in time (x0 + i·width), so
    when the range moves by whole columns only the newest column changes. The nearest point
    outside either end is kept so the line runs to the edges."""
    lo = max(int(np.searchsorted(t, x0, side="left")) - 1, 0)
    hi = min(int(np.searchsorted(t, x1, side="right")) + 1, len(t))
    t, v = t[lo:hi], v[lo:hi]
    columns = max(1, columns)
    if len(t) <= 2 * columns:
        return t, v
    width = (x1 - x0) / columns
    edges = x0 + width * np.arange(columns + 1)
    bounds = np.searchsorted(t, edges, side="left")
    first, stop = int(bounds[0]), int(bounds[-1])
    starts = bounds[:-1]
    counts = np.diff(bounds)
    filled = counts > 0
    starts, counts = starts[filled], counts[filled]
    inside = v[first:stop]
    offsets = starts - first
    low = np.fmin.reduceat(inside, offsets)
    high = np.fmax.reduceat(inside, offsets)
    rising = inside[offsets] <= inside[offsets + counts - 1]
    out_v = np.empty(len(starts) * 2, dtype=np.float64)
    out_v[0::2] = np.where(rising, low, high)
    out_v[1::2] = np.where(rising, high, low)
    out_t = np.repeat(edges[:-1][filled], 2)
    return (
        np.concatenate((t[:first], out_t, t[stop:])),
        np.concatenate((v[:first], out_v, v[stop:])),
    )


@dataclass(frozen=True)
class Unit:
    label: str  # axis label, e.g. "%" or "MiB"
    scale: float  # multiply stored values by this to show them
    digits: int = 1

    def format(self, value: float | None) -> str:
        """A shown (already scaled) value with its unit: "42.5 %", "3/min", "0.012 s"."""
        if value is None or math.isnan(value):
            return "–"
        digits = 0 if abs(value) >= 100 else self.digits
        text = f"{value:,.{digits}f}"
        if digits:
            text = text.rstrip("0").rstrip(".")
        if not self.label:
            return text
        return f"{text}{self.label}" if self.label.startswith("/") else f"{text} {self.label}"


def unit_of(metric: str, kind: str) -> Unit:
    """How a metric's values read: ratios in percent, bytes in MiB, counters per minute."""
    if kind == "counter" or metric.endswith("_total") or metric.endswith("_count"):
        return Unit("/min", 1.0, 2)
    if metric.endswith("_ratio"):
        return Unit("%", 100.0, 1)
    if metric.endswith("_bytes"):
        return Unit("MiB", 1 / (1024 * 1024), 1)
    if "_seconds" in metric:
        return Unit("s", 1.0, 3)
    return Unit("", 1.0, 2)


def series_label(metric: str, labels: dict[str, str]) -> str:
    """A short legend name: the metric without the product prefix, then its labels."""
    name = metric.removeprefix("auterity_")
    if labels:
        name += " · " + ", ".join(f"{v}" for _, v in sorted(labels.items()))
    return name


def legend_names(series: list[tuple[str, dict[str, str]]]) -> list[str]:
    """Short names for a chart's (metric, labels) series: what tells them apart. One
    metric: its label values ("failed", "succeeded"); several: their names without the
    words they share ("system", "process" for the two ``*_cpu_ratio``), then label values."""
    words = [m.removeprefix("auterity_").split("_") for m, _ in series]
    if len({tuple(w) for w in words}) <= 1:
        return [
            ", ".join(v for _, v in sorted(labels.items())) or " ".join(w).replace("_", " ")
            for w, (_, labels) in zip(words, series, strict=True)
        ]
    head = 0
    while all(len(w) > head + 1 and w[head] == words[0][head] for w in words):
        head += 1
    tail = 0
    while all(len(w) > head + tail + 1 and w[-1 - tail] == words[0][-1 - tail] for w in words):
        tail += 1
    names = []
    for w, (_, labels) in zip(words, series, strict=True):
        name = " ".join(w[head : len(w) - tail])
        if labels:
            name += " · " + ", ".join(v for _, v in sorted(labels.items()))
        names.append(name)
    return names


def format_time(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
