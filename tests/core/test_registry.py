from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.registry import ServiceRegistry
from auterity_desktop.core.service import BaseService, HealthState


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []


def make(name: str, deps: tuple[str, ...], log: Recorder, fail: BaseException | None = None):
    class Svc(BaseService):
        dependencies = deps

        async def initialize(self) -> None:
            log.events.append(f"init {name}")
            if fail is not None:
                raise fail

        async def cleanup(self) -> None:
            log.events.append(f"cleanup {name}")

    Svc.name = name
    return Svc()


async def test_starts_in_dependency_order_and_stops_in_reverse() -> None:
    log = Recorder()
    registry = ServiceRegistry()
    registry.register(make("api", ("workflows", "database"), log))
    registry.register(make("workflows", ("database",), log))
    registry.register(make("database", (), log))
    await registry.start_all()
    assert log.events == ["init database", "init workflows", "init api"]
    assert registry.running == ["database", "workflows", "api"]
    await registry.stop_all()
    assert log.events[3:] == ["cleanup api", "cleanup workflows", "cleanup database"]
    assert registry.running == []


async def test_failed_start_cleans_up_already_started_services() -> None:
    log = Recorder()
    registry = ServiceRegistry()
    registry.register(make("database", (), log))
    registry.register(make("cache", ("database",), log))
    registry.register(make("broken", ("cache",), log, RuntimeError("port in use")))
    registry.register(make("later", ("broken",), log))
    with pytest.raises(ServiceError) as info:
        await registry.start_all()
    error = info.value
    assert error.code is ErrorCode.SERVICE_START_FAILED
    assert error.details["service"] == "broken"
    assert error.details["cleaned_up"] == ["cache", "database"]
    assert "port in use" in error.message
    assert log.events == [
        "init database",
        "init cache",
        "init broken",
        "cleanup broken",
        "cleanup cache",
        "cleanup database",
    ]
    assert registry.running == []
    health = await registry.health()
    assert all(h.state is HealthState.STOPPED for h in health.values())


async def test_service_error_cause_is_kept() -> None:
    log = Recorder()
    registry = ServiceRegistry()
    registry.register(
        make("db", (), log, ServiceError(ErrorCode.DATABASE_ERROR, "locked", {"path": "/x"}))
    )
    with pytest.raises(ServiceError) as info:
        await registry.start_all()
    assert info.value.details["cause_code"] == "DATABASE_ERROR"
    assert info.value.details["path"] == "/x"


async def test_cleanup_errors_do_not_stop_other_cleanups() -> None:
    log = Recorder()

    class Bad(BaseService):
        name = "bad"

        async def cleanup(self) -> None:
            raise RuntimeError("boom")

    registry = ServiceRegistry()
    registry.register(make("first", (), log))
    registry.register(Bad())
    await registry.start_all()
    await registry.stop_all()
    assert "cleanup first" in log.events
    assert registry.running == []


def test_missing_dependency_and_cycles_are_reported() -> None:
    log = Recorder()
    registry = ServiceRegistry()
    registry.register(make("a", ("ghost",), log))
    with pytest.raises(ServiceError) as info:
        registry.start_order()
    assert info.value.code is ErrorCode.DEPENDENCY_ERROR
    assert info.value.details == {"service": "a", "missing": "ghost"}

    cyclic = ServiceRegistry()
    cyclic.register(make("a", ("b",), log))
    cyclic.register(make("b", ("c",), log))
    cyclic.register(make("c", ("a",), log))
    with pytest.raises(ServiceError) as info:
        cyclic.start_order()
    assert info.value.details["cycle"] == ["a", "b", "c", "a"]


def test_duplicate_names_and_lookup() -> None:
    log = Recorder()
    registry = ServiceRegistry()
    service = make("a", (), log)
    registry.register(service)
    with pytest.raises(ServiceError) as info:
        registry.register(make("a", (), log))
    assert info.value.code is ErrorCode.CONFLICT
    assert registry.get("a") is service
    assert "a" in registry
    with pytest.raises(ServiceError) as info:
        registry.get("zzz")
    assert info.value.code is ErrorCode.NOT_FOUND


async def test_broken_health_check_reports_down() -> None:
    class Flaky(BaseService):
        name = "flaky"

        async def health(self):  # type: ignore[no-untyped-def]
            raise OSError("socket closed")

    registry = ServiceRegistry()
    registry.register(Flaky())
    health = await registry.health()
    assert health["flaky"].state is HealthState.DOWN
    assert "socket closed" in health["flaky"].detail
