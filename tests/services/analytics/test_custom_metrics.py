"""Custom metrics: known answers on a hand-written frame, and every kind of bad expression
refused with INVALID_INPUT (never evaluated)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.custom_metrics import (
    MAX_EXPRESSION,
    compile_metric,
    evaluate_metric,
    metric_spec,
)
from auterity_desktop.services.analytics.metric_expressions import parse_expression


@pytest.fixture
def jobs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "shop": ["north", "north", "south", "south", None],
            "labor_hours": [1.0, 2.0, 3.0, 4.0, 5.0],
            "rate": [10, 10, 20, 20, 1],
            "repair_days": [1, 5, 2, 7, 4],
            "labor hours": [1, 1, 1, 1, 1],
            "opened": pd.to_datetime(
                ["2026-01-01", "2026-01-05", "2026-02-01", "2026-02-02", "2026-03-01"]
            ),
            "closed": pd.to_datetime(
                ["2026-01-02", "2026-01-05", "2026-02-03", "2026-02-02", "2026-03-01"]
            ),
        }
    )


def metric(expression: str, **extra: str) -> dict[str, str]:
    return {"name": "m", "expression": expression, **extra}


def test_sum_of_a_row_expression_is_the_default(jobs: pd.DataFrame) -> None:
    assert evaluate_metric(jobs, metric("labor_hours * rate")) == 10 + 20 + 60 + 80 + 5


def test_grouped_sums_keep_empty_keys_last(jobs: pd.DataFrame) -> None:
    per_shop = evaluate_metric(jobs, metric("labor_hours * rate"), ["shop"])
    assert list(per_shop.index[:2]) == ["north", "south"] and pd.isna(per_shop.index[2])
    assert list(per_shop) == [30.0, 140.0, 5.0]


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [
        ("sum", 15.0),
        ("mean", 3.0),
        ("median", 3.0),
        ("min", 1.0),
        ("max", 5.0),
        ("count", 5),
        ("count_distinct", 5),
        ("p90", 4.6),  # linear interpolation between 4 and 5
    ],
)
def test_every_aggregate(jobs: pd.DataFrame, aggregate: str, expected: float) -> None:
    value = evaluate_metric(jobs, metric("labor_hours", aggregate=aggregate))
    assert value == pytest.approx(expected)


def test_a_summed_condition_counts_and_its_mean_is_a_share(jobs: pd.DataFrame) -> None:
    assert evaluate_metric(jobs, metric("repair_days > 3")) == 3
    assert evaluate_metric(jobs, metric("repair_days > 3", aggregate="mean")) == pytest.approx(0.6)
    assert list(evaluate_metric(jobs, metric("repair_days > 3"), ["shop"])) == [1, 1, 1]


def test_count_distinct_ignores_empty_values(jobs: pd.DataFrame) -> None:
    assert evaluate_metric(jobs, metric("shop", aggregate="count_distinct")) == 2
    assert evaluate_metric(jobs, metric("shop", aggregate="count")) == 4


def test_an_aggregating_expression_is_a_true_ratio(jobs: pd.DataFrame) -> None:
    ratio = metric("sum(labor_hours * rate) / sum(labor_hours)")
    assert evaluate_metric(jobs, ratio) == pytest.approx(175 / 15)
    assert list(evaluate_metric(jobs, ratio, ["shop"])) == pytest.approx([10.0, 20.0, 1.0])


def test_the_metric_filter_keeps_every_group(jobs: pd.DataFrame) -> None:
    slow = metric("labor_hours", filter="repair_days > 3 and shop != 'south'")
    assert evaluate_metric(jobs, slow) == 2.0 + 5.0
    per_shop = evaluate_metric(jobs, slow, ["shop"])
    assert list(per_shop) == [2.0, 0.0, 5.0]  # south has no matching row: a zero sum
    mean = evaluate_metric(jobs, {**slow, "aggregate": "mean"}, ["shop"])
    assert mean.iloc[0] == 2.0 and math.isnan(mean.iloc[1])


def test_language_features(jobs: pd.DataFrame) -> None:
    assert evaluate_metric(jobs, metric("`labor hours` * 2")) == 10
    assert evaluate_metric(jobs, metric("shop in ['north', 'west']")) == 2
    assert evaluate_metric(jobs, metric("shop not in ['north']")) == 2  # empty shop excluded
    assert evaluate_metric(jobs, metric("shop == None")) == 1
    assert evaluate_metric(jobs, metric("1 < repair_days < 5")) == 2
    assert evaluate_metric(jobs, metric("rate if repair_days > 3 else 0")) == 10 + 20 + 1
    assert evaluate_metric(jobs, metric("abs(-rate) + round(labor_hours / 3, 1)")) == (
        pytest.approx(61 + 0.3 + 0.7 + 1.0 + 1.3 + 1.7)
    )
    assert evaluate_metric(jobs, metric("coalesce(shop, 'none') == 'none'")) == 1
    assert evaluate_metric(jobs, metric("not (rate > 10)")) == 3
    assert evaluate_metric(jobs, metric("opened >= '2026-02-01'")) == 3
    # datetime minus datetime is in seconds
    assert evaluate_metric(jobs, metric("(closed - opened) / 86400", aggregate="max")) == 2.0
    assert evaluate_metric(jobs, metric("1", aggregate="count")) == 5


def test_positions_point_into_what_was_typed() -> None:
    with pytest.raises(ServiceError) as info:
        parse_expression("  rate + `bad col`", ["rate"], metric="m")
    assert info.value.details["position"] == 9
    assert info.value.details["column"] == "bad col"
    assert info.value.details["metric"] == "m"


@pytest.mark.parametrize(
    ("expression", "reason", "position"),
    [
        ("__import__('os').system('true')", "", 0),
        ("labor_hours.__class__", "attribute access", 0),
        ("rate.real", "attribute access", 0),
        ("[rate][0]", "indexing", 0),
        ("(lambda: 1)()", "", None),
        ("open('/etc/passwd')", "unknown function 'open'", 0),
        ("eval('1')", "unknown function 'eval'", 0),
        ("f'{rate}'", "f-strings", 0),
        ("[x for x in rate]", "comprehensions", 0),
        ("__builtins__", "'__'", 0),
        ("labor_hour * rate", "did you mean 'labor_hours'", 0),
        ("rate * ", "syntax error", 6),
        ("rate +* 2", "syntax error", None),
        ("shop * 2", "needs numbers", 0),
        ("shop > 3", "compares a text column with a number", 0),
        ("rate and shop", "true-or-false", 0),
        ("sum(sum(rate))", "cannot be nested", 4),
        ("sum(rate) / rate", "wrap every column", 12),
        ("sum(rate, rate)", "exactly one argument", 0),
        ("round(rate, rate)", "whole number", 12),
        ("rate ** 99999999999999999999", "larger than", 8),
        ("sum", "is a function", 0),
        ("rate = 1", "syntax error", None),
        ("", "empty", None),
    ],
)
def test_bad_expressions_are_refused(
    jobs: pd.DataFrame, expression: str, reason: str, position: int | None
) -> None:
    with pytest.raises(ServiceError) as info:
        evaluate_metric(jobs, metric(expression))
    error = info.value
    assert error.code is ErrorCode.INVALID_INPUT
    assert reason in error.message
    if error.details.get("field") == "expression" and expression:
        assert error.details["metric"] == "m"
        if position is not None:
            assert error.details["position"] == position


def test_sum_over_text_and_a_non_boolean_filter_are_refused(jobs: pd.DataFrame) -> None:
    with pytest.raises(ServiceError) as text_sum:
        evaluate_metric(jobs, metric("shop"))
    assert text_sum.value.code is ErrorCode.INVALID_INPUT
    assert "sum needs numbers" in text_sum.value.message
    with pytest.raises(ServiceError) as bad_filter:
        evaluate_metric(jobs, metric("rate", filter="rate * 2"))
    assert bad_filter.value.details["field"] == "filter"
    with pytest.raises(ServiceError) as aggregate_filter:
        compile_metric(metric("rate", filter="sum(rate) > 3"))
    assert "not allowed here" in aggregate_filter.value.message


def test_bad_definitions(jobs: pd.DataFrame) -> None:
    for raw, field in [
        ({"expression": "rate"}, "name"),
        ({"name": "m", "expression": "rate", "aggregate": "avg"}, "aggregate"),
        ({"name": "m", "expression": "rate", "colour": "red"}, "colour"),
        ({"name": "m", "expression": 3}, "expression"),
        ({"name": "m", "expression": "sum(rate)", "aggregate": "sum"}, "aggregate"),
    ]:
        with pytest.raises(ServiceError) as info:
            compile_metric(raw, list(jobs.columns))
        assert info.value.code is ErrorCode.INVALID_INPUT
        assert info.value.details["field"] == field
    with pytest.raises(ServiceError) as not_a_frame:
        evaluate_metric([1, 2], metric("rate"))  # type: ignore[arg-type]
    assert not_a_frame.value.code is ErrorCode.INVALID_INPUT


def test_an_overlong_expression_is_too_large() -> None:
    with pytest.raises(ServiceError) as info:
        parse_expression("1 + " * MAX_EXPRESSION + "1")
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_division_by_zero_is_empty_not_an_error(jobs: pd.DataFrame) -> None:
    assert evaluate_metric(jobs, metric("sum(rate) / 0")) is None  # inf is not JSON
    assert metric_spec({"name": " padded ", "expression": "1"}).name == "padded"
