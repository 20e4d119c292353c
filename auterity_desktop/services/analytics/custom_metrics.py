"""Custom metrics: a named expression over a data set's columns, aggregated with pandas.

A metric is ``{name, expression, aggregate?, filter?}``:

* ``expression`` is computed for every row at once (``labor_hours * rate``,
  ``repair_days > 3``) and then reduced per group by ``aggregate`` — one of ``AGGREGATES``,
  ``sum`` when omitted. A boolean summed is a count of the rows where it holds, averaged a
  share. ``count`` counts non-empty values, ``count_distinct`` distinct ones, ``p90`` is the
  linearly interpolated 90th percentile.
* An expression may instead aggregate by itself, for ratios no single reduction gives:
  ``sum(revenue) / sum(labor_hours)``. Every column must then sit inside an aggregate call,
  and ``aggregate`` must be left out.
* ``filter`` is a boolean expression; rows where it is false or empty do not count for this
  metric, but the group still appears (with 0 for sums and counts, empty otherwise).

The expression language and its safety argument are in ``metric_expressions``. Mistakes are
``ServiceError(INVALID_INPUT)`` naming the metric, the field and the position; an expression
longer than ``MAX_EXPRESSION`` is ``PAYLOAD_TOO_LARGE``.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.metric_expressions import (
    AGGREGATES,
    MAX_EXPRESSION,
    Evaluator,
    Expression,
    Where,
    as_float,
    broadcast,
    describe,
    kind_of,
    parse_expression,
    seconds,
)

__all__ = [
    "AGGREGATES",
    "DEFAULT_AGGREGATE",
    "MAX_EXPRESSION",
    "CompiledMetric",
    "MetricSpec",
    "compile_metric",
    "evaluate_metric",
    "json_value",
    "metric_spec",
    "spec_problems",
]

DEFAULT_AGGREGATE = "sum"
METRIC_KEYS = ("name", "expression", "aggregate", "filter")
MAX_NAME = 100

_ZERO_WHEN_EMPTY = ("sum", "count", "count_distinct")
_NUMERIC_ONLY = ("sum", "mean", "median", "min", "max", "p90")


def json_value(value: Any) -> Any:
    """A cell as JSON: numpy scalars to Python, NaN and infinities to None, times to ISO."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    expression: str
    aggregate: str | None = None
    filter: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "expression": self.expression}
        if self.aggregate is not None:
            out["aggregate"] = self.aggregate
        if self.filter is not None:
            out["filter"] = self.filter
        return out


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def spec_problems(raw: Any) -> list[tuple[str, str]]:
    """Every shape problem of one metric definition as (field, message); empty when fine.
    Collected rather than raised so a report can list all its mistakes at once."""
    if isinstance(raw, MetricSpec):
        raw = raw.to_dict()
    if not isinstance(raw, Mapping):
        return [("", f"a metric must be an object, not {type(raw).__name__}")]
    problems = [(str(k), f"unknown key {str(k)!r}") for k in raw if k not in METRIC_KEYS]
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(("name", "name must be a non-empty string"))
    elif len(name) > MAX_NAME:
        problems.append(("name", f"name is longer than {MAX_NAME} characters"))
    if not isinstance(raw.get("expression"), str) or not raw["expression"].strip():
        problems.append(("expression", "expression must be a non-empty string"))
    aggregate = raw.get("aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        problems.append(
            ("aggregate", f"unknown aggregate {aggregate!r}; use one of {', '.join(AGGREGATES)}")
        )
    condition = raw.get("filter")
    if condition is not None and (not isinstance(condition, str) or not condition.strip()):
        problems.append(("filter", "filter must be a non-empty string when given"))
    return problems


def metric_spec(raw: Mapping[str, Any] | MetricSpec) -> MetricSpec:
    """The definition checked for shape (not yet against any columns)."""
    problems = spec_problems(raw)
    if problems:
        field, message = problems[0]
        name = raw.get("name") if isinstance(raw, Mapping) else None
        raise _invalid(
            f"metric {name!r}: {message}" if isinstance(name, str) else message,
            metric=name if isinstance(name, str) else None,
            field=field,
            problems=[{"field": f, "message": m} for f, m in problems],
        )
    if isinstance(raw, MetricSpec):
        return raw
    return MetricSpec(
        name=str(raw["name"]).strip(),
        expression=str(raw["expression"]),
        aggregate=raw.get("aggregate"),
        filter=raw.get("filter"),
    )


# -- aggregation -------------------------------------------------------------------------------
def _reduce_values(values: pd.Series, how: str, groups: pd.Series | None, n_groups: int) -> Any:
    """Reduce ``values`` overall (``groups`` None: a scalar) or per group code 0..n-1 (a
    Series of n values; groups without rows get 0 for sums and counts, NaN otherwise)."""
    if how == "count":
        reduced = values.groupby(groups).count() if groups is not None else values.count()
    elif how == "count_distinct":
        reduced = values.groupby(groups).nunique() if groups is not None else values.nunique()
    else:
        target: Any = values.groupby(groups) if groups is not None else values
        if how == "p90":
            reduced = target.quantile(0.9)
        elif how == "sum":
            reduced = target.sum(min_count=0)
        else:
            reduced = getattr(target, how)()
    if groups is None:
        return reduced
    fill = 0 if how in _ZERO_WHEN_EMPTY else np.nan
    return reduced.reindex(range(n_groups), fill_value=fill)


