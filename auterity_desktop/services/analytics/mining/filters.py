"""Event-log filters: pure functions ``EventLog -> EventLog`` with pm4py's semantics.

Each works on whole columns (numpy masks over events, per-case reductions with
``np.*.reduceat``) and keeps the canonical order, so a filtered log is again a valid
``EventLog`` and the algorithms need no re-sort. Case and activity categories that no
event uses any more are dropped, so ``activities()`` lists only what is left.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.event_log import (
    ACTIVITY,
    CASE,
    EventLog,
)

TimeMode = Literal["events", "traces_contained", "traces_intersecting"]
Level = Literal["event", "case"]


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def _keep_events(log: EventLog, mask: np.ndarray) -> EventLog:
    frame = log.frame.loc[mask].reset_index(drop=True)
    for column in (CASE, ACTIVITY):
        frame[column] = frame[column].cat.remove_unused_categories()
    return EventLog(frame, log.name, dict(log.source))


def _case_of_event(log: EventLog) -> np.ndarray:
    """For each event, the position of its case in ``case_starts``."""
    starts, ends = log.case_starts(), log.case_ends()
    return np.repeat(np.arange(len(starts)), ends - starts)


def _keep_cases(log: EventLog, case_mask: np.ndarray) -> EventLog:
    return _keep_events(log, case_mask[_case_of_event(log)])


def _instant(value: datetime | str | float | int | pd.Timestamp, name: str) -> np.int64:
    """A bound as UTC nanoseconds; naive datetimes are UTC like the log's own."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            stamp = pd.Timestamp(value, unit="s", tz="UTC")
        else:
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    except (ValueError, TypeError):
        raise _invalid(f"{name} is not a date and time: {value!r}", argument=name) from None
    if stamp is pd.NaT:
        raise _invalid(f"{name} is not a date and time: {value!r}", argument=name)
    try:
        return np.int64(stamp.value)
    except OverflowError:  # beyond 2262, the end of nanosecond timestamps
        raise _invalid(f"{name} is out of the supported range: {value!r}", argument=name) from None


def filter_time_range(
    log: EventLog,
    start: datetime | str | float | pd.Timestamp,
    end: datetime | str | float | pd.Timestamp,
    mode: TimeMode = "events",
) -> EventLog:
    """pm4py's ``filter_time_range`` (bounds inclusive): ``events`` keeps the events in
    [start, end]; ``traces_contained`` keeps cases whose first and last events both fall
    inside; ``traces_intersecting`` keeps cases whose span [first, last] overlaps it."""
    low, high = _instant(start, "start"), _instant(end, "end")
    if low > high:
        raise _invalid("The time range ends before it starts", start=str(start), end=str(end))
    stamps = log.timestamps_ns()
    if mode == "events":
        return _keep_events(log, (stamps >= low) & (stamps <= high))
    if len(stamps) == 0:
        return log
    starts = log.case_starts()
    first = np.minimum.reduceat(stamps, starts)
    last = np.maximum.reduceat(stamps, starts)
    if mode == "traces_contained":
        return _keep_cases(log, (first >= low) & (last <= high))
    if mode == "traces_intersecting":
        return _keep_cases(log, (first <= high) & (last >= low))
    raise _invalid(
        f"Unknown time-range mode {mode!r}",
        mode=str(mode),
        allowed=["events", "traces_contained", "traces_intersecting"],
    )


def _variant_of_case(log: EventLog) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
    """Distinct variants, each case's variant index and each variant's case count."""
    traces = log.traces()
    index: dict[tuple[str, ...], int] = {}
    of_case = np.fromiter((index.setdefault(t, len(index)) for t in traces), np.int64, len(traces))
    counts = np.bincount(of_case, minlength=len(index))
    return list(index), of_case, counts


