"""Case durations, cycle/service/waiting time, bottlenecks, rework and throughput.

Values marked "pm4py 2.7.23.11" were computed with pm4py 2.7.23.11 in a throwaway venv on
the same frames (``mining_logs``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.performance import (
    bottlenecks,
    case_durations,
    case_times,
    rework_cases,
    throughput,
)

from .mining_logs import intervals_frame, running_example_frame, traces_frame


def _running() -> EventLog:
    return EventLog.from_frame(running_example_frame())


def test_case_durations_match_pm4py() -> None:
    durations = case_durations(_running())
    # pm4py 2.7.23.11 pm4py.get_all_case_durations
    assert durations.sorted_seconds() == [520920.0, 703320.0, 779580.0, 852300.0,
                                          1368780.0, 1576440.0]  # fmt: skip
    assert durations.durations["2"] == 779580.0  # 9 days 33 minutes
    summary = json.loads(json.dumps(durations.to_dict()))["summary"]
    assert summary["min"] == 520920.0 and summary["max"] == 1576440.0


def test_service_and_waiting_time_match_pm4py() -> None:
    times = case_times(EventLog.from_frame(intervals_frame(), start="start_timestamp"))
    # pm4py 2.7.23.11 insert_case_service_waiting_time(start_timestamp_key="start_timestamp")
    assert times.has_start
    assert times.cases["A"].to_dict() == {"cycle": 10800.0, "service": 10800.0, "waiting": 0.0}
    assert times.cases["B"].to_dict() == {"cycle": 522000.0, "service": 5400.0,
                                          "waiting": 516600.0}  # fmt: skip
    assert times.to_dict()["summary"]["service"]["mean"] == 8100.0


def test_without_start_times_service_is_zero_and_cycle_is_the_duration() -> None:
    log = _running()
    times = case_times(log)
    assert not times.has_start
    assert {k: v.cycle for k, v in times.cases.items()} == case_durations(log).durations
    assert all(v.service == 0.0 for v in times.cases.values())


def test_bottlenecks_rank_by_total_time() -> None:
    top = bottlenecks(_running(), top=2)
    assert [(b.source, b.target) for b in top] == [
        ("decide", "pay compensation"),
        ("check ticket", "decide"),
    ]
    assert top[0].total_seconds == pytest.approx(top[0].mean_seconds * top[0].count)
    assert top[1].to_dict()["total_seconds"] == 1091760.0
    assert len(bottlenecks(_running(), top=None)) == 16


def test_rework_matches_pm4py() -> None:
    # pm4py 2.7.23.11 pm4py.get_rework_cases_per_activity
    assert rework_cases(_running()) == {"check ticket": 2, "decide": 2, "examine casually": 1,
                                        "reinitiate request": 1}  # fmt: skip


def test_throughput_per_day_and_week() -> None:
    log = EventLog.from_frame(intervals_frame(), start="start_timestamp")
    daily = throughput(log, "day")
    assert daily.periods[0].to_dict() == {"start": "2026-01-05", "cases_completed": 1,
                                          "events": 3}  # fmt: skip
    assert len(daily.periods) == 8 and daily.periods[-1].start == "2026-01-12"
    assert daily.periods[3].events == 0  # empty days stay in the series
    weekly = throughput(_running(), "week")
    assert [p.start for p in weekly.periods][:2] == ["2010-12-27", "2011-01-03"]  # Mondays
    assert [p.cases_completed for p in weekly.periods] == [0, 2, 3, 0, 1]
    assert sum(p.events for p in weekly.periods) == 42
    with pytest.raises(ServiceError):
        throughput(log, "month")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abc"), min_size=1, max_size=8).map(" ".join),
                min_size=1, max_size=15))  # fmt: skip
def test_per_case_figures_cover_every_case(traces: list[str]) -> None:
    log = EventLog.from_frame(traces_frame([(f"k{i}", t) for i, t in enumerate(traces)]))
    durations = case_durations(log).durations
    assert len(durations) == log.n_cases and all(v >= 0 for v in durations.values())
    weekly = throughput(log, "day")
    assert sum(p.cases_completed for p in weekly.periods) == log.n_cases
    rework = rework_cases(log)
    expected: dict[str, int] = {}
    for trace in log.traces():
        for activity in {a for a in trace if trace.count(a) > 1}:
            expected[activity] = expected.get(activity, 0) + 1
    assert rework == expected
