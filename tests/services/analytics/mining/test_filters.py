"""Filters against known answers. The expected cases come from pm4py 2.7.23.11 run on the
same log (``pm4py.format_dataframe`` then the ``pm4py.filter_*`` of the same name), computed
once in a throwaway venv and hard-coded here; pm4py is not a project dependency."""

from __future__ import annotations

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining import filters as f
from auterity_desktop.services.analytics.mining.event_log import EventLog

ROWS = [
    ("c1", "a", "2026-01-01 08:00"), ("c1", "b", "2026-01-01 09:00"),
    ("c1", "c", "2026-01-01 10:00"),
    ("c2", "a", "2026-01-02 08:00"), ("c2", "b", "2026-01-02 08:30"),
    ("c2", "c", "2026-01-02 12:00"),
    ("c3", "a", "2026-01-03 08:00"), ("c3", "c", "2026-01-03 09:00"),
    ("c4", "b", "2026-01-04 08:00"), ("c4", "a", "2026-01-04 08:10"),
    ("c4", "c", "2026-01-05 08:00"),
    ("c5", "a", "2026-01-05 09:00"), ("c5", "c", "2026-01-05 10:00"),
    ("c6", "a", "2026-01-06 07:00"), ("c6", "b", "2026-01-06 07:05"),
    ("c6", "c", "2026-01-06 07:10"), ("c6", "d", "2026-01-06 07:20"),
]  # fmt: skip


@pytest.fixture
def log() -> EventLog:
    frame = pd.DataFrame(ROWS, columns=["case", "activity", "timestamp"])
    return EventLog.from_frame(frame)


def _cases(log: EventLog) -> list[str]:
    return log.case_ids()


def test_variants_top_k_and_coverage_match_pm4py(log: EventLog) -> None:
    # ties at equal count go to the later-sorting variant: ("a","c") beats ("a","b","c")
    assert _cases(f.filter_variants_top_k(log, 1)) == ["c3", "c5"]
    assert _cases(f.filter_variants_top_k(log, 2)) == ["c1", "c2", "c3", "c5"]
    assert _cases(f.filter_variants_top_k(log, 3)) == ["c1", "c2", "c3", "c4", "c5"]
    assert _cases(f.filter_variants_top_k(log, 0)) == []
    assert _cases(f.filter_variants_by_coverage_percentage(log, 0.3)) == ["c1", "c2", "c3", "c5"]
    assert _cases(f.filter_variants_by_coverage_percentage(log, 0.1)) == _cases(log)
    assert _cases(f.filter_variants(log, [("a", "c")], retain=False)) == ["c1", "c2", "c4", "c6"]


@pytest.mark.parametrize(
    ("mode", "events", "cases"),
    [
        ("events", 7, ["c2", "c3", "c4", "c5"]),
        ("traces_contained", 5, ["c3", "c4"]),
        ("traces_intersecting", 10, ["c2", "c3", "c4", "c5"]),
    ],
)
def test_time_range_modes_match_pm4py(
    log: EventLog, mode: f.TimeMode, events: int, cases: list[str]
) -> None:
    out = f.filter_time_range(log, "2026-01-02 09:00:00", "2026-01-05 09:30:00", mode)
    assert out.n_events == events and _cases(out) == cases


def test_start_end_and_directly_follows_match_pm4py(log: EventLog) -> None:
    assert _cases(f.filter_start_activities(log, ["b"])) == ["c4"]
    assert _cases(f.filter_end_activities(log, ["d"])) == ["c6"]
    assert _cases(f.filter_end_activities(log, ["d"], retain=False)) == ["c1", "c2", "c3",
                                                                         "c4", "c5"]  # fmt: skip
    assert _cases(f.filter_directly_follows_relation(log, [("a", "b")])) == ["c1", "c2", "c6"]
    dropped = f.filter_directly_follows_relation(log, [("a", "b")], retain=False)
    assert _cases(dropped) == ["c3", "c4", "c5"]
    # c → a never happens directly, and the last event of c1 and first of c2 are no pair
    assert _cases(f.filter_directly_follows_relation(log, [("c", "a"), ("x", "y")])) == []


def test_case_size_performance_and_attributes_match_pm4py(log: EventLog) -> None:
    assert _cases(f.filter_case_size(log, 3, 3)) == ["c1", "c2", "c4"]
    assert _cases(f.filter_case_performance(log, 0, 7200)) == ["c1", "c3", "c5", "c6"]
    by_event = f.filter_event_attribute_values(log, "activity", ["b"], level="event")
    assert by_event.n_events == 4 and _cases(by_event) == ["c1", "c2", "c4", "c6"]
    assert by_event.activities() == ["b"]  # unused categories are dropped
    by_case = f.filter_event_attribute_values(log, "activity", ["b"], level="case")
    assert _cases(by_case) == ["c1", "c2", "c4", "c6"] and by_case.n_events == 13
    dropped = f.filter_event_attribute_values(log, "activity", ["b"], level="case", retain=False)
    assert _cases(dropped) == ["c3", "c5"]
    removed = f.filter_event_attribute_values(log, "activity", ["b"], level="event", retain=False)
    assert removed.n_events == 13 and removed.n_cases == 6


def test_filtered_log_keeps_canonical_order(log: EventLog) -> None:
    out = f.filter_case_size(log, 3)
    assert out.traces() == [("a", "b", "c"), ("a", "b", "c"), ("b", "a", "c"),
                            ("a", "b", "c", "d")]  # fmt: skip
    assert list(out.frame["row"]) == sorted(out.frame["row"])
    assert list(out.case_starts()) == [0, 3, 6, 9]


def test_activities_percentage(log: EventLog) -> None:
    # counts a=6, c=6, b=4, d=1; ceil(3 * 0.5) + 1 = 3 activities stay
    out = f.filter_activities_percentage(log, 0.5)
    assert out.activities() == ["a", "b", "c"] and out.n_events == 16
    assert f.filter_activities_percentage(log, 0.0).activities() == ["c"]  # c beats a by name
    assert f.filter_activities_percentage(log, 1.0).n_events == 17


def test_bad_arguments_are_clear_errors(log: EventLog) -> None:
    calls = [
        lambda: f.filter_time_range(log, "2026-02-01", "2026-01-01"),
        lambda: f.filter_time_range(log, "not a date", "2026-01-01"),
        lambda: f.filter_time_range(log, 0, 10**11),
        lambda: f.filter_time_range(log, "2026-01-01", "2026-02-01", "weird"),  # type: ignore[arg-type]
        lambda: f.filter_variants_top_k(log, -1),
        lambda: f.filter_variants_by_coverage_percentage(log, 1.5),
        lambda: f.filter_start_activities(log, "a"),
        lambda: f.filter_event_attribute_values(log, "colour", ["red"]),
        lambda: f.filter_event_attribute_values(log, "activity", ["a"], level="trace"),  # type: ignore[arg-type]
        lambda: f.filter_case_size(log, 3, 2),
        lambda: f.filter_case_performance(log, 10, 5),
        lambda: f.filter_activities_percentage(log, 2),
    ]
    for call in calls:
        with pytest.raises(ServiceError) as info:
            call()
        assert info.value.code is ErrorCode.INVALID_INPUT


def test_filters_accept_an_empty_log(log: EventLog) -> None:
    empty = f.filter_case_size(log, 99)
    assert empty.n_events == 0
    assert f.filter_time_range(empty, 0, 2 * 10**9, "traces_contained").n_events == 0
    assert f.filter_directly_follows_relation(empty, [("a", "b")]).n_cases == 0
    assert f.filter_event_attribute_values(empty, "activity", ["a"]).n_cases == 0
