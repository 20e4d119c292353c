"""Counters, gauges and histograms with labels, kept in memory for charts and /metrics.

Every series keeps its recent samples in a ring buffer, so the dashboard can draw the last
minutes without a database round trip; persistence and downsampling belong to the
performance service. The collector is thread-safe because analysis jobs report from worker
threads. A metric's kind is fixed by its first use and the number of label combinations per
metric is capped, so a bug that puts an id in a label cannot eat the memory.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from auterity_desktop.core.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
MAX_SERIES_PER_METRIC = 1000
BATCH = 1024  # increments or observations gathered before they are counted
BATCH_SMALL = 64  # fewer than this are counted one by one, more with numpy

LabelKey = tuple[tuple[str, str], ...]


class MetricKind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(slots=True)
class _Series:
    value: float = 0.0  # counter total, gauge value, histogram sum
    # histograms: observations per bucket, one more than the bounds for those above them all
    bucket_counts: list[int] = field(default_factory=list)
    history: deque[tuple[float, float]] = field(default_factory=deque)
    buckets: tuple[float, ...] = ()  # the metric's bucket bounds (histograms)
    counter: bool = False
    # Counter increments and histogram observations not yet counted. ``increment`` and
    # ``observe`` only append — one operation, atomic with or without the GIL — so the hot
    # path takes no lock; ``settle`` counts them, in order and holding the collector's
    # lock, when the series is read or when BATCH have gathered.
    pending: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Observations of a histogram (call ``settle`` first)."""
        return sum(self.bucket_counts)

    def settle(self, now: float) -> None:
        """A counter's history gets one sample, at ``now``, per settle that counted
        something: its resolution is how often it is read (the dashboard, the alert rules,
        the performance service's collection), not one sample per increment."""
        pending = self.pending
        n = len(pending)
        if not n:
            return
        # Appends racing with the slice and the delete land after the first n items and
        # wait for the next settle.
        batch = pending[:n]
        del pending[:n]
        self.value = sum(batch, self.value)  # added in order, as one at a time would
        if self.counter:
            self.history.append((now, self.value))
            return
        counts = self.bucket_counts
        if n < BATCH_SMALL:
            bounds = self.buckets
            for value in batch:
                counts[bisect.bisect_left(bounds, value)] += 1
        else:
            import numpy as np

            found = np.searchsorted(np.asarray(self.buckets), np.asarray(batch), side="left")
            for index, k in enumerate(np.bincount(found, minlength=len(counts)).tolist()):
                counts[index] += k


@dataclass
class _Metric:
    name: str
    kind: MetricKind
    help: str
    buckets: tuple[float, ...]
    series: dict[LabelKey, _Series] = field(default_factory=dict)
    dropped: int = 0


@dataclass(frozen=True)
class SeriesSnapshot:
    """One series as it is now (see ``MetricsCollector.snapshot``)."""

    name: str
    kind: MetricKind
    labels: dict[str, str]
    value: float  # counter total, gauge value, histogram sum
    count: int = 0  # histogram observations
    buckets: tuple[float, ...] = ()  # histogram bucket bounds
    bucket_counts: tuple[int, ...] = ()  # per bound, then those above every bound
    updated_at: float | None = None  # when it was last recorded


def _bad(message: str, **details: object) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, dict(details))


