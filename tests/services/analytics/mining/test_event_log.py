"""The canonical event log: mapping, typing, the sort order pm4py uses, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.event_log import ACTIVITY, CASE, EventLog


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Case ID": ["10", "2", "10", "2", "2", None],
            "Step": ["b", "a", "a", "c", "b", "x"],
            "When": [
                "2026-03-01 10:00", "2026-03-01 09:00", "2026-03-01 10:00",
                "2026-03-01 09:30", "2026-03-01 09:10", "2026-03-01 11:00",
            ],
            "Who": ["ann", "bob", "ann", "bob", "cy", "dee"],
        }
    )  # fmt: skip


def test_mapping_sorts_by_case_then_time_then_row() -> None:
    log = EventLog.from_frame(_frame(), case="Case ID", activity="Step", timestamp="When",
                              resource="Who")  # fmt: skip
    # the row without a case is dropped; "10" sorts before "2" as strings (as pm4py does);
    # the two events of case 10 at the same time keep their row order (b before a)
    assert log.n_events == 5
    assert log.case_ids() == ["10", "2"]
    assert log.traces() == [("b", "a"), ("a", "b", "c")]
    assert log.variants() == {("b", "a"): 1, ("a", "b", "c"): 1}
    assert list(log.case_starts()) == [0, 2] and list(log.case_ends()) == [2, 5]
    assert log.frame[CASE].dtype == "category" and log.frame[ACTIVITY].dtype == "category"
    assert str(log.frame["timestamp"].dt.tz) == "UTC"
    assert not log.has_start


def test_missing_column_and_bad_timestamp_are_clear_errors() -> None:
    with pytest.raises(ServiceError) as missing:
        EventLog.from_frame(_frame(), case="Case", activity="Step", timestamp="When")
    assert missing.value.code is ErrorCode.INVALID_INPUT
    assert missing.value.details["missing"] == ["Case"]
    bad = _frame()
    bad.loc[3, "When"] = "yesterday-ish"
    with pytest.raises(ServiceError) as info:
        EventLog.from_frame(bad, case="Case ID", activity="Step", timestamp="When")
    assert info.value.details == {"column": "When", "row": 4, "value": "yesterday-ish"}


def test_an_empty_log_has_no_cases() -> None:
    log = EventLog.from_frame(_frame().iloc[:0], case="Case ID", activity="Step", timestamp="When")
    assert log.n_events == 0 and log.n_cases == 0 and log.traces() == []
