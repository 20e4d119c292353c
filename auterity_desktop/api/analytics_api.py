"""``/api/v1/analytics``: stored metrics over a time range, and custom reports.

Metrics are read from the performance service's history (the dashboard's own), checked
against ``analytics:read``. A custom report runs through ``AdvancedAnalyticsService`` over
the product's runs (or stored metrics) data set, so it is guarded and audited as in the GUI.
The catalogue's ``filters`` is an object: ``{"status": "failed"}`` means ``status ==
failed`` and a list value means ``in``; the richer list form ``[{column, op, value}]`` is
taken too.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from auterity_desktop.api.schemas import CustomReport, MetricsOut, MetricsQuery, ReportOut
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
from auterity_desktop.services.gateway.operations import Controller, Operation

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MAX_POINTS = 500


def range_seconds(time_range: str) -> float:
    return int(time_range[:-1]) * UNITS[time_range[-1]]


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def aggregate(series: Any, how: str) -> tuple[float | None, list[tuple[float, float | None]]]:
    """The per-point values and the value over the whole range for one stored series."""
    points: list[tuple[float, float | None]] = []
    for i, t in enumerate(series.t):
        count = series.count[i]
        value: float | None
        if how == "avg":
            value = series.sum[i] / count if count else None
        elif how == "count":
            value = float(count)
        else:
            value = {"min": series.min, "max": series.max, "sum": series.sum,
                     "last": series.last}[how][i]  # fmt: skip
        points.append((t, value if value is None or math.isfinite(value) else None))
    if not series.t:
        return None, points
    if how == "avg":
        total = sum(series.count)
        return (sum(_finite(series.sum)) / total if total else None), points
    if how == "count":
        return float(sum(series.count)), points
    values = _finite({"min": series.min, "max": series.max, "sum": series.sum,
                      "last": series.last}[how])  # fmt: skip
    if not values:
        return None, points
    if how == "min":
        return min(values), points
    if how == "max":
        return max(values), points
    return (sum(values) if how == "sum" else values[-1]), points


def _metric(raw: str | dict[str, Any]) -> dict[str, Any]:
    """A string is a metric named after its expression (``sum(revenue) / count(vin)``, or a
    column, summed); ``count`` alone counts the matching rows."""
    if isinstance(raw, dict):
        return raw
    if raw.strip() == "count":
        return {"name": "count", "expression": "1"}
    return {"name": raw[:200], "expression": raw}


def _filters(raw: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(raw, list):
        return raw
    return [
        {"column": column, "op": "in" if isinstance(value, list) else "==", "value": value}
        for column, value in raw.items()
    ]


def analytics_controller(platform: Platform) -> Controller:
    async def metrics(request: ApiRequest, query: MetricsQuery) -> ApiResponse:
        assert request.principal is not None
        await platform.security.authorize(request.principal, "analytics", "read")
        names = [n.strip() for item in query.metrics for n in item.split(",") if n.strip()]
        if not names:
            names = await platform.performance.metric_names()
        end = time.time()
        start = end - range_seconds(query.timeRange)
        found = await platform.performance.series_many(
            [(name[:200], None) for name in names[:50]], start, end, MAX_POINTS
        )
        out = []
        for series in found:
            value, points = aggregate(series, query.aggregation)
            out.append({"name": series.metric, "labels": dict(series.labels),
                        "value": value, "points": points})  # fmt: skip
        return ApiResponse.json(
            {"timeRange": query.timeRange, "aggregation": query.aggregation,
             "start": start, "end": end, "metrics": out}
        )  # fmt: skip

    async def custom_report(request: ApiRequest, body: CustomReport) -> ApiResponse:
        actor = request.principal
        analytics = platform.analytics
        if body.dataset == "metrics":
            data = await analytics.metrics_dataset(actor)
        else:
            data = await analytics.runs_dataset(actor)
        spec: dict[str, Any] = {
            "metrics": [_metric(m) for m in body.metrics],
            "filters": _filters(body.filters),
            "groupBy": body.groupBy,
        }
        if body.title:
            spec["title"] = body.title
        result = (await analytics.build_report(actor, data, spec)).to_dict()
        keep = ("title", "groupBy", "columns", "rows", "totals", "source_rows",
                "matched_rows", "notes")  # fmt: skip
        return ApiResponse.json({k: result[k] for k in keep})

    tags = ("analytics",)
    return Controller(
        [
            Operation("GET", "/metrics", metrics, "Stored metrics over a time range",
                      "getMetrics", query=MetricsQuery, response=MetricsOut, tags=tags),
            Operation("POST", "/custom-report", custom_report,
                      "A custom report over the runs or metrics data set", "customReport",
                      body=CustomReport, response=ReportOut, tags=tags),
        ],
        "analytics",
    )  # fmt: skip
