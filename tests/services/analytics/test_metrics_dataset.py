"""The console's stored metrics as a data set, on a real platform: collected readings come
back as one long table that a custom report can group by metric."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.platform import Platform
from auterity_desktop.services.analytics.metrics_dataset import METRIC_COLUMNS, metrics_frame
from auterity_desktop.services.analytics.reports import build_report
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.monitoring.metric_store import SeriesData
from auterity_desktop.services.security.principal import Principal

PASSWORD = "Correct-Horse-42!"


@pytest.fixture
async def platform(data_dir: Path) -> AsyncIterator[Platform]:
    async with Platform.from_environment(background=False) as started:
        yield started


async def admin(platform: Platform) -> Principal:
    await platform.security.users.create_first_admin("alice", PASSWORD)
    session = await platform.security.authenticate_user({"username": "alice", "password": PASSWORD})
    return session.principal


def test_series_become_rows_with_their_bucket_mean() -> None:
    queue = SeriesData("auterity_queue_depth", {"queue": "crm"}, "gauge", 60, 60.0, 15.0,
                       t=[0.0, 60.0], count=[4, 2], sum=[8.0, 10.0], min=[1.0, 4.0],
                       max=[3.0, 6.0], last=[3.0, 6.0])  # fmt: skip
    empty = SeriesData("auterity_unused", {}, "", 0, 0.0, 15.0)
    frame = metrics_frame([queue, empty])
    assert list(frame.columns) == METRIC_COLUMNS and len(frame) == 2
    assert frame["value"].tolist() == [2.0, 5.0]
    assert frame["labels"].tolist() == ['{"queue": "crm"}'] * 2
    assert frame["time"].iloc[1] == pd.Timestamp("1970-01-01 00:01", tz="UTC")
    assert list(metrics_frame([empty]).columns) == METRIC_COLUMNS


async def test_collected_metrics_are_a_data_set_for_reports(platform: Platform) -> None:
    me = await admin(platform)
    await platform.messages.declare_queue("crm.leads", "sales.lead.*")
    for lead in range(3):
        await platform.messages.publish("sales.lead.created", {"lead": lead})
    await platform.performance.collect_metrics()
    await platform.performance.collect_metrics()
    frame = await platform.analytics.metrics_dataset(me, ["auterity_queue_depth_total"])
    assert set(frame["metric"]) == {"auterity_queue_depth_total"}
    assert frame["samples"].sum() == 2 and frame["last"].iloc[-1] == 3.0
    everything = await platform.analytics.metrics_dataset(me)
    assert "auterity_queue_depth_total" in set(everything["metric"])
    assert everything["metric"].nunique() > 1 and len(everything) > len(frame)
    report = build_report(everything, {"metrics": [{"name": "readings", "expression": "samples"}],
                                       "groupBy": ["metric"]})  # fmt: skip
    assert len(report.rows) == everything["metric"].nunique()
    entries = (await platform.audit.page(AuditFilter(action="analytics.dataset_read"))).entries
    assert [e.details["source"] for e in entries] == ["metrics", "metrics"]
    with pytest.raises(ServiceError) as info:
        await platform.analytics.metrics_dataset(me, "auterity_queue_depth_total")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_INPUT