def _numeric_for(values: Any, how: str, where: Where, node: ast.AST | None) -> Any:
    kind = kind_of(values)
    if how in _NUMERIC_ONLY and kind not in ("number", "bool"):
        raise where.error(f"{how} needs numbers; the expression gives {describe(values)}", node)
    values = seconds(values)
    if kind == "bool" and how in _NUMERIC_ONLY:  # a count of true rows stays whole
        values = values.astype("Int64" if how == "sum" else "float64")
    return values


@dataclass(frozen=True)
class CompiledMetric:
    """A metric checked against a set of columns, ready to evaluate on frames with them."""

    spec: MetricSpec
    expression: Expression
    filter: Expression | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def aggregate(self) -> str | None:
        """The reduction applied to the row expression; None when the expression aggregates."""
        if self.expression.aggregated:
            return None
        return self.spec.aggregate or DEFAULT_AGGREGATE

    def _where(self, field: str) -> Where:
        text = self.spec.expression if field == "expression" else self.spec.filter or ""
        return Where(text, self.spec.name, field)

    def row_values(self, frame: pd.DataFrame) -> pd.Series:
        """The row-level expression for every row of ``frame`` (not for aggregating ones)."""
        where = self._where("expression")
        value = Evaluator(frame, self.expression, where).eval(self.expression.tree)
        return broadcast(value, frame.index)

    def mask(self, frame: pd.DataFrame) -> pd.Series | None:
        """Which rows count for this metric; None when it has no filter."""
        if self.filter is None:
            return None
        where = self._where("filter")
        value = Evaluator(frame, self.filter, where).eval(self.filter.tree)
        if kind_of(value) != "bool":
            raise where.error(f"the filter must be true or false, not {describe(value)}", 0)
        return broadcast(value, frame.index).fillna(False).astype(bool)

    def evaluate(
        self, frame: pd.DataFrame, groups: pd.Series | None = None, n_groups: int = 0
    ) -> Any:
        """The metric over ``frame``: a scalar without ``groups``; with ``groups`` (an int
        group code per row, 0..n_groups-1) a Series of ``n_groups`` values."""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                return self._evaluate(frame, groups, n_groups)
            except (TypeError, ValueError, ArithmeticError) as exc:  # mixed-type columns
                raise self._where("expression").error(f"cannot be computed: {exc}") from None

    def _evaluate(self, frame: pd.DataFrame, groups: pd.Series | None, n_groups: int) -> Any:
        mask = self.mask(frame)
        rows = frame if mask is None else frame[mask]
        codes = None if groups is None else (groups if mask is None else groups[mask])
        where = self._where("expression")
        if not self.expression.aggregated:
            how = self.aggregate or DEFAULT_AGGREGATE
            values = _numeric_for(self.row_values(rows), how, where, None)
            return _reduce_values(values, how, codes, n_groups)

        def reduce(value: Any, how: str, node: ast.AST) -> Any:
            values = _numeric_for(broadcast(value, rows.index), how, where, node)
            return as_float(_reduce_values(values, how, codes, n_groups))

        result = Evaluator(rows, self.expression, where, reduce).eval(self.expression.tree)
        if groups is not None and not isinstance(result, pd.Series):
            result = pd.Series([result] * n_groups, index=range(n_groups))
        return result


def compile_metric(
    raw: Mapping[str, Any] | MetricSpec, columns: Collection[str] | None = None
) -> CompiledMetric:
    """Check a definition and its expressions (against ``columns`` when given)."""
    spec = metric_spec(raw)
    expression = parse_expression(spec.expression, columns, metric=spec.name)
    if expression.aggregated and spec.aggregate is not None:
        raise Where(spec.expression, spec.name, "aggregate").error(
            "leave aggregate out when the expression already aggregates"
        )
    condition = None
    if spec.filter is not None:
        condition = parse_expression(
            spec.filter, columns, metric=spec.name, field="filter", allow_aggregates=False
        )
    return CompiledMetric(spec, expression, condition)


def evaluate_metric(
    data: pd.DataFrame, raw: Mapping[str, Any] | MetricSpec, group_by: Sequence[str] = ()
) -> Any:
    """One metric over ``data``: a JSON-ready scalar, or with ``group_by`` a Series indexed by
    the group keys (sorted; empty keys last)."""
    if not isinstance(data, pd.DataFrame):
        raise _invalid(f"data must be a pandas DataFrame, not {type(data).__name__}")
    metric = compile_metric(raw, [str(c) for c in data.columns])
    frame = data.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    if not group_by:
        return json_value(metric.evaluate(frame))
    missing = [c for c in group_by if c not in frame.columns]
    if missing:
        raise _invalid(f"unknown group column {missing[0]!r}", column=missing[0])
    grouped = frame.groupby(list(group_by), dropna=False, sort=True)
    codes = grouped.ngroup()
    values = metric.evaluate(frame, codes, grouped.ngroups)
    keys = grouped.size().index
    return pd.Series(list(values), index=keys, name=metric.name)
