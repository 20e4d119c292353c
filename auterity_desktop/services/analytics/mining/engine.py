"""``ProcessMiningEngine``: the guarded, audited service over the process-mining work.

The algorithms are plain functions on an ``EventLog`` (``documents`` turns them into
JSON-ready results); this service is the API the GUI (and the REST API) call. Every method
takes the acting ``Principal`` first and needs ``analytics:execute``; each call is audited
(``analytics.log_imported``, ``analytics.mined``, ``analytics.conformance_checked``,
``analytics.performance_analyzed``, ``analytics.log_exported``, ``analytics.model_exported``;
the views the Analysis page browses — filters, process map, variants, an edge's cases,
the dotted chart — are not, they read what an audited import already brought in) and timed in the
``auterity_process_mining_seconds`` histogram when a metrics collector is given.

The CPU work runs in ``processes`` worker processes (``settings.process_mining_workers``;
see ``worker_pool`` for why not threads), so the event loop is not held up while a large
log is read or mined. ``progress`` callbacks passed to ``import_log`` are therefore called
**from another thread**, with (bytes read, total bytes): a caller that touches the GUI or
loop-bound objects from them must marshal the call to its own thread (a Qt signal,
``loop.call_soon_threadsafe``). ``cancel`` is a ``threading.Event``; setting it stops an
import between chunks with ``CANCELLED``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from auterity_desktop.core.db import Database
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.analytics.mining import importers
from auterity_desktop.services.analytics.mining.documents import (
    ALGORITHMS,
    DOTTED_POINTS,
    EDGE_CASES,
    MODEL_FORMATS,
    Algorithm,
    Mapping_,
    _invalid,
    conformance_document,
    discovery_document,
    dotted_chart_document,
    edge_cases,
    load_log,
    log_format,
    performance_document,
    process_map_document,
    save_log,
    save_model,
    variants_document,
)
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.filter_specs import apply_filters
from auterity_desktop.services.analytics.mining.importers import Progress
from auterity_desktop.services.analytics.mining.worker_pool import MiningPool
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

T = TypeVar("T")

MINING_SECONDS = "auterity_process_mining_seconds"
RESOURCE = "analytics/process_mining"


# -- the service ---------------------------------------------------------------------------
class ProcessMiningEngine(BaseService):
    name = "process_mining"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        *,
        processes: int = 2,
        metrics: MetricsCollector | None = None,
    ) -> None:
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.collector = metrics
        self.pool = MiningPool(processes)

    async def initialize(self) -> None:
        if self.collector is not None:
            self.collector.describe(
                MINING_SECONDS, MetricKind.HISTOGRAM, "Seconds per process-mining operation"
            )

    async def cleanup(self) -> None:
        self.pool.shutdown()

    async def _run(
        self,
        operation: str,
        work: Callable[..., T],
        *args: Any,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        controls: bool = False,
    ) -> tuple[T, float]:
        """Run ``work(*args)`` in a worker process; its result and the seconds it took."""
        started = time.perf_counter()
        result = await self.pool.run(
            work, *args, progress=progress, cancel=cancel, controls=controls
        )
        seconds = time.perf_counter() - started
        if self.collector is not None:
            self.collector.observe(MINING_SECONDS, seconds, {"operation": operation})
        return result, seconds

    async def _audit(
        self, actor: Principal, action: str, seconds: float, details: dict[str, Any]
    ) -> None:
        await self.audit.record(
            actor.username,
            action,
            RESOURCE,
            "success",
            {**details, "seconds": round(seconds, 3)},
        )

    @staticmethod
    def _log_details(log: EventLog) -> dict[str, Any]:
        return {"log": log.name, "events": log.n_events, "cases": log.n_cases}

    @guarded("analytics", "execute")
    async def import_log(
        self,
        actor: Principal,
        path: str | Path,
        mapping: Mapping_ = None,
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> EventLog:
        """Read a log file (see ``load_log``). ``progress(done, total)`` is called from the
        worker thread; marshal it before touching the GUI."""
        log_format(path)  # an unknown suffix fails before any thread is used
        log, seconds = await self._run(
            "import", load_log, path, mapping, progress=progress, cancel=cancel, controls=True
        )
        await self._audit(
            actor,
            "analytics.log_imported",
            seconds,
            {"path": str(path), "format": log.source.get("format"), **self._log_details(log)},
        )
        return log

    @guarded("analytics", "execute")
    async def runs_log(
        self,
        actor: Principal,
        since: float | None = None,
        until: float | None = None,
        workflow_id: str | None = None,
    ) -> EventLog:
        """The product's own workflow runs as an event log (``since``/``until`` Unix
        seconds, ``until`` exclusive)."""
        started = time.perf_counter()
        log = await importers.runs_as_event_log(
            self.database, since=since, until=until, workflow_id=workflow_id
        )
        seconds = time.perf_counter() - started
        if self.collector is not None:
            self.collector.observe(MINING_SECONDS, seconds, {"operation": "runs_log"})
        await self._audit(
            actor,
            "analytics.log_imported",
            seconds,
            {"source": "workflow_runs", "since": since, "until": until,
             "workflow_id": workflow_id, **self._log_details(log)},
        )  # fmt: skip
        return log

    @guarded("analytics", "execute")
    async def discover(
        self,
        actor: Principal,
        log: EventLog,
        algorithm: Algorithm = "dfg",
        noise_threshold: float = 0.0,
    ) -> dict[str, Any]:
        """A JSON-ready process model (see ``discovery_document``)."""
        if algorithm not in ALGORITHMS:
            raise _invalid(
                f"Unknown discovery algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}",
                algorithm=str(algorithm),
            )
        document, seconds = await self._run(
            "discover", discovery_document, log, algorithm, noise_threshold
        )
        await self._audit(
            actor,
            "analytics.mined",
            seconds,
            {"algorithm": algorithm, "noise_threshold": document["noise_threshold"],
             **self._log_details(log)},
        )  # fmt: skip
        return document

    @guarded("analytics", "execute")
    async def conformance(
        self, actor: Principal, log: EventLog, pnml_path: str | Path
    ) -> dict[str, Any]:
        """Token-replay fitness and precision of ``log`` on a PNML model."""
        document, seconds = await self._run("conformance", conformance_document, log, pnml_path)
        await self._audit(
            actor,
            "analytics.conformance_checked",
            seconds,
            {"model": str(pnml_path), "fitness": document["fitness"],
             "precision": document["precision"], **self._log_details(log)},
        )  # fmt: skip
        return document

    @guarded("analytics", "execute")
    async def performance(self, actor: Principal, log: EventLog) -> dict[str, Any]:
        """Case durations, bottlenecks, rework and throughput (see ``performance_document``)."""
        document, seconds = await self._run("performance", performance_document, log)
        await self._audit(actor, "analytics.performance_analyzed", seconds, self._log_details(log))
        return document

    @guarded("analytics", "execute")
    async def export_log(self, actor: Principal, log: EventLog, path: str | Path) -> None:
        """Write ``log`` as CSV, XES, XES.GZ or Parquet, by the suffix of ``path``."""
        kind = log_format(path)
        _, seconds = await self._run("export_log", save_log, log, path)
        await self._audit(
            actor,
            "analytics.log_exported",
            seconds,
            {"path": str(path), "format": kind.lstrip("."), **self._log_details(log)},
        )

    @guarded("analytics", "execute")
    async def export_model(
        self,
        actor: Principal,
        log: EventLog,
        path: str | Path,
        algorithm: str = "inductive",
        noise_threshold: float = 0.0,
    ) -> dict[str, Any]:
        """Mine ``log`` with the inductive miner and write the model as ``.pnml`` or
        ``.bpmn``; returns the path, format and the tree's text."""
        log_format(path, MODEL_FORMATS)
        result, seconds = await self._run(
            "export_model", save_model, log, path, algorithm, noise_threshold
        )
        await self._audit(
            actor,
            "analytics.model_exported",
            seconds,
            {"path": str(path), "format": result["format"], "algorithm": algorithm,
             **self._log_details(log)},
        )  # fmt: skip
        return result

    # -- views the Analysis page browses (not audited: they re-read an imported log) -------
    @guarded("analytics", "execute")
    async def filter_log(
        self, actor: Principal, log: EventLog, filters: list[dict[str, Any]]
    ) -> EventLog:
        """``log`` narrowed by ``filters`` (see ``filter_specs``), in order."""
        narrowed, _ = await self._run("filter", apply_filters, log, filters)
        return narrowed

    @guarded("analytics", "execute")
    async def process_map(self, actor: Principal, log: EventLog) -> dict[str, Any]:
        """Activities, directly-follows edges with counts and times, start and end counts
        (see ``process_map_document``)."""
        document, _ = await self._run("process_map", process_map_document, log)
        return document

    @guarded("analytics", "execute")
    async def variants(
        self, actor: Principal, log: EventLog, top: int | None = None
    ) -> list[dict[str, Any]]:
        """Variants by frequency, with share and first case ids."""
        found, _ = await self._run("variants", variants_document, log, top)
        return found

    @guarded("analytics", "execute")
    async def edge_cases(
        self, actor: Principal, log: EventLog, source: str, target: str, limit: int = EDGE_CASES
    ) -> list[str]:
        """The cases in which ``target`` directly follows ``source``."""
        cases, _ = await self._run("edge_cases", edge_cases, log, source, target, limit)
        return cases

    @guarded("analytics", "execute")
    async def dotted_chart(
        self, actor: Principal, log: EventLog, max_points: int = DOTTED_POINTS
    ) -> dict[str, Any]:
        """Events as (case, time, activity) points, whole cases sampled above
        ``max_points``."""
        document, _ = await self._run("dotted_chart", dotted_chart_document, log, max_points)
        return document
