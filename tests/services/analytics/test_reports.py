"""Custom reports: known answers per group and in total, every filter op, exhaustive spec
validation and the size limits."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics import reports
from auterity_desktop.services.analytics.reports import (
    ReportResult,
    build_report,
    report_problems,
    report_spec,
)


@pytest.fixture
def jobs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "shop": ["north", "north", "south", "south", "west", None],
            "tech": ["ann", "bob", "ann", "ann", "cid", "bob"],
            "labor_hours": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "rate": [10, 10, 20, 20, 30, 1],
            "repair_days": [1, 5, 2, 7, 4, None],
            "warranty": [True, False, False, True, False, False],
            "opened": pd.to_datetime(
                ["2026-01-01", "2026-01-05", "2026-02-01", "2026-02-02", "2026-03-01", "2026-03-02"]
            ),
        }
    )


REVENUE = {"name": "revenue", "expression": "labor_hours * rate"}
SLOW = {"name": "slow jobs", "expression": "repair_days > 3"}
RATE = {"name": "effective rate", "expression": "sum(labor_hours * rate) / sum(labor_hours)"}


def test_one_row_per_group_and_totals_over_all_rows(jobs: pd.DataFrame) -> None:
    result = build_report(
        jobs,
        {"title": "Shops", "metrics": [REVENUE, SLOW, RATE], "groupBy": ["shop"]},
    )
    assert result.columns == ["shop", "revenue", "slow jobs", "effective rate"]
    assert result.rows == (
        {"shop": "north", "revenue": 30.0, "slow jobs": 1, "effective rate": 10.0},
        {"shop": "south", "revenue": 140.0, "slow jobs": 1, "effective rate": 20.0},
        {"shop": "west", "revenue": 150.0, "slow jobs": 1, "effective rate": 30.0},
        {"shop": None, "revenue": 6.0, "slow jobs": 0, "effective rate": 1.0},
    )
    # totals are computed over the rows, not summed from the groups (the ratio stays right)
    assert result.totals == {"revenue": 326.0, "slow jobs": 3, "effective rate": 326.0 / 21.0}
    assert (result.source_rows, result.matched_rows, result.title) == (6, 6, "Shops")
    json.dumps(result.to_dict(), allow_nan=False)
    assert ReportResult.from_dict(result.to_dict()) == result
    assert list(result.to_frame()["revenue"]) == [30.0, 140.0, 150.0, 6.0]


def test_two_group_columns_and_group_by_spelling(jobs: pd.DataFrame) -> None:
    result = build_report(jobs, {"metrics": [REVENUE], "group_by": ["shop", "tech"]})
    assert [(r["shop"], r["tech"], r["revenue"]) for r in result.rows] == [
        ("north", "ann", 10.0),
        ("north", "bob", 20.0),
        ("south", "ann", 140.0),
        ("west", "cid", 150.0),
        (None, "bob", 6.0),
    ]
    assert result.title == reports.DEFAULT_TITLE


def test_without_groups_the_table_is_the_totals_row(jobs: pd.DataFrame) -> None:
    result = build_report(jobs, {"metrics": [REVENUE, {**SLOW, "aggregate": "mean"}]})
    assert result.rows == ({"revenue": 326.0, "slow jobs": 0.5},)  # 3 of the 6 rows
    assert result.totals == result.rows[0]


@pytest.mark.parametrize(
    ("condition", "shops"),
    [
        ({"column": "shop", "op": "==", "value": "north"}, ["north", "north"]),
        ({"column": "shop", "op": "!=", "value": "north"}, ["south", "south", "west"]),
        ({"column": "rate", "op": "<", "value": 20}, ["north", "north", None]),
        ({"column": "rate", "op": "<=", "value": 20}, ["north", "north", "south", "south", None]),
        ({"column": "rate", "op": ">", "value": 20}, ["west"]),
        ({"column": "rate", "op": ">=", "value": 20}, ["south", "south", "west"]),
        ({"column": "tech", "op": "in", "value": ["cid", "bob"]}, ["north", "west", None]),
        ({"column": "shop", "op": "not_in", "value": ["north", "south"]}, ["west"]),
        ({"column": "shop", "op": "contains", "value": "OUT"}, ["south", "south"]),
        ({"column": "repair_days", "op": "between", "value": [2, 4]}, ["south", "west"]),
        ({"column": "repair_days", "op": "is_null"}, [None]),
        ({"column": "shop", "op": "not_null"}, ["north", "north", "south", "south", "west"]),
        ({"column": "warranty", "op": "==", "value": True}, ["north", "south"]),
        ({"column": "opened", "op": ">=", "value": "2026-02-02"}, ["south", "west", None]),
        (
            {"column": "opened", "op": "between", "value": ["2026-01-02", "2026-02-01"]},
            ["north", "south"],
        ),
    ],
)
def test_filter_ops(jobs: pd.DataFrame, condition: dict[str, Any], shops: list[str]) -> None:
    result = build_report(
        jobs,
        {
            "metrics": [{"name": "n", "expression": "1", "aggregate": "count"}],
            "filters": [condition],
            "groupBy": ["shop"],
        },
    )
    counted = [shop for row in result.rows for shop in [row["shop"]] * row["n"]]
    assert counted == shops
    assert result.matched_rows == len(shops)


def test_filters_combine_and_empty_matches_are_noted(jobs: pd.DataFrame) -> None:
    both = build_report(
        jobs,
        {
            "metrics": [REVENUE],
            "filters": [
                {"column": "tech", "op": "==", "value": "ann"},
                {"column": "warranty", "op": "==", "value": False},
            ],
        },
    )
    assert both.totals == {"revenue": 60.0} and both.matched_rows == 1
    none = build_report(
        jobs,
        {
            "metrics": [REVENUE],
            "groupBy": ["shop"],
            "filters": [{"column": "rate", "op": ">", "value": 99}],
        },
    )
    assert none.rows == () and none.totals == {"revenue": 0.0}
    assert none.notes == ("no rows match the filters",)


def test_every_problem_is_listed_at_once(jobs: pd.DataFrame) -> None:
    spec = {
        "title": 7,
        "metrics": [
            {"name": "a", "expression": "nope * 2"},
            {"name": "a", "expression": "rate"},
            {"name": "b", "expression": "shop * 2"},
            {"name": "c", "expression": "rate.__class__"},
            {"name": "d", "expression": "rate", "aggregate": "avg"},
            {"name": "shop", "expression": "rate"},
        ],
        "filters": [
            {"column": "shop", "op": "like", "value": "n%"},
            {"column": "rate", "op": "==", "value": "ten"},
            {"column": "missing", "op": "is_null"},
            {"column": "rate", "op": "between", "value": [5, 1]},
            {"column": "shop", "op": "in", "value": "north"},
            {"column": "rate", "op": "contains", "value": "1"},
            {"column": "shop", "op": "is_null", "value": 3},
            {"column": "warranty", "op": ">", "value": True},
            {"column": "opened", "op": ">", "value": "not a date"},
            {"column": "shop", "op": "==", "value": None},
            "not an object",
        ],
        "groupBy": ["shop", "shop", "zone"],
        "sortBy": "revenue",
    }
    with pytest.raises(ServiceError) as info:
        build_report(jobs, spec)
    assert info.value.code is ErrorCode.INVALID_INPUT
    problems = info.value.details["problems"]
    paths = [p["path"] for p in problems]
    assert paths == [
        "sortBy",
        "title",
        "groupBy[1]",
        "groupBy[2]",
        "metrics[0].expression",
        "metrics[1].name",
        "metrics[2].expression",
        "metrics[3].expression",
        "metrics[4].aggregate",
        "metrics[5].name",
        "filters[0].op",
        "filters[1].value",
        "filters[2].column",
        "filters[3].value",
        "filters[4].value",
        "filters[5].value",
        "filters[6].value",
        "filters[7].value",
        "filters[8].value",
        "filters[9].value",
        "filters[10]",
    ]
    by_path = {p["path"]: p for p in problems}
    assert by_path["metrics[0].expression"]["column"] == "nope"
    assert by_path["metrics[0].expression"]["position"] == 0
    assert "needs numbers" in by_path["metrics[2].expression"]["message"]
    assert "attribute access" in by_path["metrics[3].expression"]["message"]
    assert "is_null" in by_path["filters[9].value"]["message"]
    assert "(and 20 more)" in info.value.message
    assert report_problems(spec) != []  # without data: only the shape is checked


def test_spec_shape_problems() -> None:
    for spec, path in [
        ("metrics", ""),
        ({"metrics": []}, "metrics"),
        ({"metrics": [REVENUE], "groupBy": "shop"}, "groupBy"),
        ({"metrics": [REVENUE], "groupBy": [], "group_by": []}, "group_by"),
        ({"metrics": [REVENUE], "filters": {"column": "shop"}}, "filters"),
        ({"metrics": ["revenue"]}, "metrics[0]"),
    ]:
        problems = report_problems(spec)
        assert problems and problems[0]["path"] == path, (spec, problems)
    assert report_spec({"metrics": [REVENUE]}).to_dict()["groupBy"] == []


def test_limits_are_payload_too_large(jobs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    many = {"metrics": [{"name": f"m{i}", "expression": "rate"} for i in range(10_000)]}
    long_list = {
        "metrics": [REVENUE],
        "filters": [{"column": "rate", "op": "in", "value": list(range(100_000))}],
    }
    long_text = {"metrics": [{"name": "m", "expression": "rate + " * 1_000 + "1"}]}
    deep = {"metrics": [REVENUE], "groupBy": [f"c{i}" for i in range(50)]}
    for spec in (many, long_list, long_text, deep):
        with pytest.raises(ServiceError) as info:
            build_report(jobs, spec)
        assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    monkeypatch.setattr(reports, "MAX_ROWS", 3)
    with pytest.raises(ServiceError) as rows:
        build_report(jobs, {"metrics": [REVENUE], "groupBy": ["shop"]})
    assert rows.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert rows.value.details == {"what": "rows (groups)", "count": 4, "limit": 3}
    monkeypatch.setattr(reports, "MAX_SOURCE_CELLS", 10)
    with pytest.raises(ServiceError) as cells:
        build_report(jobs, {"metrics": [REVENUE]})
    assert cells.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_bad_data(jobs: pd.DataFrame) -> None:
    with pytest.raises(ServiceError) as not_frame:
        build_report({"rate": [1]}, {"metrics": [REVENUE]})  # type: ignore[arg-type]
    assert not_frame.value.code is ErrorCode.INVALID_INPUT
    repeated = pd.concat([jobs[["rate"]], jobs[["rate"]]], axis=1)
    with pytest.raises(ServiceError) as twice:
        build_report(repeated, {"metrics": [{"name": "r", "expression": "rate"}]})
    assert twice.value.code is ErrorCode.INVALID_INPUT
    assert twice.value.details["columns"] == ["rate"]
    with pytest.raises(ServiceError) as bad_result:
        ReportResult.from_dict({"rows": []})
    assert bad_result.value.code is ErrorCode.INVALID_INPUT
