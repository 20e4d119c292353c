"""The composition root: one object that builds settings, database, registry and services.

The GUI, the CLI, the REST API and the tests all start the product the same way::

    async with Platform.from_environment() as platform:
        ...

so everything the GUI can do is reachable, and testable, without Qt. Later features add their
services in ``_register_services``; the UI reaches them only through this facade.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from auterity_desktop import __version__
from auterity_desktop.config import Settings, load_settings
from auterity_desktop.core.cache import CacheService
from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.logging import configure_logging
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.recovery import ErrorRecoveryService
from auterity_desktop.core.registry import ServiceRegistry
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.core.service import Health, HealthState
from auterity_desktop.core.team_relay import TeamRelay
from auterity_desktop.services.ai.cognitive.engine import CognitiveEngine
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.analytics.advanced_analytics import AdvancedAnalyticsService
from auterity_desktop.services.analytics.mining.engine import ProcessMiningEngine
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.compliance.engine import ComplianceEngine
from auterity_desktop.services.gateway.rate_limit import Limit
from auterity_desktop.services.gateway.service import APIGatewayService
from auterity_desktop.services.integrations.controller import IntegrationController
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.monitoring.alerts import AlertService
from auterity_desktop.services.monitoring.ml_monitoring import MLMonitoringService
from auterity_desktop.services.monitoring.performance import PerformanceService
from auterity_desktop.services.samples.loader import SampleLoader
from auterity_desktop.services.security.service import SecurityService
from auterity_desktop.services.security.threat_detection import ThreatPolicy
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.message_triggers import MessageTriggers
from auterity_desktop.services.workflows.scheduler import Scheduler
from auterity_desktop.services.workflows.store import WorkflowStore

logger = logging.getLogger(__name__)


class Platform:
    def __init__(
        self,
        settings: Settings,
        sources: Mapping[str, str] | None = None,
        *,
        configure_logs: bool = True,
        background: bool = True,
    ) -> None:
        """``background=False`` (one-shot CLI commands) fires no schedules, resumes no
        interrupted runs and sweeps no approval deadlines: a short-lived process must not
        take over work that the console or a worker is there to do."""
        self.settings = settings
        self.sources = dict(sources or {})
        self.version = __version__
        self._configure_logs = configure_logs
        self.events = EventBus()
        self.metrics = MetricsCollector()
        self.registry = ServiceRegistry()
        self.database = Database(settings.effective_database_url)
        # Consoles and workers hear each other's runs and alerts; one-shot commands need not.
        self.team_relay = TeamRelay(self.database, self.events, enabled=background)
        self.cache = CacheService(max_size=10_000, default_ttl=300)
        self.recovery = ErrorRecoveryService()
        self.secrets = SecretStore()
        self.audit = AuditTrail(
            self.database, self.events, settings.audit_log_retention, prune_every=6 * 3600
        )
        self.security = SecurityService(
            self.database,
            self.audit,
            self.events,
            self.secrets,
            idle_timeout=settings.auth_token_expiry,
            max_age=settings.session_max_age,
            threat_policy=ThreatPolicy(
                lockout_threshold=settings.lockout_threshold,
                lockout_window=settings.lockout_window,
            ),
        )
        self.compliance = ComplianceEngine(self.database, self.audit, self.security.authz)
        self.nodes = builtin_registry()
        self.workflows = WorkflowStore(self.database, self.audit, self.security.authz, self.events)
        self.engine = WorkflowEngine(
            self.database,
            self.workflows,
            self.nodes,
            self.audit,
            self.security.authz,
            self.events,
            self.metrics,
            workers=settings.workflow_engine_workers,
            resume_interrupted=settings.resume_interrupted and background,
            approval_check_interval=60.0 if background else 0,
            lease=settings.run_lease,
        )
        self.scheduler = Scheduler(self.database, self.workflows, self.engine, autostart=background)
        self.integrations = IntegrationController(
            self.database,
            self.audit,
            self.security.authz,
            self.secrets,
            self.events,
            self.metrics,
            max_connections=settings.max_connections,
            health_interval=300.0 if background else 0,
        )
        self.engine.services["integrations"] = self.integrations
        self.messages = MessageQueue(
            self.database,
            self.audit,
            self.security.authz,
            self.events,
            self.metrics,
            max_length=settings.message_queue_size,
            sweep_interval=5.0 if background else 0,
            team_connected=lambda: self.team_relay.connected,
        )
        self.engine.services["messages"] = self.messages
        self.message_triggers = MessageTriggers(
            self.workflows, self.engine, self.messages, self.events, enabled=background
        )
        self.performance = PerformanceService(
            self.database,
            self.metrics,
            data_dir=settings.data_dir,
            interval=settings.metrics_collection_interval,
            background=background,
            messages=self.messages,
            integrations=self.integrations,
            firing_alerts=self._firing_alerts,
        )
        self.alerts = AlertService(
            self.database,
            self.audit,
            self.security.authz,
            self.events,
            self.metrics,
            self.integrations,
            self.metrics,
            threshold=settings.alert_threshold,
            collection_interval=settings.metrics_collection_interval,
            evaluation_interval=(
                min(15.0, settings.metrics_collection_interval) if background else 0
            ),
        )
        self.ml_monitoring = MLMonitoringService(
            self.database, self.audit, self.security.authz, self.events, self.metrics
        )
        self.ai = AIModelOrchestrationService(
            self.database,
            self.audit,
            self.security.authz,
            self.secrets,
            self.events,
            self.metrics,
            cache_size=settings.ai_model_cache_size,
            request_timeout=settings.ai_request_timeout,
            max_connections=settings.max_connections,
            sync_interval=30.0 if background else 0,
        )
        self.engine.services["ai"] = self.ai  # the AI prompt node
        self.cognitive = CognitiveEngine(
            self.database, self.audit, self.security.authz, self.ai, self.events, self.metrics
        )
        self.engine.services["cognitive"] = self.cognitive  # the AI classify/extract/... nodes
        self.process_mining = ProcessMiningEngine(
            self.database,
            self.audit,
            self.security.authz,
            processes=settings.process_mining_workers,
            metrics=self.metrics,
        )
        self.analytics = AdvancedAnalyticsService(
            self.database,
            self.audit,
            self.security.authz,
            metrics=self.metrics,
            performance=self.performance,
        )
        self.gateway = APIGatewayService(
            self.database,
            self.audit,
            self.security,
            self.metrics,
            client_limit=Limit(settings.api_rate_limit, settings.api_rate_burst),
            max_body=settings.api_max_body,
            background=background,
        )
        # not a service: nothing to start, it only calls the others
        self.samples = SampleLoader(
            self.workflows, self.messages, self.ml_monitoring, settings.data_dir
        )
        self.started_at: float | None = None
        self._register_services()

    @classmethod
    def from_environment(
        cls, env: Mapping[str, str] | None = None, config_file: Path | None = None, **kwargs: Any
    ) -> Platform:
        settings, sources = load_settings(env, config_file)
        return cls(settings, sources, **kwargs)

    def _register_services(self) -> None:
        for service in (
            self.database,
            self.team_relay,  # early: it shares what the services below announce at start
            self.cache,
            self.recovery,
            self.audit,
            self.security,
            self.compliance,
            self.workflows,
            self.engine,
            self.scheduler,
            self.integrations,
            self.messages,
            self.message_triggers,
            self.performance,
            self.alerts,
            self.ml_monitoring,
            self.ai,
            self.cognitive,
            self.process_mining,
            self.analytics,
            self.gateway,
        ):
            self.registry.register(service)
        self.metrics.describe(
            "auterity_service_up", MetricKind.GAUGE, "1 when a service is healthy"
        )
        self.metrics.describe(
            "auterity_startup_seconds", MetricKind.GAUGE, "Seconds the platform took to start"
        )

    async def _firing_alerts(self) -> int:
        """How many alerts fire now, for the dashboard (0 while alerts are not running)."""
        alerts = getattr(self, "alerts", None)
        if alerts is None or not alerts.started:
            return 0
        return int((await alerts.health()).data.get("firing") or 0)

    @property
    def running(self) -> bool:
        return self.started_at is not None

    async def start(self) -> None:
        if self.running:
            return
        began = time.perf_counter()
        try:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceError(
                ErrorCode.SERVICE_START_FAILED,
                f"Cannot create the data directory {self.settings.data_dir}: {exc.strerror}",
                {"data_dir": str(self.settings.data_dir)},
            ) from None
        if self._configure_logs:
            configure_logging(self.settings.log_dir, self.settings.log_level)
        await self.registry.start_all()
        self.started_at = time.time()
        elapsed = time.perf_counter() - began
        self.metrics.gauge("auterity_startup_seconds", elapsed)
        logger.info(
            "platform started",
            extra={
                "database": self.database.description,
                "duration": round(elapsed, 3),
                "services": self.registry.running,
            },
        )
        self.events.publish("platform_started", {"database": self.database.description})

    async def stop(self) -> None:
        if self.running:
            self.events.publish("platform_stopping", {})
        await self.events.drain()
        await self.registry.stop_all()
        await self.events.close()
        if self.running:
            logger.info("platform stopped")
        self.started_at = None

    async def health(self) -> dict[str, Health]:
        result = await self.registry.health()
        for name, health in result.items():
            self.metrics.gauge("auterity_service_up", 1.0 if health.ok else 0.0, {"service": name})
        return result

    @staticmethod
    def overall(health: Mapping[str, Health]) -> HealthState:
        states = {h.state for h in health.values()}
        for state in (HealthState.DOWN, HealthState.STOPPED, HealthState.DEGRADED):
            if state in states:
                return state
        return HealthState.OK

    async def __aenter__(self) -> Platform:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