def filter_variants(
    log: EventLog, variants: Iterable[Iterable[str]], *, retain: bool = True
) -> EventLog:
    """Keep (or with ``retain=False`` drop) the cases whose activity sequence is listed."""
    wanted = {tuple(v) for v in variants}
    mask = np.array([t in wanted for t in log.traces()], dtype=bool)
    return _keep_cases(log, mask if retain else ~mask)


def filter_variants_top_k(log: EventLog, k: int) -> EventLog:
    """The cases of the ``k`` most frequent variants. Ties are broken like pm4py: sorted
    by (count, variant) descending, so of two equally frequent variants the one whose
    activity tuple sorts later stays."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise _invalid("k must be a whole number ≥ 0", k=repr(k))
    variants, of_case, counts = _variant_of_case(log)
    order = sorted(range(len(variants)), key=lambda i: (counts[i], variants[i]), reverse=True)
    keep = np.zeros(len(variants), dtype=bool)
    keep[order[:k]] = True
    return _keep_cases(log, keep[of_case])


def filter_variants_by_coverage_percentage(log: EventLog, min_coverage: float) -> EventLog:
    """The cases of the variants that each cover at least ``min_coverage`` (a fraction,
    0.4 = 40 %) of all cases, as pm4py's ``filter_variants_by_coverage_percentage``."""
    if not 0.0 <= float(min_coverage) <= 1.0:
        raise _invalid("min_coverage is a fraction between 0 and 1", min_coverage=min_coverage)
    _, of_case, counts = _variant_of_case(log)
    keep = counts >= float(min_coverage) * log.n_cases
    return _keep_cases(log, keep[of_case])


def _activity_mask(log: EventLog, activities: Collection[str], name: str) -> np.ndarray:
    if isinstance(activities, str):
        raise _invalid(f"{name} must be a list of activity names, not one string", argument=name)
    names = log.activities()
    chosen = np.isin(np.array(names, dtype=object), np.array(list(activities), dtype=object))
    codes = log.activity_codes()
    if len(codes) == 0:
        return np.zeros(0, dtype=bool)
    mask: np.ndarray = chosen[codes] if len(names) else np.zeros(len(codes), dtype=bool)
    return mask


def filter_start_activities(
    log: EventLog, activities: Collection[str], *, retain: bool = True
) -> EventLog:
    """Keep (or drop) the cases whose first activity is one of ``activities``."""
    hit = _activity_mask(log, activities, "activities")[log.case_starts()]
    return _keep_cases(log, hit if retain else ~hit)


def filter_end_activities(
    log: EventLog, activities: Collection[str], *, retain: bool = True
) -> EventLog:
    """Keep (or drop) the cases whose last activity is one of ``activities``."""
    hit = _activity_mask(log, activities, "activities")[log.case_ends() - 1]
    return _keep_cases(log, hit if retain else ~hit)


def filter_event_attribute_values(
    log: EventLog,
    attribute: str,
    values: Collection[Any],
    *,
    level: Level = "case",
    retain: bool = True,
) -> EventLog:
    """pm4py's ``filter_event_attribute_values``: at ``level="event"`` keep (or drop) the
    events whose ``attribute`` is in ``values``; at ``level="case"`` keep the cases with at
    least one such event (or, with ``retain=False``, drop those cases)."""
    if attribute not in log.frame.columns:
        raise _invalid(
            f"The log has no attribute {attribute!r}",
            attribute=attribute,
            attributes=[str(c) for c in log.frame.columns],
        )
    if isinstance(values, str):
        raise _invalid("values must be a list of values, not one string", attribute=attribute)
    hit = log.frame[attribute].isin(list(values)).to_numpy(dtype=bool)
    if level == "event":
        return _keep_events(log, hit if retain else ~hit)
    if level != "case":
        raise _invalid(f"Unknown level {level!r}", level=str(level), allowed=["event", "case"])
    if len(hit) == 0:
        return log
    any_hit = np.logical_or.reduceat(hit, log.case_starts())
    return _keep_cases(log, any_hit if retain else ~any_hit)


