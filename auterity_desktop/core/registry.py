"""Starts services in dependency order and never leaves a half-started platform behind."""

from __future__ import annotations

import logging
from typing import TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.service import BaseService, Health, HealthState

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseService)


class ServiceRegistry:
    """Holds services by name; ``start_all`` / ``stop_all`` run their lifecycles.

    If a service fails to start, the ones already started are cleaned up in reverse order
    before the error is raised, so a failed start-up leaks no connections or tasks.
    """

    def __init__(self) -> None:
        self._services: dict[str, BaseService] = {}
        self._started: list[BaseService] = []

    def register(self, service: BaseService) -> None:
        if not service.name:
            raise ValueError(f"{type(service).__name__} has no name")
        if service.name in self._services:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"A service named {service.name!r} is already registered",
                {"service": service.name},
            )
        self._services[service.name] = service

    def get(self, name: str, kind: type[S] = BaseService) -> S:  # type: ignore[assignment]
        try:
            service = self._services[name]
        except KeyError:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"No service named {name!r}", {"service": name}
            ) from None
        if not isinstance(service, kind):
            raise TypeError(f"service {name!r} is a {type(service).__name__}, not {kind.__name__}")
        return service

    def __contains__(self, name: object) -> bool:
        return name in self._services

    @property
    def names(self) -> list[str]:
        return list(self._services)

    @property
    def running(self) -> list[str]:
        return [s.name for s in self._started]

    def start_order(self) -> list[BaseService]:
        """Topological order (registration order among equals); rejects bad graphs."""
        order: list[BaseService] = []
        state: dict[str, str] = {}

        def visit(name: str, path: list[str]) -> None:
            """``path`` is the chain of services that led here, ``name`` excluded."""
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = [*path[path.index(name) :], name]
                raise ServiceError(
                    ErrorCode.DEPENDENCY_ERROR,
                    "Services depend on each other in a circle: " + " → ".join(cycle),
                    {"cycle": cycle},
                )
            service = self._services.get(name)
            if service is None:
                raise ServiceError(
                    ErrorCode.DEPENDENCY_ERROR,
                    f"Service {path[-1]!r} needs {name!r}, which is not registered",
                    {"service": path[-1], "missing": name},
                )
            state[name] = "visiting"
            for dep in service.dependencies:
                visit(dep, [*path, name])
            state[name] = "done"
            order.append(service)

        for name in self._services:
            visit(name, [])
        return order

    async def start_all(self) -> None:
        for service in self.start_order():
            if service.started:
                continue
            try:
                logger.info("starting service", extra={"service": service.name})
                await service.initialize()
            except BaseException as exc:
                # The failed service may hold partial resources too.
                await self._cleanup_one(service)
                cleaned = [s.name for s in reversed(self._started)]
                await self.stop_all()
                if isinstance(exc, ServiceError):
                    reason = exc.message
                    details = {**exc.details, "cause_code": exc.code.value}
                elif isinstance(exc, Exception):
                    reason = f"{type(exc).__name__}: {exc}"
                    details = {}
                else:  # cancellation or interpreter exit: propagate untouched
                    raise
                raise ServiceError(
                    ErrorCode.SERVICE_START_FAILED,
                    f"Service {service.name!r} failed to start: {reason}",
                    {**details, "service": service.name, "cleaned_up": cleaned},
                ) from exc
            service._mark_started(True)
            self._started.append(service)

    async def stop_all(self) -> None:
        """Clean up running services in reverse start order; errors are logged, not raised."""
        while self._started:
            service = self._started.pop()
            await self._cleanup_one(service)
            service._mark_started(False)

    async def _cleanup_one(self, service: BaseService) -> None:
        try:
            await service.cleanup()
            logger.info("stopped service", extra={"service": service.name})
        except Exception:
            logger.exception("service cleanup failed", extra={"service": service.name})

    async def health(self) -> dict[str, Health]:
        result: dict[str, Health] = {}
        for name, service in self._services.items():
            try:
                result[name] = await service.health()
            except Exception as exc:  # a broken health check means the service is not ok
                result[name] = Health(HealthState.DOWN, f"health check failed: {exc}")
        return result
