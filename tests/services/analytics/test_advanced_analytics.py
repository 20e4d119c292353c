"""AdvancedAnalyticsService on the real database stack: the guard, the audit entries, the
worker thread, and the workflow runs as a data set for custom reports."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.services.analytics import insights
from auterity_desktop.services.analytics.advanced_analytics import (
    ANALYTICS_SECONDS,
    RUN_COLUMNS,
    AdvancedAnalyticsService,
)
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.workflows.models import (
    NodeRunRow,
    RunRow,
    WorkflowRow,
    WorkflowVersionRow,
)
from tests.services.conftest import Stack


@pytest.fixture
async def analytics(stack: Stack) -> AsyncIterator[AdvancedAnalyticsService]:
    service = AdvancedAnalyticsService(
        stack.database, stack.audit, stack.security.authz, threads=2, metrics=MetricsCollector()
    )
    await service.initialize()
    yield service
    await service.cleanup()


async def actions(stack: Stack, action: str) -> list[dict[str, object]]:
    entries = (await stack.audit.page(AuditFilter(action=action))).entries
    return [dict(e.details) for e in entries]


def series(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "day": pd.date_range("2026-01-01", periods=n, freq="D"),
            "sales": np.arange(n) * 2.0 + rng.normal(0, 0.5, n),
        }
    )


JOBS = pd.DataFrame({"shop": ["a", "a", "b"], "hours": [1.0, 2.0, 4.0], "rate": [10, 10, 5]})
SPEC = {
    "title": "Shops",
    "metrics": [{"name": "revenue", "expression": "hours * rate"}],
    "groupBy": ["shop"],
}


async def test_insights_run_in_a_worker_and_are_audited(
    stack: Stack, analytics: AdvancedAnalyticsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await stack.admin()
    threads: list[int] = []
    real = insights.generate_insights

    def spy(*args: object, **kwargs: object) -> object:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(insights, "generate_insights", spy)
    document = await analytics.generate_insights(admin, series(), horizon=5)
    assert threads and threads[0] != threading.get_ident()
    trend = next(i for i in document["insights"] if i["kind"] == "trend")
    assert trend["evidence"]["slope"] == pytest.approx(2.0, abs=0.05)
    assert len(document["forecasts"]["sales"]["mean"]) == 5
    [entry] = await actions(stack, "analytics.insights_generated")
    assert entry["rows"] == 60 and entry["value_columns"] == ["sales"]
    assert entry["insights"] == len(document["insights"])
    assert analytics.collector is not None
    assert ANALYTICS_SECONDS in analytics.collector.render_prometheus()

    with pytest.raises(ServiceError) as unknown:
        await analytics.generate_insights(admin, series(), colour="red")
    assert unknown.value.code is ErrorCode.INVALID_INPUT


async def test_build_and_export_are_audited(
    stack: Stack, analytics: AdvancedAnalyticsService, tmp_path: Path
) -> None:
    admin = await stack.admin()
    result = await analytics.build_report(admin, JOBS, SPEC)
    assert result.rows == ({"shop": "a", "revenue": 30.0}, {"shop": "b", "revenue": 20.0})
    [built] = await actions(stack, "analytics.report_built")
    assert built["metrics"] == ["revenue"] and built["group_by"] == ["shop"]
    assert (built["rows"], built["matched_rows"], built["source_rows"]) == (2, 3, 3)

    written = await analytics.export_report(admin, result, tmp_path / "shops.xlsx")
    assert pd.read_excel(tmp_path / "shops.xlsx")["revenue"].tolist() == [30.0, 20.0, 50.0]
    await analytics.export_report(admin, result.to_dict(), tmp_path / "shops.csv")
    assert (tmp_path / "shops.csv").read_text().splitlines()[-1] == "Total,50.0"
    exported = await actions(stack, "analytics.report_exported")
    assert {e["format"] for e in exported} == {"xlsx", "csv"}
    assert any(e["path"] == written["path"] and e["title"] == "Shops" for e in exported)

    with pytest.raises(ServiceError) as bad_suffix:
        await analytics.export_report(admin, result, tmp_path / "shops.doc")
    assert bad_suffix.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError) as bad_spec:
        await analytics.build_report(
            admin, JOBS, {"metrics": [{"name": "x", "expression": "__import__('os')"}]}
        )
    assert bad_spec.value.code is ErrorCode.INVALID_INPUT
    assert len(await actions(stack, "analytics.report_built")) == 1  # failures are not "built"


async def test_viewer_is_refused(
    stack: Stack, analytics: AdvancedAnalyticsService, tmp_path: Path
) -> None:
    admin = await stack.admin()
    result = await analytics.build_report(admin, JOBS, SPEC)
    viewer = await stack.user("vera", "viewer")
    calls = [
        analytics.generate_insights(viewer, series()),
        analytics.build_report(viewer, JOBS, SPEC),
        analytics.export_report(viewer, result, tmp_path / "x.csv"),
        analytics.runs_dataset(viewer),
    ]
    for call in calls:
        with pytest.raises(ServiceError) as info:
            await call
        assert info.value.code is ErrorCode.UNAUTHORIZED
    assert not (tmp_path / "x.csv").exists()
    denied = await actions(stack, "authorization.denied")
    assert len(denied) == 4 and all(d["action"] == "execute" for d in denied)
    with pytest.raises(ServiceError) as anonymous:
        await analytics.build_report(None, JOBS, SPEC)  # type: ignore[arg-type]
    assert anonymous.value.code is ErrorCode.UNAUTHENTICATED


async def seed_runs(stack: Stack) -> None:
    document = {"nodes": [{"id": "n1", "type": "http", "name": "Fetch"}]}
    async with stack.database.begin() as conn:
        for wf, name in (("w1", "Daily"), ("w2", "Hourly")):
            await conn.execute(
                insert(WorkflowRow).values(
                    id=wf,
                    name=name,
                    description="",
                    current_version=1,
                    created_at=0.0,
                    updated_at=0.0,
                    created_by="u",
                    deleted=False,
                )
            )
            await conn.execute(
                insert(WorkflowVersionRow).values(
                    workflow_id=wf, version=1, document=document, saved_at=0.0, saved_by="u"
                )
            )
        runs = [
            ("r1", "w1", "succeeded", 1000.0, 1002.0, 1010.0),
            ("r2", "w1", "failed", 2000.0, 2001.0, 2031.0),
            ("r3", "w2", "succeeded", 3000.0, 3000.0, 3004.0),
            ("r4", "w2", "running", 4000.0, None, None),
        ]
        for run, wf, status, created, started, finished in runs:
            await conn.execute(
                insert(RunRow).values(
                    id=run,
                    workflow_id=wf,
                    version=1,
                    status=status,
                    params={},
                    created_by="alice",
                    created_at=created,
                    started_at=started,
                    finished_at=finished,
                )
            )
        for run, node, status in (
            ("r1", "n1", "succeeded"),
            ("r2", "n1", "failed"),
            ("r2", "n2", "failed"),
            ("r3", "n1", "succeeded"),
        ):
            await conn.execute(
                insert(NodeRunRow).values(
                    run_id=run, node_id=node, status=status, started_at=0.0, finished_at=1.0
                )
            )


async def test_runs_dataset_feeds_custom_reports(
    stack: Stack, analytics: AdvancedAnalyticsService
) -> None:
    admin = await stack.admin()
    await seed_runs(stack)
    runs = await analytics.runs_dataset(admin)
    assert list(runs.columns) == RUN_COLUMNS
    assert list(runs["run_id"]) == ["r1", "r2", "r3", "r4"]
    assert list(runs["workflow"]) == ["Daily", "Daily", "Hourly", "Hourly"]
    assert runs["duration_seconds"].tolist()[:3] == [8.0, 30.0, 4.0]
    assert pd.isna(runs["duration_seconds"].iloc[3])
    assert runs["wait_seconds"].tolist()[:3] == [2.0, 1.0, 0.0]
    assert list(runs["nodes"]) == [1, 2, 1, 0] and list(runs["failed_nodes"]) == [0, 2, 0, 0]
    assert runs["created_at"].iloc[0] == pd.Timestamp(1000.0, unit="s", tz="UTC")
    assert list(runs["failed"]) == [False, True, False, False]

    report = await analytics.build_report(
        admin,
        runs,
        {
            "metrics": [
                {"name": "runs", "expression": "1", "aggregate": "count"},
                {"name": "failure rate", "expression": "failed", "aggregate": "mean"},
                {"name": "p90 seconds", "expression": "duration_seconds", "aggregate": "p90"},
            ],
            "filters": [{"column": "status", "op": "not_in", "value": ["running"]}],
            "groupBy": ["workflow"],
        },
    )
    assert report.rows == (
        {"workflow": "Daily", "runs": 2, "failure rate": 0.5, "p90 seconds": pytest.approx(27.8)},
        {"workflow": "Hourly", "runs": 1, "failure rate": 0.0, "p90 seconds": 4.0},
    )

    recent = await analytics.runs_dataset(admin, since=1500.0, until=3000.0)
    assert list(recent["run_id"]) == ["r2"]
    entries = await actions(stack, "analytics.dataset_read")  # the newest first
    assert [e["rows"] for e in entries] == [1, 4]
    assert entries[0]["since"] == 1500.0 and entries[0]["source"] == "workflow_runs"
    empty = await analytics.runs_dataset(admin, since=99_999.0)
    assert empty.empty and list(empty.columns) == RUN_COLUMNS
    with pytest.raises(ServiceError) as bad:
        await analytics.runs_dataset(admin, since="yesterday")  # type: ignore[arg-type]
    assert bad.value.code is ErrorCode.INVALID_INPUT


def test_constructor_and_lifecycle_contract() -> None:
    assert AdvancedAnalyticsService.name == "analytics"
    assert AdvancedAnalyticsService.dependencies == ("database", "audit", "security")
    for method in ("generate_insights", "build_report", "export_report", "runs_dataset"):
        assert getattr(AdvancedAnalyticsService, method).__guard__ == ("analytics", "execute")
    with pytest.raises(ValueError, match="threads"):
        AdvancedAnalyticsService(None, None, None, threads=0)  # type: ignore[arg-type]
