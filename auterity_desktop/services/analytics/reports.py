"""Custom reports: filters, groups and custom metrics over a data set, as one table plus totals.

A spec is ``{title?, metrics: [...], filters: [...], groupBy: [...]}`` (``group_by`` is
accepted too, not both). Metrics are ``custom_metrics`` definitions. Filters are
``{column, op, value}``, all of which must hold; ``op`` is one of ``OPS``:

* ``== != < <= > >=`` compare with one value (a date string for a datetime column);
* ``in``/``not_in`` take a list, ``between`` a ``[low, high]`` pair (both ends included);
* ``contains`` is a case-insensitive substring test on a text column;
* ``is_null``/``not_null`` take no value.

Empty cells match only ``is_null``: ``status != 'failed'`` does not keep rows without a
status, as in SQL, so a filter never lets unknown data in by accident.

``build_report`` answers a ``ReportResult``: one row per group (groups sorted, an empty key
last), one column per metric, and totals computed over all matching rows — not summed from
the rows, so means, percentiles and ratios are right. Without ``groupBy`` the table is the
single totals row.

Why validation lists every problem at once (``details["problems"]``, each with a ``path``
such as ``metrics[2].expression``): the report editor shows them all beside their fields,
instead of making the user fix one mistake per round trip. Limits (``MAX_*``) answer
``PAYLOAD_TOO_LARGE`` before any work is done where they can be known from the spec, and
after grouping for the number of result rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.custom_metrics import (
    MAX_EXPRESSION,
    CompiledMetric,
    MetricSpec,
    compile_metric,
    json_value,
    metric_spec,
    spec_problems,
)
from auterity_desktop.services.analytics.metric_expressions import kind_of

OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "between", "is_null",
       "not_null")  # fmt: skip
SPEC_KEYS = ("title", "metrics", "filters", "groupBy", "group_by")
FILTER_KEYS = ("column", "op", "value")
MAX_METRICS = 50
MAX_FILTERS = 50
MAX_GROUP_BY = 5
MAX_FILTER_VALUES = 1_000
MAX_TITLE = 200
MAX_SOURCE_CELLS = 5_000_000
MAX_ROWS = 10_000
MAX_CELLS = 200_000
DEFAULT_TITLE = "Report"

_ORDERING = ("<", "<=", ">", ">=")
Problem = dict[str, Any]


@dataclass(frozen=True)
class FilterSpec:
    column: str
    op: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "op": self.op}
        if self.op not in ("is_null", "not_null"):
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return out


@dataclass(frozen=True)
class ReportSpec:
    title: str
    metrics: tuple[MetricSpec, ...]
    filters: tuple[FilterSpec, ...] = ()
    group_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "metrics": [m.to_dict() for m in self.metrics],
            "filters": [f.to_dict() for f in self.filters],
            "groupBy": list(self.group_by),
        }


@dataclass(frozen=True)
class ReportResult:
    """The report table; every value is JSON-ready (numbers, strings, booleans or None)."""

    title: str
    group_by: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]
    rows: tuple[dict[str, Any], ...]
    totals: dict[str, Any]
    filters: tuple[FilterSpec, ...] = ()
    source_rows: int = 0
    matched_rows: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    @property
    def columns(self) -> list[str]:
        return [*self.group_by, *self.metric_names]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "groupBy": list(self.group_by),
            "metrics": [m.to_dict() for m in self.metrics],
            "filters": [f.to_dict() for f in self.filters],
            "columns": self.columns,
            "rows": [dict(r) for r in self.rows],
            "totals": dict(self.totals),
            "source_rows": self.source_rows,
            "matched_rows": self.matched_rows,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ReportResult:
        """The inverse of ``to_dict``, so a result that travelled as JSON can be exported."""
        try:
            return cls(
                title=str(raw.get("title") or DEFAULT_TITLE),
                group_by=tuple(str(c) for c in raw.get("groupBy", raw.get("group_by", []))),
                metrics=tuple(metric_spec(m) for m in raw["metrics"]),
                rows=tuple(dict(r) for r in raw["rows"]),
                totals=dict(raw.get("totals") or {}),
                filters=tuple(FilterSpec(**f) for f in raw.get("filters", [])),
                source_rows=int(raw.get("source_rows", 0)),
                matched_rows=int(raw.get("matched_rows", 0)),
                notes=tuple(str(n) for n in raw.get("notes", [])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"not a report result: {exc}", {"reason": str(exc)}
            ) from None


# -- checking ----------------------------------------------------------------------------------
def _too_large(what: str, count: int, limit: int) -> ServiceError:
    return ServiceError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"the report has {count} {what}; the limit is {limit}",
        {"what": what, "count": count, "limit": limit},
    )


def _check_sizes(raw: Any) -> None:
    """Refuse an oversized spec before validating any part of it."""
    if not isinstance(raw, Mapping):
        return
    for key, limit in (("metrics", MAX_METRICS), ("filters", MAX_FILTERS),
                       ("groupBy", MAX_GROUP_BY), ("group_by", MAX_GROUP_BY)):  # fmt: skip
        items = raw.get(key)
        if isinstance(items, Sequence) and not isinstance(items, str) and len(items) > limit:
            raise _too_large(key, len(items), limit)
    for item in _items(raw.get("metrics")):
        for key in ("expression", "filter"):
            text = item.get(key) if isinstance(item, Mapping) else None
            if isinstance(text, str) and len(text) > MAX_EXPRESSION:
                raise _too_large(f"characters in a metric {key}", len(text), MAX_EXPRESSION)
    for item in _items(raw.get("filters")):
        value = item.get("value") if isinstance(item, Mapping) else None
        if isinstance(value, list | tuple) and len(value) > MAX_FILTER_VALUES:
            raise _too_large("values in one filter", len(value), MAX_FILTER_VALUES)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _group_key(raw: Mapping[str, Any]) -> str:
    return "group_by" if "group_by" in raw and "groupBy" not in raw else "groupBy"


def _scalar_problem(value: Any, kind: str, column: str) -> str | None:
    """Why ``value`` cannot be compared with a ``kind`` column, or None when it can."""
    if value is None:
        return "a value is needed; use is_null or not_null to test for empty cells"
    if not isinstance(value, str | int | float | bool):
        return f"a value must be a string, number or boolean, not {type(value).__name__}"
    if isinstance(value, float) and not math.isfinite(value):
        return "a value must be a finite number"
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"column {column!r} holds numbers; {value!r} is not a number"
    if kind == "bool" and not isinstance(value, bool):
        return f"column {column!r} holds true/false; {value!r} is not a boolean"
    if kind == "text" and not isinstance(value, str):
        return f"column {column!r} holds text; {value!r} is not a string"
    if kind == "datetime":
        if not isinstance(value, str):
            return f"column {column!r} holds dates; give the value as a date string"
        try:
            pd.Timestamp(value)
        except (TypeError, ValueError):
            return f"{value!r} is not a date"
    return None


def _filter_problems(item: Any, path: str, kinds: Mapping[str, str] | None) -> list[Problem]:
    if not isinstance(item, Mapping):
        return [{"path": path, "message": "a filter must be an object {column, op, value}"}]
    problems: list[Problem] = [
        {"path": f"{path}.{k}", "message": f"unknown key {str(k)!r}"}
        for k in item
        if k not in FILTER_KEYS
    ]
    column, op, value = item.get("column"), item.get("op"), item.get("value")
    kind = "mixed"
    if not isinstance(column, str) or not column:
        problems.append({"path": f"{path}.column", "message": "column must be a column name"})
    elif kinds is not None and column not in kinds:
        problems.append({"path": f"{path}.column", "message": f"unknown column {column!r}",
                         "column": column})  # fmt: skip
    elif kinds is not None:
        kind = kinds[column]
    if op not in OPS:
        problems.append({"path": f"{path}.op",
                         "message": f"unknown op {op!r}; use one of {', '.join(OPS)}"})  # fmt: skip
        return problems
    name = column if isinstance(column, str) else ""
    messages: list[str] = []
    if op in ("is_null", "not_null"):
        if value is not None:
            messages.append(f"{op} takes no value")
    elif op in ("in", "not_in"):
        if not isinstance(value, list | tuple):
            messages.append(f"{op} needs a list of values")
        else:
            messages += [m for v in value if (m := _scalar_problem(v, kind, name))][:1]
    elif op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            messages.append("between needs a list of two values [low, high]")
        else:
            messages += [m for v in value if (m := _scalar_problem(v, kind, name))][:1]
            if kind == "bool":
                messages.append(f"between cannot order true/false column {name!r}")
            elif not messages and _greater(value[0], value[1]):
                messages.append("between's low value is above its high value")
    elif op == "contains":
        if not isinstance(value, str) or not value:
            messages.append("contains needs a non-empty string")
        elif kind not in ("text", "mixed"):
            messages.append(f"contains works on text, and column {name!r} holds {kind}s")
    else:
        problem = _scalar_problem(value, kind, name)
        if problem:
            messages.append(problem)
        elif op in _ORDERING and kind == "bool":
            messages.append(f"{op} cannot order true/false column {name!r}")
    problems += [{"path": f"{path}.value", "message": m} for m in messages]
    return problems


def _greater(low: Any, high: Any) -> bool:
    try:
        if isinstance(low, str) and isinstance(high, str):
            try:
                return bool(pd.Timestamp(low) > pd.Timestamp(high))
            except (TypeError, ValueError):
                return low > high
        return bool(low > high)
    except TypeError:
        return False


def _metric_problems(
    items: list[Any], frame: pd.DataFrame | None, group_by: list[str]
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = f"metrics[{i}]"
        shape = spec_problems(item)
        problems += [{"path": f"{path}.{f}" if f else path, "message": m} for f, m in shape]
        if shape:
            continue
        name = str(item["name"]).strip() if isinstance(item, Mapping) else item.name
        if name in seen:
            problems.append({"path": f"{path}.name", "message": f"duplicate metric {name!r}"})
        elif name in group_by:
            problems.append({"path": f"{path}.name",
                             "message": f"{name!r} is also a group column"})  # fmt: skip
        seen.add(name)
        try:
            compiled = compile_metric(item, None if frame is None else list(frame.columns))
            if frame is not None:
                compiled.evaluate(frame.iloc[:0])  # the operand types, without the work
        except ServiceError as exc:
            if exc.code is ErrorCode.PAYLOAD_TOO_LARGE:
                raise
            problem: Problem = {"path": f"{path}.{exc.details.get('field', 'expression')}",
                                "message": exc.details.get("reason", exc.message)}  # fmt: skip
            for key in ("position", "column"):
                if exc.details.get(key) is not None:
                    problem[key] = exc.details[key]
            problems.append(problem)
    return problems


def report_problems(raw: Any, data: pd.DataFrame | None = None) -> list[Problem]:
    """Every problem of a spec, each ``{path, message}`` (plus ``position`` or ``column``
    when known); checked against ``data``'s columns and types when it is given. Raises
    ``PAYLOAD_TOO_LARGE`` for a spec beyond the limits."""
    _check_sizes(raw)
    if isinstance(raw, ReportSpec):
        raw = raw.to_dict()
    if not isinstance(raw, Mapping):
        return [{"path": "", "message": f"a report must be an object, not {type(raw).__name__}"}]
    frame = None if data is None else _string_columns(data)
    kinds = None if frame is None else {c: kind_of(frame[c]) for c in frame.columns}
    problems: list[Problem] = [
        {"path": str(k), "message": f"unknown key {str(k)!r}"} for k in raw if k not in SPEC_KEYS
    ]
    if "groupBy" in raw and "group_by" in raw:
        problems.append({"path": "group_by", "message": "give groupBy or group_by, not both"})
    title = raw.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
        message = f"title must be a string of at most {MAX_TITLE} characters"
        problems.append({"path": "title", "message": message})
    key = _group_key(raw)
    group_by = raw.get(key, [])
    names: list[str] = []
    if not isinstance(group_by, list | tuple):
        problems.append({"path": key, "message": f"{key} must be a list of column names"})
    else:
        for i, column in enumerate(group_by):
            if not isinstance(column, str) or not column:
                problems.append({"path": f"{key}[{i}]", "message": "must be a column name"})
            elif column in names:
                problems.append({"path": f"{key}[{i}]", "message": f"{column!r} is repeated"})
            elif kinds is not None and column not in kinds:
                problems.append({"path": f"{key}[{i}]", "column": column,
                                 "message": f"unknown column {column!r}"})  # fmt: skip
            else:
                names.append(column)
    metrics = raw.get("metrics")
    if not isinstance(metrics, list | tuple) or not metrics:
        problems.append({"path": "metrics", "message": "metrics must be a non-empty list"})
    else:
        problems += _metric_problems(list(metrics), frame, names)
    filters = raw.get("filters", [])
    if not isinstance(filters, list | tuple):
        problems.append({"path": "filters", "message": "filters must be a list"})
    else:
        for i, item in enumerate(filters):
            problems += _filter_problems(item, f"filters[{i}]", kinds)
    return problems


def _raise_problems(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"the report spec is not valid: {first['path'] or 'spec'}: {first['message']}{more}",
            {"problems": problems},
        )


def report_spec(
    raw: Mapping[str, Any] | ReportSpec, data: pd.DataFrame | None = None
) -> ReportSpec:
    """The spec validated (against ``data`` when given) and normalised."""
    _raise_problems(report_problems(raw, data))
    if isinstance(raw, ReportSpec):
        return raw
    return ReportSpec(
        title=str(raw.get("title") or DEFAULT_TITLE),
        metrics=tuple(metric_spec(m) for m in raw["metrics"]),
        filters=tuple(
            FilterSpec(f["column"], f["op"], _freeze(f.get("value")))
            for f in raw.get("filters", [])
        ),
        group_by=tuple(raw.get(_group_key(raw), [])),
    )


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# -- building ----------------------------------------------------------------------------------
def _string_columns(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"data must be a pandas DataFrame, not {type(data).__name__}",
            {"type": type(data).__name__},
        )
    frame = data.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"the data has repeated column names: {', '.join(repeated[:5])}",
            {"columns": repeated[:20]},
        )
    return frame


def _timestamp(value: Any, series: pd.Series) -> Any:
    stamp = pd.Timestamp(value)
    tz = series.dt.tz
    if tz is not None and stamp.tzinfo is None:
        return stamp.tz_localize(tz)
    if tz is None and stamp.tzinfo is not None:
        return stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _filter_mask(frame: pd.DataFrame, spec: FilterSpec) -> pd.Series:
    column = frame[spec.column]
    if spec.op == "is_null":
        return column.isna()
    present = column.notna()
    if spec.op == "not_null":
        return present
    value = spec.value
    if kind_of(column) == "datetime":
        if isinstance(value, tuple):
            value = tuple(_timestamp(v, column) for v in value)
        else:
            value = _timestamp(value, column)
    if spec.op == "contains":
        hit = column.astype(str).str.contains(str(value), case=False, regex=False)
    elif spec.op in ("in", "not_in"):
        hit = column.isin(list(value))
        hit = hit if spec.op == "in" else ~hit
    elif spec.op == "between":
        hit = (column >= value[0]) & (column <= value[1])
    else:
        compare = {"==": column.__eq__, "!=": column.__ne__, "<": column.__lt__,
                   "<=": column.__le__, ">": column.__gt__, ">=": column.__ge__}  # fmt: skip
        hit = compare[spec.op](value)
    return hit.fillna(False).astype(bool) & present


def _apply_filters(frame: pd.DataFrame, filters: Sequence[FilterSpec]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for i, spec in enumerate(filters):
        try:
            mask &= _filter_mask(frame, spec)
        except (TypeError, ValueError) as exc:
            problem = {"path": f"filters[{i}]", "message": f"cannot be applied: {exc}"}
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"filter {i} on {spec.column!r} cannot be applied: {exc}",
                {"problems": [problem]},
            ) from None
    return frame[mask]


def _groups(frame: pd.DataFrame, group_by: list[str], n_metrics: int) -> tuple[Any, Any]:
    """Group codes per row and the sorted group keys; PAYLOAD_TOO_LARGE beyond the limits."""
    try:
        grouped = frame.groupby(group_by, dropna=False, sort=True)
        codes = grouped.ngroup()
    except TypeError:  # keys of mixed types cannot be sorted: keep first-seen order
        grouped = frame.groupby(group_by, dropna=False, sort=False)
        codes = grouped.ngroup()
    n = int(grouped.ngroups)
    if n > MAX_ROWS:
        raise _too_large("rows (groups)", n, MAX_ROWS)
    cells = n * (len(group_by) + n_metrics)
    if cells > MAX_CELLS:
        raise _too_large("cells", cells, MAX_CELLS)
    return codes, list(grouped.size().index)


def build_report(data: pd.DataFrame, spec: Mapping[str, Any] | ReportSpec) -> ReportResult:
    """Filter ``data``, group it and compute every metric per group and in total."""
    frame = _string_columns(data)
    cells = int(frame.shape[0]) * int(frame.shape[1])
    if cells > MAX_SOURCE_CELLS:
        raise _too_large("cells of input data", cells, MAX_SOURCE_CELLS)
    parsed = report_spec(spec, frame)
    columns = list(frame.columns)
    metrics: list[CompiledMetric] = [compile_metric(m, columns) for m in parsed.metrics]
    matched = _apply_filters(frame, parsed.filters)
    totals = {m.name: json_value(m.evaluate(matched)) for m in metrics}
    rows: list[dict[str, Any]] = []
    if not parsed.group_by:
        rows.append(dict(totals))
    else:
        group_by = list(parsed.group_by)
        codes, keys = _groups(matched, group_by, len(metrics))
        values = {m.name: list(m.evaluate(matched, codes, len(keys))) for m in metrics}
        for i, key in enumerate(keys):
            parts = key if isinstance(key, tuple) else (key,)
            row = {c: json_value(k) for c, k in zip(group_by, parts, strict=True)}
            row.update({name: json_value(v[i]) for name, v in values.items()})
            rows.append(row)
    notes = () if len(matched) else ("no rows match the filters",)
    return ReportResult(
        title=parsed.title,
        group_by=parsed.group_by,
        metrics=parsed.metrics,
        rows=tuple(rows),
        totals=totals,
        filters=parsed.filters,
        source_rows=len(frame),
        matched_rows=len(matched),
        notes=notes,
    )