def filter_case_size(log: EventLog, min_size: int = 1, max_size: int | None = None) -> EventLog:
    """Cases with between ``min_size`` and ``max_size`` events (both inclusive)."""
    if min_size < 0 or (max_size is not None and max_size < min_size):
        raise _invalid("Case size bounds need 0 ≤ min ≤ max", min_size=min_size, max_size=max_size)
    sizes = log.case_ends() - log.case_starts()
    keep = sizes >= min_size
    if max_size is not None:
        keep &= sizes <= max_size
    return _keep_cases(log, keep)


def case_durations(log: EventLog) -> np.ndarray:
    """Seconds from each case's first to its last timestamp (pm4py's case duration)."""
    stamps = log.timestamps_ns()
    if len(stamps) == 0:
        return np.zeros(0, dtype=np.float64)
    starts = log.case_starts()
    span = np.maximum.reduceat(stamps, starts) - np.minimum.reduceat(stamps, starts)
    durations: np.ndarray = span / 1e9
    return durations


def filter_case_performance(
    log: EventLog, min_seconds: float = 0.0, max_seconds: float = math.inf
) -> EventLog:
    """Cases whose duration lies in [min_seconds, max_seconds], as pm4py's
    ``filter_case_performance``."""
    if min_seconds < 0 or max_seconds < min_seconds:
        raise _invalid(
            "Duration bounds need 0 ≤ min ≤ max", min_seconds=min_seconds, max_seconds=max_seconds
        )
    durations = case_durations(log)
    return _keep_cases(log, (durations >= min_seconds) & (durations <= max_seconds))


def filter_directly_follows_relation(
    log: EventLog, relations: Collection[tuple[str, str]], *, retain: bool = True
) -> EventLog:
    """Keep (or drop) the cases in which some listed ``a`` is directly followed by ``b``."""
    pairs = list(relations)
    if any(len(p) != 2 for p in pairs):
        raise _invalid("Each relation is a pair (a, b) of activity names")
    codes = log.activity_codes().astype(np.int64)
    n_cases = log.n_cases
    if len(codes) < 2 or not pairs:
        mask = np.zeros(n_cases, dtype=bool)
        return _keep_cases(log, mask if retain else ~mask)
    index = {name: i for i, name in enumerate(log.activities())}
    width = len(index)
    wanted = np.array(
        [index[a] * width + index[b] for a, b in pairs if a in index and b in index],
        dtype=np.int64,
    )
    case = _case_of_event(log)
    same_case = case[1:] == case[:-1]
    edge = codes[:-1] * width + codes[1:]
    hit_at = same_case & np.isin(edge, wanted)
    mask = np.zeros(n_cases, dtype=bool)
    mask[case[:-1][hit_at]] = True
    return _keep_cases(log, mask if retain else ~mask)


def filter_activities_percentage(log: EventLog, percentage: float) -> EventLog:
    """Keep the events of the most frequent activities, as many as pm4py's
    ``filter_dfg_activities_percentage`` keeps at least: ``ceil((n - 1) * percentage) + 1``
    of the ``n`` activities, ranked by event count, ties by name descending (pm4py's sort).
    Cases left with no events disappear. Unlike the DFG filter this does not keep extra
    activities to hold the graph together: that pass belongs to DFG discovery."""
    if not 0.0 <= float(percentage) <= 1.0:
        raise _invalid("percentage is a fraction between 0 and 1", percentage=percentage)
    codes = log.activity_codes()
    names = log.activities()
    if len(names) <= 1:
        return log
    counts = np.bincount(codes, minlength=len(names))
    ranked = sorted(range(len(names)), key=lambda i: (counts[i], names[i]), reverse=True)
    keep = np.zeros(len(names), dtype=bool)
    keep[ranked[: math.ceil((len(names) - 1) * float(percentage)) + 1]] = True
    return _keep_events(log, keep[codes])
