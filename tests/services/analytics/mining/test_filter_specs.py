"""Filters as JSON: applied in order with the same answers as the filter functions, and
every malformed spec reported at once before anything runs."""

from __future__ import annotations

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.filter_specs import apply_filters
from tests.services.analytics.mining.test_filters import ROWS


@pytest.fixture
def log() -> EventLog:
    return EventLog.from_frame(pd.DataFrame(ROWS, columns=["case", "activity", "timestamp"]))


def cases(log: EventLog, specs: list[dict[str, object]]) -> list[str]:
    return apply_filters(log, specs).case_ids()


def test_each_kind_and_their_composition(log: EventLog) -> None:
    assert cases(log, []) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert cases(log, [{"kind": "variants_top_k", "k": 1}]) == ["c3", "c5"]
    assert cases(log, [{"kind": "start_activities", "activities": ["b"]}]) == ["c4"]
    assert cases(log, [{"kind": "end_activities", "activities": ["d"], "retain": False}]) == [
        "c1", "c2", "c3", "c4", "c5"
    ]  # fmt: skip
    assert cases(log, [{"kind": "case_size", "min": 4}]) == ["c6"]
    assert cases(log, [{"kind": "case_duration", "max_seconds": 3 * 3600}]) == [
        "c1", "c3", "c5", "c6"
    ]  # fmt: skip
    assert cases(log, [{"kind": "directly_follows", "pairs": [["b", "a"]]}]) == ["c4"]
    assert cases(log, [{"kind": "attribute", "attribute": "activity", "values": ["d"]}]) == ["c6"]
    window = {"kind": "time_range", "start": "2026-01-02 00:00", "end": "2026-01-04 23:59",
              "mode": "traces_contained"}  # fmt: skip
    assert cases(log, [window]) == ["c2", "c3"]
    # in order: short cases first, then of those the ones that start with a
    both = [{"kind": "case_size", "max": 2}, {"kind": "start_activities", "activities": ["a"]}]
    assert cases(log, both) == ["c3", "c5"]
    kept = apply_filters(log, [{"kind": "activities_percentage", "percentage": 0.5}])
    assert set(kept.activities()) <= {"a", "b", "c"} and kept.n_events < log.n_events


def test_every_problem_is_reported_before_anything_runs(log: EventLog) -> None:
    specs = [
        {"kind": "variants_top_k", "k": 0},
        {"kind": "teleport"},
        {"kind": "case_duration", "max_seconds": "a day"},
        {"kind": "start_activities"},
        {"kind": "directly_follows", "pairs": [["a"]], "extra": 1},
        "not an object",
    ]
    with pytest.raises(ServiceError) as info:
        apply_filters(log, specs)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_INPUT
    found = [(p["index"], p["field"]) for p in info.value.details["problems"]]
    assert found == [(0, "k"), (1, "kind"), (2, "max_seconds"), (3, "activities"),
                     (4, "pairs"), (4, "extra"), (5, None)]  # fmt: skip
    assert info.value.message.startswith("7 problem(s) in the filters; filter 1 k must be")
    with pytest.raises(ServiceError) as info:
        apply_filters(log, {"kind": "case_size"})  # type: ignore[arg-type]
    assert "must be a list" in info.value.message
    with pytest.raises(ServiceError) as info:
        apply_filters(log, [{"kind": "case_size"}] * 51)
    assert "at most 50" in info.value.message


def test_a_value_the_filter_refuses_names_the_filter(log: EventLog) -> None:
    backwards = {"kind": "time_range", "start": "2026-02-01", "end": "2026-01-01"}
    with pytest.raises(ServiceError) as info:
        apply_filters(log, [{"kind": "case_size"}, backwards])
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.message.startswith("Filter 2 (time_range): The time range ends")
    assert info.value.details["index"] == 1
    with pytest.raises(ServiceError) as info:
        apply_filters(log, [{"kind": "attribute", "attribute": "colour", "values": ["red"]}])
    assert "no attribute 'colour'" in info.value.message
