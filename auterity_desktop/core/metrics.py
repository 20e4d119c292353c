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
from collections.abc import Callable, Iterable, Mapping
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

LabelKey = tuple[tuple[str, str], ...]


class MetricKind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass
class _Series:
    value: float = 0.0  # counter total, gauge value, histogram sum
    count: int = 0  # histogram observations
    bucket_counts: list[int] = field(default_factory=list)
    history: deque[tuple[float, float]] = field(default_factory=deque)


@dataclass
class _Metric:
    name: str
    kind: MetricKind
    help: str
    buckets: tuple[float, ...]
    series: dict[LabelKey, _Series] = field(default_factory=dict)
    dropped: int = 0


def _bad(message: str, **details: object) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, dict(details))


class MetricsCollector:
    """``increment``, ``observe`` and ``gauge``, as in the platform's catalogue."""

    def __init__(self, history_size: int = 720, clock: Callable[[], float] = time.time) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()
        self._history_size = history_size
        self._clock = clock

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
            series = _Series(history=deque(maxlen=self._history_size))
            if metric.kind is MetricKind.HISTOGRAM:
                series.bucket_counts = [0] * len(metric.buckets)
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
    def increment(
        self, name: str, value: float = 1.0, labels: Mapping[str, object] | None = None
    ) -> None:
        value = self._number(name, value)
        if value < 0:
            raise _bad(f"counter {name!r} can only go up", metric=name, value=value)
        key = self._label_key(labels)
        with self._lock:
            series = self._series(self._metric(name, MetricKind.COUNTER), key)
            if series is not None:
                series.value += value
                series.history.append((self._clock(), series.value))

    def gauge(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        value = self._number(name, value)
        key = self._label_key(labels)
        with self._lock:
            series = self._series(self._metric(name, MetricKind.GAUGE), key)
            if series is not None:
                series.value = value
                series.history.append((self._clock(), value))

    def observe(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        value = self._number(name, value)
        key = self._label_key(labels)
        with self._lock:
            metric = self._metric(name, MetricKind.HISTOGRAM)
            series = self._series(metric, key)
            if series is not None:
                series.value += value
                series.count += 1
                index = bisect.bisect_left(metric.buckets, value)
                if index < len(series.bucket_counts):
                    series.bucket_counts[index] += 1
                series.history.append((self._clock(), value))

    # -- reading ----------------------------------------------------------------------
    def value(self, name: str, labels: Mapping[str, object] | None = None) -> float | None:
        """Counter total, gauge value or histogram sum; None when never recorded."""
        key = self._label_key(labels)
        with self._lock:
            metric = self._metrics.get(name)
            series = metric.series.get(key) if metric else None
            return series.value if series else None

    def count(self, name: str, labels: Mapping[str, object] | None = None) -> int:
        """Number of observations of a histogram series."""
        key = self._label_key(labels)
        with self._lock:
            metric = self._metrics.get(name)
            series = metric.series.get(key) if metric else None
            return series.count if series else 0

    def history(
        self, name: str, labels: Mapping[str, object] | None = None, since: float | None = None
    ) -> list[tuple[float, float]]:
        """Recent ``(timestamp, value)`` samples of one series, oldest first."""
        key = self._label_key(labels)
        with self._lock:
            metric = self._metrics.get(name)
            series = metric.series.get(key) if metric else None
            samples = list(series.history) if series else []
        if since is not None:
            samples = [s for s in samples if s[0] >= since]
        return samples

    def series_labels(self, name: str) -> list[dict[str, str]]:
        with self._lock:
            metric = self._metrics.get(name)
            return [dict(key) for key in metric.series] if metric else []

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
                    if metric.kind is MetricKind.HISTOGRAM:
                        cumulative = 0
                        for bound, n in zip(metric.buckets, series.bucket_counts, strict=True):
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
