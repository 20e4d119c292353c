"""``AdvancedAnalyticsService``: the guarded, audited API over insights, custom reports and
their exports.

The work itself is pure (``insights.generate_insights``, ``reports.build_report``,
``report_export.export_report``); this service is what the GUI and the REST API call. Every
method takes the acting ``Principal`` first and needs ``analytics:execute``; each call is
audited (``analytics.insights_generated``, ``analytics.report_built``,
``analytics.report_exported``, ``analytics.dataset_read``) and timed in the
``auterity_analytics_seconds`` histogram when a metrics collector is given. The CPU work runs
in a pool of ``threads`` workers so the event loop stays responsive on large frames.

``runs_dataset`` gives the product's own workflow runs as a table, one row per run, so the
same custom metrics and reports work over automations (``runs_frame`` is the same read
without guard or audit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.analytics import report_export, reports
from auterity_desktop.services.analytics.metrics_dataset import metrics_frame
from auterity_desktop.services.analytics.reports import ReportResult, ReportSpec
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.monitoring.performance import PerformanceService
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

T = TypeVar("T")

ANALYTICS_SECONDS = "auterity_analytics_seconds"
RESOURCE = "analytics/advanced"
METRICS_DAYS = 30
INSIGHT_OPTIONS = ("time_column", "value_columns", "horizon", "frequency")
MAX_RUNS = 250_000
RUN_COLUMNS = [
    "run_id", "workflow_id", "workflow", "version", "status", "created_by", "created_at",
    "started_at", "finished_at", "duration_seconds", "wait_seconds", "nodes", "failed_nodes",
    "succeeded", "failed", "subworkflow",
]  # fmt: skip


async def runs_frame(
    database: Database, since: float | None = None, until: float | None = None
) -> pd.DataFrame:
    """Workflow runs created in [``since``, ``until``) (Unix seconds), one row per run:
    times as UTC datetimes, ``duration_seconds`` (start to finish), ``wait_seconds``
    (creation to start), node counts, and booleans that metrics can sum or average."""
    from sqlalchemy import case, func, select

    from auterity_desktop.services.workflows.models import NodeRunRow, RunRow, WorkflowRow

    for name, value in (("since", since), ("until", until)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"{name} must be Unix seconds", {name: repr(value)}
            )
    failed = func.sum(case((NodeRunRow.status == "failed", 1), else_=0))
    nodes = (
        select(NodeRunRow.run_id, func.count().label("nodes"), failed.label("failed_nodes"))
        .group_by(NodeRunRow.run_id)
        .subquery()
    )
    query = (
        select(
            RunRow.id,
            RunRow.workflow_id,
            WorkflowRow.name,
            RunRow.version,
            RunRow.status,
            RunRow.created_by,
            RunRow.created_at,
            RunRow.started_at,
            RunRow.finished_at,
            nodes.c.nodes,
            nodes.c.failed_nodes,
            RunRow.depth,
        )
        .outerjoin(WorkflowRow, WorkflowRow.id == RunRow.workflow_id)
        .outerjoin(nodes, nodes.c.run_id == RunRow.id)
        .order_by(RunRow.created_at, RunRow.id)
        .limit(MAX_RUNS + 1)
    )
    if since is not None:
        query = query.where(RunRow.created_at >= since)
    if until is not None:
        query = query.where(RunRow.created_at < until)
    async with database.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    if len(rows) > MAX_RUNS:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"more than {MAX_RUNS} runs match; narrow since/until",
            {"limit": MAX_RUNS, "since": since, "until": until},
        )
    raw = pd.DataFrame.from_records(
        [tuple(r) for r in rows],
        columns=["run_id", "workflow_id", "workflow", "version", "status", "created_by",
                 "created_at", "started_at", "finished_at", "nodes", "failed_nodes", "depth"],
    )  # fmt: skip
    frame = raw.drop(columns=["depth"])
    times = {c: pd.to_numeric(raw[c], errors="coerce").astype("float64")
             for c in ("created_at", "started_at", "finished_at")}  # fmt: skip
    for column, seconds in times.items():
        frame[column] = pd.to_datetime(seconds, unit="s", utc=True)
    frame["duration_seconds"] = times["finished_at"] - times["started_at"]
    frame["wait_seconds"] = times["started_at"] - times["created_at"]
    frame["nodes"] = pd.to_numeric(raw["nodes"]).fillna(0).astype("int64")
    frame["failed_nodes"] = pd.to_numeric(raw["failed_nodes"]).fillna(0).astype("int64")
    frame["version"] = pd.to_numeric(raw["version"]).astype("int64")
    frame["succeeded"] = raw["status"] == "succeeded"
    frame["failed"] = raw["status"] == "failed"
    frame["subworkflow"] = pd.to_numeric(raw["depth"]).fillna(0) > 0
    return frame[RUN_COLUMNS].reset_index(drop=True)


def _insight_options(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(INSIGHT_OPTIONS))
    if unknown:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"unknown insight option {unknown[0]!r}; use {', '.join(INSIGHT_OPTIONS)}",
            {"unknown": unknown, "allowed": list(INSIGHT_OPTIONS)},
        )
    return dict(options)


def _frame_details(data: Any) -> dict[str, Any]:
    if isinstance(data, pd.DataFrame):
        return {"rows": int(data.shape[0]), "columns": int(data.shape[1])}
    return {"type": type(data).__name__}


class AdvancedAnalyticsService(BaseService):
    name = "analytics"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        *,
        threads: int = 2,
        metrics: MetricsCollector | None = None,
        performance: PerformanceService | None = None,
    ) -> None:
        super().__init__()
        self.performance = performance  # the stored metrics, for metrics_dataset
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.database = database
        self.audit = audit
        self.authz = authz
        self.threads = threads
        self.collector = metrics
        self._pool: ThreadPoolExecutor | None = None

    async def initialize(self) -> None:
        if self.collector is not None:
            self.collector.describe(
                ANALYTICS_SECONDS, MetricKind.HISTOGRAM, "Seconds per advanced-analytics operation"
            )

    async def cleanup(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _observe(self, operation: str, seconds: float) -> None:
        if self.collector is not None:
            self.collector.observe(ANALYTICS_SECONDS, seconds, {"operation": operation})

    async def _run(self, operation: str, work: Callable[[], T]) -> tuple[T, float]:
        """Run ``work`` in the pool; return its result and the seconds it took."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="analytics")
        started = time.perf_counter()
        result = await asyncio.get_running_loop().run_in_executor(self._pool, work)
        seconds = time.perf_counter() - started
        self._observe(operation, seconds)
        return result, seconds

    async def _audit(
        self, actor: Principal, action: str, seconds: float, details: dict[str, Any]
    ) -> None:
        await self.audit.record(
            actor.username, action, RESOURCE, "success", {**details, "seconds": round(seconds, 3)}
        )

    @guarded("analytics", "execute")
    async def generate_insights(
        self, actor: Principal, data: pd.DataFrame, **options: Any
    ) -> dict[str, Any]:
        """Trends, change points, anomalies, forecasts and correlations (see ``insights``);
        ``options`` are ``time_column``, ``value_columns``, ``horizon`` and ``frequency``."""
        # scipy.stats takes about a second to import: only when insights are asked for,
        # not for every start of the platform and of every command
        from auterity_desktop.services.analytics import insights

        chosen = _insight_options(options)
        report, seconds = await self._run(
            "insights", partial(insights.generate_insights, data, **chosen)
        )
        document = report.to_dict()
        await self._audit(
            actor,
            "analytics.insights_generated",
            seconds,
            {**_frame_details(data), "insights": len(document["insights"]),
             "value_columns": document["columns"], "frequency": document["frequency"]},
        )  # fmt: skip
        return document

    @guarded("analytics", "execute")
    async def build_report(
        self, actor: Principal, data: pd.DataFrame, spec: Mapping[str, Any] | ReportSpec
    ) -> ReportResult:
        """A custom report over ``data`` (see ``reports``)."""
        result, seconds = await self._run("report", partial(reports.build_report, data, spec))
        await self._audit(
            actor,
            "analytics.report_built",
            seconds,
            {"title": result.title, "metrics": result.metric_names,
             "group_by": list(result.group_by), "filters": len(result.filters),
             "rows": len(result.rows), "matched_rows": result.matched_rows,
             "source_rows": result.source_rows},
        )  # fmt: skip
        return result

    @guarded("analytics", "execute")
    async def export_report(
        self, actor: Principal, result: ReportResult | Mapping[str, Any], path: str | Path
    ) -> dict[str, Any]:
        """Write ``result`` as CSV, XLSX, HTML or PDF by the suffix of ``path``; a result
        that travelled as a dict (``ReportResult.to_dict``) is accepted too."""
        report_export.export_format(path)  # an unknown suffix fails before any thread is used
        if isinstance(result, Mapping):
            result = ReportResult.from_dict(result)
        written, seconds = await self._run(
            "export", partial(report_export.export_report, result, path)
        )
        await self._audit(
            actor,
            "analytics.report_exported",
            seconds,
            {**written, "title": result.title, "rows": len(result.rows)},
        )
        return written

    @guarded("analytics", "execute")
    async def runs_dataset(
        self, actor: Principal, since: float | None = None, until: float | None = None
    ) -> pd.DataFrame:
        """The workflow runs created in [``since``, ``until``) as a table (``runs_frame``)."""
        started = time.perf_counter()
        frame = await runs_frame(self.database, since, until)
        seconds = time.perf_counter() - started
        self._observe("runs_dataset", seconds)
        await self._audit(
            actor,
            "analytics.dataset_read",
            seconds,
            {"source": "workflow_runs", "since": since, "until": until, "rows": len(frame)},
        )
        return frame

    @guarded("analytics", "execute")
    async def metrics_dataset(
        self,
        actor: Principal,
        names: list[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        max_points: int = 1000,
    ) -> pd.DataFrame:
        """Stored metric series (``names``, default every stored metric) over [``since``,
        ``until``) — default the last 30 days — as one long table (``metrics_frame``), at
        most ``max_points`` buckets per series."""
        if self.performance is None:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, "No metric history in this configuration", {}
            )
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(n, str) for n in names)
        ):
            raise ServiceError(ErrorCode.INVALID_INPUT, "names must be a list of metric names", {})
        for name, value in (("since", since), ("until", until)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ServiceError(
                    ErrorCode.INVALID_INPUT, f"{name} must be Unix seconds", {name: repr(value)}
                )
        if (
            isinstance(max_points, bool)
            or not isinstance(max_points, int)
            or not 1 <= max_points <= 100_000
        ):
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "max_points must be from 1 to 100,000",
                {"max_points": repr(max_points)},
            )
        started = time.perf_counter()
        end = time.time() if until is None else float(until)
        start = end - METRICS_DAYS * 86_400 if since is None else float(since)
        wanted = names if names is not None else await self.performance.metric_names()
        found = await self.performance.series_many(
            [(name, None) for name in wanted], start, end, max_points
        )
        frame = metrics_frame(found)
        seconds = time.perf_counter() - started
        self._observe("metrics_dataset", seconds)
        await self._audit(
            actor,
            "analytics.dataset_read",
            seconds,
            {"source": "metrics", "since": start, "until": end, "metrics": len(wanted),
             "rows": len(frame)},
        )  # fmt: skip
        return frame
