"""How long cases take, where the time goes, and how much work flows through per period.

All per-case figures come from ``np.*.reduceat`` over the case runs of the sorted log, so a
million events cost a few array passes. The definitions are pm4py's (2.7.x) so numbers can
be checked against it: case duration is ``get_all_case_durations`` (last minus first
completion); service, sojourn and waiting time are ``insert_case_service_waiting_time``;
rework is ``get_rework_cases_per_activity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.discovery import (
    EdgeStats,
    discover_performance_dfg,
)
from auterity_desktop.services.analytics.mining.event_log import START, EventLog

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS


def _summary(values: np.ndarray) -> dict[str, float | None]:
    if len(values) == 0:
        return {"mean": None, "median": None, "min": None, "max": None}
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


# -- case durations -------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseDurations:
    """Seconds from each case's first to its last completion, by case id (log order)."""

    durations: dict[str, float]

    def sorted_seconds(self) -> list[float]:
        """The list pm4py's ``get_all_case_durations`` returns (ascending)."""
        return sorted(self.durations.values())

    def to_dict(self) -> dict[str, Any]:
        values = np.fromiter(self.durations.values(), dtype=np.float64, count=len(self.durations))
        return {"durations": dict(self.durations), "summary": _summary(values)}


def case_durations(log: EventLog) -> CaseDurations:
    stamps = log.timestamps_ns()
    starts, ends = log.case_starts(), log.case_ends()
    seconds = (stamps[ends - 1] - stamps[starts]) / _NS
    return CaseDurations(dict(zip(log.case_ids(), seconds.tolist(), strict=True)))


# -- cycle, service and waiting time ------------------------------------------------------
@dataclass(frozen=True)
class CaseTime:
    """``cycle`` (pm4py's sojourn) = last completion - first start; ``service`` = the sum of
    each event's completion - start; ``waiting`` = cycle - service. Negative waiting means
    activities overlapped (parallel work), exactly as pm4py reports it."""

    cycle: float
    service: float
    waiting: float

    def to_dict(self) -> dict[str, float]:
        return {"cycle": self.cycle, "service": self.service, "waiting": self.waiting}


@dataclass(frozen=True)
class CaseTimes:
    cases: dict[str, CaseTime]
    has_start: bool  # without start timestamps service is 0 and cycle is the case duration

    def to_dict(self) -> dict[str, Any]:
        def column(name: str) -> np.ndarray:
            return np.array([getattr(t, name) for t in self.cases.values()], dtype=np.float64)

        return {
            "has_start": self.has_start,
            "cases": {k: v.to_dict() for k, v in self.cases.items()},
            "summary": {name: _summary(column(name)) for name in ("cycle", "service", "waiting")},
        }


def case_times(log: EventLog) -> CaseTimes:
    """Per case cycle, service and waiting time in seconds. Without a start column each
    event starts when it completes (pm4py's default), so service time is 0."""
    complete = log.timestamps_ns()
    if log.has_start:
        start = log.frame[START].to_numpy(dtype="datetime64[ns]").view(np.int64)
        start = np.where(log.frame[START].isna().to_numpy(), complete, start)
    else:
        start = complete
    starts = log.case_starts()
    if len(starts) == 0:
        return CaseTimes({}, log.has_start)
    service = np.add.reduceat((complete - start) / _NS, starts)
    cycle = (np.maximum.reduceat(complete, starts) - np.minimum.reduceat(start, starts)) / _NS
    waiting = cycle - service
    cases = {
        case: CaseTime(c, s, w)
        for case, c, s, w in zip(
            log.case_ids(), cycle.tolist(), service.tolist(), waiting.tolist(), strict=True
        )
    }
    return CaseTimes(cases, log.has_start)


# -- bottlenecks ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bottleneck:
    """A directly-follows edge and the total time spent on it (mean × frequency)."""

    source: str
    target: str
    count: int
    mean_seconds: float
    median_seconds: float
    total_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "count": self.count,
            "mean_seconds": self.mean_seconds,
            "median_seconds": self.median_seconds,
            "total_seconds": self.total_seconds,
        }


def bottlenecks(
    log: EventLog,
    top: int | None = 10,
    performance: dict[tuple[str, str], EdgeStats] | None = None,
) -> list[Bottleneck]:
    """Edges ranked by mean time × frequency: pm4py has no bottleneck function and the
    research anchors recommend this ranking, since a slow but rare edge costs less in total
    than a moderately slow one every case passes. Pass ``performance`` to reuse a computed
    performance DFG."""
    perf = discover_performance_dfg(log) if performance is None else performance
    ranked = sorted(
        (
            Bottleneck(a, b, s.count, s.mean, s.median, s.mean * s.count)
            for (a, b), s in perf.items()
        ),
        key=lambda x: (-x.total_seconds, x.source, x.target),
    )
    return ranked if top is None else ranked[:top]


# -- rework ---------------------------------------------------------------------------------
def rework_cases(log: EventLog) -> dict[str, int]:
    """For each activity that some case repeats, how many cases repeat it (pm4py's
    ``get_rework_cases_per_activity``)."""
    names = log.activities()
    n = len(names)
    if log.n_events == 0:
        return {}
    starts = log.case_starts()
    case_index = np.repeat(np.arange(len(starts), dtype=np.int64), log.case_ends() - starts)
    keys = case_index * n + log.activity_codes()
    pairs, counts = np.unique(keys, return_counts=True)
    repeated = np.bincount(pairs[counts > 1] % n, minlength=n)
    return {names[i]: int(repeated[i]) for i in np.flatnonzero(repeated)}


# -- throughput -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ThroughputPeriod:
    start: str  # ISO date (UTC) of the first day of the period
    cases_completed: int
    events: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "cases_completed": self.cases_completed, "events": self.events}


@dataclass(frozen=True)
class Throughput:
    period: str  # "day" or "week" (weeks start on Monday)
    periods: list[ThroughputPeriod]

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "periods": [p.to_dict() for p in self.periods]}


def throughput(log: EventLog, period: Literal["day", "week"] = "day") -> Throughput:
    """Cases completed (by their last event) and events per UTC day or Monday-based week,
    including empty periods between the first and the last, so a chart shows gaps."""
    if period not in ("day", "week"):
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"Unknown period {period!r}", {"period": period}
        )
    if log.n_events == 0:
        return Throughput(period, [])
    days = np.floor_divide(log.timestamps_ns(), _DAY_NS)
    # 1970-01-01 was a Thursday: shift by 3 days so bucket boundaries fall on Mondays
    bucket = (days + 3) // 7 if period == "week" else days
    completed = bucket[log.case_ends() - 1]
    low = int(bucket.min())
    size = int(bucket.max()) - low + 1
    events = np.bincount(bucket - low, minlength=size)
    cases = np.bincount(completed - low, minlength=size)
    first_day = (np.arange(size) + low) * 7 - 3 if period == "week" else np.arange(size) + low
    labels = np.datetime_as_string(first_day.astype("datetime64[D]"))
    return Throughput(
        period,
        [
            ThroughputPeriod(str(d), int(c), int(e))
            for d, c, e in zip(labels, cases.tolist(), events.tolist(), strict=True)
        ],
    )
