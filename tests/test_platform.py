from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.service import HealthState
from auterity_desktop.platform import Platform
from tests.fakes import EXPECTED_SERVICES


async def test_platform_starts_everything_and_stops_cleanly(data_dir: Path) -> None:
    events: list[str] = []
    platform = Platform.from_environment()
    platform.events.subscribe("*", lambda e: events.append(e.name))
    async with platform:
        assert platform.running
        assert platform.registry.running == EXPECTED_SERVICES
        health = await platform.health()
        assert Platform.overall(health) is HealthState.OK
        assert platform.metrics.value("auterity_service_up", {"service": "database"}) == 1
        assert platform.database.description == f"SQLite · {data_dir / 'auterity.db'}"
        assert platform.sources["AUTERITY_DATA_DIR"] == "environment"
    assert not platform.running
    assert platform.registry.running == []
    assert events == ["platform_started", "platform_stopping"]
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    log = (data_dir / "logs" / "auterity.log").read_text().splitlines()
    messages = [json.loads(line)["message"] for line in log]
    assert "platform started" in messages and "platform stopped" in messages


async def test_platform_runs_on_postgresql(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    async with Platform.from_environment() as platform:
        assert platform.database.dialect == "postgresql"
        assert Platform.overall(await platform.health()) is HealthState.OK


async def test_failed_start_leaves_nothing_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    platform = Platform.from_environment()
    with pytest.raises(ServiceError) as info:
        await platform.start()
    assert info.value.code is ErrorCode.SERVICE_START_FAILED
    assert info.value.details["service"] == "database"
    assert not platform.running
    assert platform.registry.running == []
    await platform.stop()


async def test_unusable_data_dir_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setenv("AUTERITY_DATA_DIR", str(blocker / "data"))
    platform = Platform.from_environment()
    with pytest.raises(ServiceError) as info:
        await platform.start()
    assert "Cannot create the data directory" in info.value.message