class MetricsCollector:
    """``increment``, ``observe`` and ``gauge``, as in the platform's catalogue."""

    def __init__(self, history_size: int = 720, clock: Callable[[], float] = time.time) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()
        self._history_size = history_size
        self._clock = clock
        # Series already seen, by the caller's (name, label items), and the last labels each
        # metric was used with — see ``_lookup``.
        self._counters: dict[Hashable, _Series] = {}
        self._gauges: dict[Hashable, _Series] = {}
        self._histograms: dict[Hashable, _Series] = {}
        self._fast = {
            MetricKind.COUNTER: self._counters,
            MetricKind.GAUGE: self._gauges,
            MetricKind.HISTOGRAM: self._histograms,
        }
        self._counter_hints: dict[str, tuple[dict[str, object], _Series]] = {}
        self._gauge_hints: dict[str, tuple[dict[str, object], _Series]] = {}
        self._histogram_hints: dict[str, tuple[dict[str, object], _Series]] = {}
        self._hints = {
            MetricKind.COUNTER: self._counter_hints,
            MetricKind.GAUGE: self._gauge_hints,
            MetricKind.HISTOGRAM: self._histogram_hints,
        }

    # -- declaration ------------------------------------------------------------------
    def describe(
        self,
        name: str,
        kind: MetricKind | str,
        help: str = "",
        buckets: Iterable[float] | None = None,
    ) -> None:
        """Declare a metric's kind, help text and (for histograms) bucket bounds up front."""
        with self._lock:
            self._metric(name, MetricKind(kind), help=help, buckets=buckets)

    def _metric(
        self, name: str, kind: MetricKind, help: str = "", buckets: Iterable[float] | None = None
    ) -> _Metric:
        metric = self._metrics.get(name)
        if metric is None:
            if not isinstance(name, str) or not METRIC_NAME.match(name):
                raise _bad(f"{name!r} is not a valid metric name", metric=repr(name))
            bounds = tuple(sorted(float(b) for b in (buckets or DEFAULT_BUCKETS)))
            if not bounds or any(math.isnan(b) for b in bounds):
                raise _bad("histogram buckets must be numbers", metric=name)
            metric = _Metric(name, kind, help, bounds)
            self._metrics[name] = metric
        elif metric.kind is not kind:
            raise _bad(
                f"metric {name!r} is a {metric.kind.value}, not a {kind.value}",
                metric=name,
                kind=metric.kind.value,
            )
        elif help and not metric.help:
            metric.help = help
        return metric

    @staticmethod
    def _label_key(labels: Mapping[str, object] | None) -> LabelKey:
        if not labels:
            return ()
        for key in labels:
            if not isinstance(key, str) or not LABEL_NAME.match(key) or key.startswith("__"):
                raise _bad(f"{key!r} is not a valid label name", label=repr(key))
        return tuple(sorted((k, str(v)) for k, v in labels.items()))

    def _series(self, metric: _Metric, key: LabelKey) -> _Series | None:
        series = metric.series.get(key)
        if series is None:
            if len(metric.series) >= MAX_SERIES_PER_METRIC:
                if metric.dropped == 0:
                    logger.warning(
                        "metric has too many label combinations; dropping new ones",
                        extra={"metric": metric.name, "limit": MAX_SERIES_PER_METRIC},
                    )
                metric.dropped += 1
                return None
            series = _Series(
                history=deque(maxlen=self._history_size),
                counter=metric.kind is MetricKind.COUNTER,
            )
            if metric.kind is MetricKind.HISTOGRAM:
                series.bucket_counts = [0] * (len(metric.buckets) + 1)
                series.buckets = metric.buckets
            metric.series[key] = series
        return series

    @staticmethod
    def _number(name: str, value: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f"metric {name!r} needs a number, got {type(value).__name__}", metric=name)
        value = float(value)
        if math.isnan(value):
            raise _bad(f"metric {name!r} got NaN", metric=name)
        return value

    # -- recording --------------------------------------------------------------------
    # The hot path. A series once seen is found again without validating or sorting: by
    # the last labels used with the metric (compared by value, so a fresh but equal dict
    # matches), else with one lookup keyed by the caller's name and label items. Names
    # and labels are validated only the first time a key is seen.
    def _lookup(
        self, kind: MetricKind, name: str, labels: Mapping[str, object] | None
    ) -> _Series | None:
        cache = self._fast[kind]
        fast_key: Hashable = (name, tuple(labels.items())) if labels else name
        try:
            series = cache.get(fast_key)
        except TypeError:  # an unhashable label value: validated and converted each time
            series, fast_key = None, None
        if series is None:
            key = self._label_key(labels)
            with self._lock:
                series = self._series(self._metric(name, kind), key)
            if series is None:
                return None
            if fast_key is not None:
                cache[fast_key] = series
        if labels and all(type(v) is str for v in labels.values()):
            self._hints[kind][name] = (dict(labels), series)
        return series

    def increment(
        self, name: str, value: float = 1.0, labels: Mapping[str, object] | None = None
    ) -> None:
        if type(value) is not float or value != value:
            value = self._number(name, value)
        if value < 0:
            raise _bad(f"counter {name!r} can only go up", metric=name, value=value)
        if labels:
            hint = self._counter_hints.get(name)
            series = hint[1] if hint is not None and hint[0] == labels else None
        else:
            series = self._counters.get(name)
        if series is None:
            series = self._lookup(MetricKind.COUNTER, name, labels)
            if series is None:
                return
        pending = series.pending
        pending.append(value)
        if len(pending) >= BATCH:
            with self._lock:
                series.settle(self._clock())

    def gauge(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        if type(value) is not float or value != value:
            value = self._number(name, value)
        if labels:
            hint = self._gauge_hints.get(name)
            series = hint[1] if hint is not None and hint[0] == labels else None
        else:
            series = self._gauges.get(name)
        if series is None:
            series = self._lookup(MetricKind.GAUGE, name, labels)
            if series is None:
                return
        lock = self._lock
        lock.acquire()
        try:
            series.value = value
            series.history.append((self._clock(), value))
        finally:
            lock.release()

    def observe(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        if type(value) is not float or value != value:
            value = self._number(name, value)
        if labels:
            hint = self._histogram_hints.get(name)
            series = hint[1] if hint is not None and hint[0] == labels else None
        else:
            series = self._histograms.get(name)
        if series is None:
            series = self._lookup(MetricKind.HISTOGRAM, name, labels)
            if series is None:
                return
        series.history.append((self._clock(), value))
        pending = series.pending
        pending.append(value)
        if len(pending) >= BATCH:
            with self._lock:
                series.settle(self._clock())

    # -- reading ----------------------------------------------------------------------
    def value(self, name: str, labels: Mapping[str, object] | None = None) -> float | None:
        """Counter total, gauge value or histogram sum; None when never recorded."""
        key = self._label_key(labels)
        with self._lock:
            metric = self._metrics.get(name)
            series = metric.series.get(key) if metric else None
            if series is None:
                return None
            series.settle(self._clock())
            return series.value

    def count(self, name: str, labels: Mapping[str, object] | None = None) -> int:
        """Number of observations of a histogram series."""
        key = self._label_key(labels)
        with self._lock:
            metric = self._metrics.get(name)
            series = metric.series.get(key) if metric else None
            if series is None:
                return 0
            series.settle(self._clock())
            return series.count

    def history(
        self, name: str, labels: Mapping[str, object] | None = None, since: float | None = None
    ) -> list[tuple[float, float]]:
        """Recent ``(timestamp, value)`` samples of one series, oldest first."""
        key = self._label_key(labels)
        with self._lock:
            metric = self._metrics.get(name)
            series = metric.series.get(key) if metric else None
            if series is not None:
                series.settle(self._clock())
            samples = list(series.history) if series else []
        if since is not None:
            samples = [s for s in samples if s[0] >= since]
        return samples

    def series_labels(self, name: str) -> list[dict[str, str]]:
        with self._lock:
            metric = self._metrics.get(name)
            return [dict(key) for key in metric.series] if metric else []

    def snapshot(self) -> list[SeriesSnapshot]:
        """Every series' current value (and histogram buckets), read in one go."""
        with self._lock:
            for metric in self._metrics.values():
                for series in metric.series.values():
                    series.settle(self._clock())
            return [
                SeriesSnapshot(
                    metric.name,
                    metric.kind,
                    dict(key),
                    series.value,
                    series.count,
                    metric.buckets if metric.kind is MetricKind.HISTOGRAM else (),
                    tuple(series.bucket_counts),
                    series.history[-1][0] if series.history else None,
                )
                for metric in self._metrics.values()
                for key, series in metric.series.items()
            ]

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._metrics)

    def kind(self, name: str) -> MetricKind | None:
        with self._lock:
            metric = self._metrics.get(name)
            return metric.kind if metric else None

    # -- exposition -------------------------------------------------------------------
    def render_prometheus(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._metrics):
                metric = self._metrics[name]
                if metric.help:
                    lines.append(f"# HELP {name} {_escape_help(metric.help)}")
                lines.append(f"# TYPE {name} {metric.kind.value}")
                for key in sorted(metric.series):
                    series = metric.series[key]
                    series.settle(self._clock())
                    if metric.kind is MetricKind.HISTOGRAM:
                        cumulative = 0
                        finite = series.bucket_counts[:-1]
                        for bound, n in zip(metric.buckets, finite, strict=True):
                            cumulative += n
                            le = (*key, ("le", _format_value(bound)))
                            lines.append(f"{name}_bucket{_labels(le)} {cumulative}")
                        inf = (*key, ("le", "+Inf"))
                        lines.append(f"{name}_bucket{_labels(inf)} {series.count}")
                        lines.append(f"{name}_sum{_labels(key)} {_format_value(series.value)}")
                        lines.append(f"{name}_count{_labels(key)} {series.count}")
                    else:
                        lines.append(f"{name}{_labels(key)} {_format_value(series.value)}")
        return "\n".join(lines) + "\n" if lines else ""


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(key: LabelKey) -> str:
    if not key:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in key) + "}"


def _format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
