"""``WorkflowEngine``: runs workflow graphs with durable per-node state.

A run walks the graph from its trigger: a node becomes ready when every incoming edge is
resolved (its source finished), runs if at least one edge delivered data and is skipped
otherwise (a branch not taken). Ready nodes run in parallel up to ``WORKFLOW_ENGINE_WORKERS``
across all runs. Each node may retry with exponential backoff and jitter, has an optional
timeout, and on failure stops the run, continues, or routes to its ``error`` port. Every node
transition is written to the database before anything depends on it, so ``resume`` after a
crash re-runs only what had not finished.

A node may *park* (an approval waiting for a person, a sub-workflow whose child parked):
the run goes on with its other branches, then parks too — status ``waiting``, nothing held in
memory — and whoever records the decision, in this process or another, claims the run and
continues it. Loops, sub-workflows and approvals live in ``flow_control``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.workflows import flow_control
from auterity_desktop.services.workflows.graph import RunGraph
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow
from auterity_desktop.services.workflows.ownership import (
    HEARTBEAT_INTERVAL,
    LEASE,
    make_owner,
    orphaned,
)
from auterity_desktop.services.workflows.registry import NodeRegistry
from auterity_desktop.services.workflows.run_loop import RunLoop
from auterity_desktop.services.workflows.run_state import (
    ITEM_SEPARATOR,
    NODE_INSERT,
    RUN_FINAL,
    RUN_INSERT,
    RUN_STARTED,
    RUN_STATUS,
    UNFINISHED_RUN,
    NodeState,
    RunState,
    is_item_row,
    main_output,
    storable,
)
from auterity_desktop.services.workflows.state_writer import StateWriter
from auterity_desktop.services.workflows.store import WorkflowStore
from auterity_desktop.services.workflows.validation import ensure_valid

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between two progress writes of one run
POLL_INTERVAL = 1.0  # how often a run looks for decisions and cancel requests from elsewhere
MAX_PARAMS_BYTES = 10 * 1024 * 1024


class WorkflowEngine(RunLoop, BaseService):
    name = "engine"
    base_dependencies = ("database", "audit", "security", "workflows")

    def __init__(
        self,
        database: Database,
        store: WorkflowStore,
        registry: NodeRegistry,
        audit: AuditTrail,
        authz: AuthorizationService,
        events: EventBus,
        metrics: MetricsCollector | None = None,
        *,
        workers: int = 4,
        clock: Callable[[], float] = time.time,
        resume_interrupted: bool = False,
        approval_check_interval: float = 60.0,
        lease: float = LEASE,
    ) -> None:
        super().__init__()
        self.database = database
        self.store = store
        self.registry = registry
        self.audit = audit
        self.authz = authz
        self.events = events
        self.metrics = metrics
        self.workers = workers
        self.clock = clock
        self.resume_interrupted = resume_interrupted
        self.approval_check_interval = approval_check_interval
        self._slots: asyncio.Semaphore | None = None
        self._runs: dict[str, RunState] = {}
        self._http: Any = None
        self._graphs: dict[tuple[str, int], RunGraph] = {}
        self._maintenance: list[asyncio.Task[None]] = []
        self.services: dict[str, Any] = {}  # other services nodes use, e.g. "integrations"
        self.owner = make_owner()
        # fenced: a run another process took over gets no more writes from here
        self._leases_at = time.time()  # every lease of this process was fresh then
        self.writer = StateWriter(
            database,
            self.owner,
            takes={RUN_STARTED},
            on_lost=self._lose,
            fence_needed=self._leases_in_doubt,
        )
        self.interrupted: list[str] = []  # runs found cut off by a crash at start-up
        self.lease = lease
        # A worker process (``auterity worker``): runs it stops driving on shutdown go back
        # to the queue for another worker instead of waiting, interrupted, for this one.
        self.release_to_queue = False

    @property
    def dependencies(self) -> tuple[str, ...]:  # type: ignore[override]  # follows services
        """The services nodes call start first: runs resumed at start-up must find them
        running."""
        used = (s.name for s in self.services.values() if isinstance(s, BaseService))
        return (*self.base_dependencies, *used)

    # -- lifecycle ----------------------------------------------------------------------
    async def initialize(self) -> None:
        import httpx

        self._slots = asyncio.Semaphore(self.workers)
        self._http = httpx.AsyncClient(follow_redirects=True)
        self.interrupted = await self.recover_orphans()
        self._maintenance = [asyncio.create_task(self._heartbeat())]
        if self.approval_check_interval > 0:
            self._maintenance.append(asyncio.create_task(self._sweep()))

    async def recover_orphans(self) -> list[str]:
        """Runs whose process died (crash, power cut) are marked interrupted, then resumed
        or announced; none is silently forgotten. Runs of live processes are left alone."""
        now = time.time()
        async with self.database.begin() as conn:
            rows = (
                await conn.execute(
                    select(RunRow.id, RunRow.owner, RunRow.heartbeat).where(
                        RunRow.status.in_(("pending", "running"))
                    )
                )
            ).all()
            cut_off = [
                r.id for r in rows if orphaned(r.owner, r.heartbeat, now, self.owner, self.lease)
            ]
            if cut_off:
                await conn.execute(
                    update(RunRow)
                    .where(RunRow.id.in_(cut_off), RunRow.status.in_(("pending", "running")))
                    .values(status="interrupted")
                )
        if not cut_off:
            return []
        if self.resume_interrupted:
            logger.warning("resuming runs a crash interrupted", extra={"runs": cut_off})
            for run_id in cut_off:
                try:  # False: another process found it at the same moment and took it
                    await self.resume_interrupted_run(run_id)
                except ServiceError as exc:
                    logger.error(
                        "could not resume an interrupted run",
                        extra={"run_id": run_id, "error": exc.message},
                    )
            await self.audit.record(
                "system", "run.resumed", "runs", "success", {"run_ids": cut_off[:100]}
            )
        else:
            logger.warning(
                "runs were interrupted by a crash; resume them with `auterity run resume RUN_ID`",
                extra={"runs": cut_off},
            )
        self.events.publish(
            "runs_interrupted",
            {"run_ids": cut_off, "resumed": self.resume_interrupted},
            source="engine",
        )
        return cut_off

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(min(HEARTBEAT_INTERVAL, self.lease / 4))
            try:
                await self.beat()
            except Exception:  # the database may be briefly away; the next beat retries
                logger.exception("run heartbeat failed")

    async def beat(self) -> None:
        """Refresh the lease of every run this process drives; a run whose row no longer
        names this process was taken over by another (this one stalled past its lease):
        stop driving it here, writing nothing, so the two do not both go on."""
        active = [r.id for r in self._runs.values() if r.active]
        now = time.time()
        if not active:
            self._leases_at = now  # nothing to lose; a run started later has a newer beat
            return
        async with self.database.begin() as conn:
            kept = set(
                (
                    await conn.execute(
                        update(RunRow)
                        .where(RunRow.id.in_(active), RunRow.owner == self.owner)
                        .values(heartbeat=now)
                        .returning(RunRow.id)
                    )
                ).scalars()
            )
        if kept.issuperset(active):
            self._leases_at = now
        # else: the lost runs' changes already on their way must still be checked (refused)
        for run_id in active:
            if run_id not in kept:
                self._lose(run_id)

    def _leases_in_doubt(self) -> bool:
        """Whether a batch of run state must check that its runs are still this process's.

        On PostgreSQL always: consoles and workers on other machines, with other clocks,
        share its runs. On SQLite the processes share one machine, one clock and one writer
        at a time, and a run is only taken over once its heartbeat is a lease old; while
        this process has refreshed its leases within a third of that, none can be, so the
        check is skipped: one more round trip per commit, it made the 10,000-node engine
        benchmark about 60 % slower.
        It runs after the batch's changes, under the write lock, so a stall before the
        commit is noticed too."""
        if self.database.dialect != "sqlite":
            return True
        return time.time() - self._leases_at > self.lease / 3

    def _lose(self, run_id: str) -> None:
        """Another process drives the run now: stop driving it here, writing nothing."""
        run = self._runs.get(run_id)
        if run is None or not run.active or run.lost:
            return
        logger.warning("another process took this run over", extra={"run_id": run_id})
        run.lost = True
        for task in list(run.tasks):
            task.cancel()
        run.task.cancel()  # type: ignore[union-attr]

    # -- workers (team mode) ------------------------------------------------------------
    @staticmethod
    def hands_off(document: Any) -> bool:
        """The workflow's runs go to workers (``settings.execution: workers``)."""
        return (document.settings or {}).get("execution") == "workers"

    async def claim_runs(self, limit: int) -> list[str]:
        """Claim up to ``limit`` runs queued for workers, or driven by a process whose lease
        ran out, and drive them here from their durable state.

        ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim at once without waiting
        on each other or taking the same run: each sees only rows nobody else is claiming
        (on SQLite, where there is one writer, the clause is left out and the write lock
        does the same). The claim and the new owner are one statement, so a run is never
        half-claimed."""
        started = []
        for run_id in await self.claim_ids(limit):
            try:
                await self._continue(run_id)
                started.append(run_id)
            except ServiceError as exc:  # e.g. its workflow version is gone: say why
                logger.error(
                    "could not drive a claimed run", extra={"run_id": run_id, "error": exc.message}
                )
                await self.writer.write(
                    (RUN_STATUS, {"k_run": run_id, "v_status": "failed"})
                )  # fmt: skip
        return started

    async def claim_ids(self, limit: int) -> list[str]:
        """The claim itself: runs now owned by this process (not yet driven)."""
        if limit < 1:
            return []
        now = time.time()
        candidates = (
            select(RunRow.id)
            .where(
                or_(
                    RunRow.status == "queued",
                    and_(
                        RunRow.status.in_(("pending", "running")),
                        RunRow.heartbeat < now - self.lease,
                        # this process's own runs too (a drive that died on an error),
                        # but not those it is still driving
                        RunRow.id.not_in([r.id for r in self._runs.values() if r.active]),
                    ),
                )
            )
            .order_by(RunRow.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self.database.begin() as conn:
            claimed = list(
                (
                    await conn.execute(
                        update(RunRow)
                        .where(RunRow.id.in_(candidates.scalar_subquery()))
                        .values(status="running", owner=self.owner, heartbeat=now)
                        .returning(RunRow.id)
                    )
                ).scalars()
            )
        return claimed

    def free_slots(self) -> int:
        return max(0, self.workers - sum(1 for r in self._runs.values() if r.active))

    async def work(self, poll: float = 0.5) -> None:
        """The worker loop: keep this process's slots filled with claimed runs."""
        while True:
            try:
                claimed = await self.claim_runs(self.free_slots())
            except Exception:  # the database may be away for a moment: try again
                logger.exception("claiming runs failed")
                claimed = []
            if not claimed:
                await asyncio.sleep(poll)

    async def cleanup(self) -> None:
        for task in self._maintenance:
            task.cancel()
        await asyncio.gather(*self._maintenance, return_exceptions=True)
        self._maintenance = []
        for run in list(self._runs.values()):
            if run.active:
                run.task.cancel()  # type: ignore[union-attr]
        tasks = [r.task for r in self._runs.values() if r.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._runs.clear()
        await self.writer.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def drain(self) -> None:
        """Wait until no run is active in this process (the CLI, before it exits)."""
        while tasks := [r.task for r in self._runs.values() if r.active]:
            await asyncio.gather(*tasks, return_exceptions=True)  # type: ignore[arg-type]

    # -- public API ---------------------------------------------------------------------
    @guarded("workflows", "execute")
    async def execute_workflow(
        self,
        actor: Principal,
        workflow_id: str,
        params: Mapping[str, Any] | None = None,
        version: int | None = None,
        trigger: str | None = None,
    ) -> str:
        """Start a run of the workflow; returns the run id at once (see ``wait``/``status``).

        ``trigger`` names the trigger node that fires (a schedule); by default every enabled
        trigger starts."""
        run = await self.launch(workflow_id, params, actor.username, version, trigger)
        await self.audit.record(
            actor.username,
            "run.started",
            f"runs/{run.id}",
            "success",
            {"workflow_id": workflow_id, "version": run.version},
        )
        return run.id

    async def launch(
        self,
        workflow_id: str,
        params: Mapping[str, Any] | None,
        created_by: str,
        version: int | None = None,
        trigger: str | None = None,
        parent: tuple[str, str] | None = None,
        depth: int = 0,
    ) -> RunState:
        """Create and start a run (authorisation is the caller's business)."""
        if params is not None and not isinstance(params, Mapping):
            raise ServiceError(ErrorCode.INVALID_INPUT, "Run parameters must be an object", {})
        run_params = dict(params or {})
        if len(json.dumps(run_params, default=str)) > MAX_PARAMS_BYTES:
            raise ServiceError(
                ErrorCode.PAYLOAD_TOO_LARGE, "Run parameters are larger than 10 MB", {}
            )
        saved = await self.store.load(workflow_id, version)
        graph = self._graph(workflow_id, saved.version, saved.document)
        defaults: dict[str, Any] = {}
        for node in saved.document.nodes:  # the firing triggers' declared defaults
            if self._is_start(node) and trigger in (None, node.id):
                defaults.update(node.params.get("defaults") or {})
        run_params = {**defaults, **run_params}
        run_id = uuid.uuid4().hex
        queued = parent is None and self.hands_off(saved.document)
        run_row = {
            "id": run_id,
            "workflow_id": workflow_id,
            "version": saved.version,
            "status": "pending",
            "params": storable(run_params)[0],
            "progress": 0.0,
            "created_by": created_by,
            "created_at": self.clock(),
            "parent_run_id": parent[0] if parent else None,
            "parent_node_id": parent[1] if parent else None,
            "depth": depth,
            "cancel_requested": False,
            "owner": None if queued else self.owner,
            "heartbeat": None if queued else time.time(),
        }
        if queued:
            run_row["status"] = "queued"
        await self.writer.write(
            (RUN_INSERT, run_row),
            *(
                (NODE_INSERT, {"run_id": run_id, "node_id": n, "status": "pending", "attempt": 0})
                for n in graph.nodes
            ),
        )
        run = RunState(
            run_id,
            workflow_id,
            saved.version,
            saved.document,
            graph,
            run_params,
            {n: NodeState() for n in graph.nodes},
            created_by,
            trigger=trigger,
            parent_run_id=parent[0] if parent else None,
            parent_node_id=parent[1] if parent else None,
            depth=depth,
        )
        if queued:
            self.events.publish(
                "run_queued", {"run_id": run_id, "workflow_id": workflow_id}, source="engine"
            )
        else:
            self._start(run)
        return run

    def _graph(self, workflow_id: str, version: int, document: Any) -> RunGraph:
        graph = self._graphs.get((workflow_id, version))
        if graph is None:  # versions never change: validate and analyse each once
            ensure_valid(document, self.registry)
            graph = self._graphs[(workflow_id, version)] = RunGraph.build(document)
        return graph

    def active_runs(self, workflow_id: str) -> int:
        """Runs of this workflow being driven by this process right now."""
        return sum(1 for r in self._runs.values() if r.active and r.workflow_id == workflow_id)

    async def unfinished_runs(self, workflow_id: str) -> int:
        """Runs of this workflow in progress anywhere, parked ones included (for overlap
        policies: a run waiting for an approval is still under way)."""
        async with self.database.engine.connect() as conn:
            count = (
                await conn.execute(
                    select(func.count()).where(
                        RunRow.workflow_id == workflow_id,
                        RunRow.status.in_(("queued", "pending", "running", "waiting")),
                    )
                )
            ).scalar()
        return max(int(count or 0), self.active_runs(workflow_id))

    def _start(self, run: RunState) -> None:
        self._runs[run.id] = run
        run.task = asyncio.create_task(self._drive(run))
        run.task.add_done_callback(lambda _: self._forget(run))

    def _forget(self, run: RunState) -> None:
        if self._runs.get(run.id) is run:  # a continuation may have replaced it already
            del self._runs[run.id]

    async def wait(self, run_id: str) -> dict[str, Any]:
        """Wait for a run's work in this process to end (finished, or parked); its status."""
        await self.settled(run_id)
        return await self.run_status(run_id)

    async def settled(self, run_id: str) -> None:
        """Wait until this process has nothing more to do for the run. The run's task may
        end cancelled (a shutdown, or another process took the run over); that ends the
        wait, it does not cancel the waiter."""
        while (run := self._runs.get(run_id)) is not None and run.active:
            try:
                await asyncio.shield(run.task)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                waiter = asyncio.current_task()
                if waiter is not None and waiter.cancelling():
                    raise

    @guarded("runs", "read")
    async def status(self, actor: Principal, run_id: str) -> dict[str, Any]:
        """``{status, progress, results, nodes}`` as the REST API documents it."""
        return await self.run_status(run_id)

    async def run_status(self, run_id: str) -> dict[str, Any]:
        async with self.database.engine.connect() as conn:
            run = (await conn.execute(select(RunRow).where(RunRow.id == run_id))).first()
            _ensure_open(run_id, run.status if run else None, final_ok=True)
            assert run is not None
            rows = (await conn.execute(select(NodeRunRow).where(NodeRunRow.run_id == run_id))).all()
        items: dict[str, int] = {}
        for n in rows:
            if is_item_row(n.node_id):
                loop = n.node_id.split(ITEM_SEPARATOR, 1)[0]
                items[loop] = items.get(loop, 0) + 1
        return {
            "run_id": run.id,
            "workflow_id": run.workflow_id,
            "version": run.version,
            "status": run.status,
            "progress": run.progress,
            "results": run.result or {},
            "error": run.error,
            "params": run.params,
            "created_by": run.created_by,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "parent_run_id": run.parent_run_id,
            "cancel_requested": run.cancel_requested,
            "nodes": {
                n.node_id: {
                    "status": n.status,
                    "input": n.input,
                    "attempt": n.attempt,
                    "error": n.error,
                    "output": n.output,
                    "truncated": n.truncated,
                    "started_at": n.started_at,
                    "finished_at": n.finished_at,
                    "checkpoint": n.checkpoint,
                    **({"items_done": items[n.node_id]} if n.node_id in items else {}),
                }
                for n in rows
                if not is_item_row(n.node_id)
            },
        }

    @guarded("runs", "read")
    async def list_runs(
        self,
        actor: Principal,
        workflow_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        query = select(RunRow).order_by(RunRow.created_at.desc()).limit(max(1, min(limit, 1000)))
        if workflow_id:
            query = query.where(RunRow.workflow_id == workflow_id)
        if status:
            query = query.where(RunRow.status == status)
        async with self.database.session() as db:
            rows = (await db.execute(query)).scalars()
            return [
                {
                    "run_id": r.id,
                    "workflow_id": r.workflow_id,
                    "version": r.version,
                    "status": r.status,
                    "progress": r.progress,
                    "created_by": r.created_by,
                    "created_at": r.created_at,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "error": r.error,
                    "parent_run_id": r.parent_run_id,
                }
                for r in rows
            ]

    @guarded("runs", "write")
    async def cancel(self, actor: Principal, run_id: str) -> str:
        """Stop a run wherever it is; returns ``cancelled``, or ``cancel_requested`` when
        another process is running it (it stops within about a second)."""
        outcome = await self.cancel_run(run_id)
        action = "run.cancelled" if outcome == "cancelled" else "run.cancel_requested"
        await self.audit.record(actor.username, action, f"runs/{run_id}", "success", {})
        return outcome

    async def cancel_run(self, run_id: str) -> str:
        run = self._runs.get(run_id)
        if run is not None and run.active:
            run.cancelled = True
            for task in list(run.tasks):
                task.cancel()
            await asyncio.gather(run.task, return_exceptions=True)  # type: ignore[arg-type]
            return "cancelled"
        async with self.database.begin() as conn:
            row = (await conn.execute(select(RunRow.status).where(RunRow.id == run_id))).first()
            _ensure_open(run_id, row.status if row else None)
            assert row is not None
            if row.status == "running":  # driven by another process: ask it
                await conn.execute(
                    update(RunRow).where(RunRow.id == run_id).values(cancel_requested=True)
                )
                return "cancel_requested"
            await conn.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == row.status)
                .values(status="cancelled", finished_at=self.clock(), error="cancelled")
            )
            await conn.execute(
                update(NodeRunRow)
                .where(
                    NodeRunRow.run_id == run_id,
                    NodeRunRow.status.in_(("pending", "running", "waiting")),
                )
                .values(status="cancelled", error="cancelled")
            )
            children = list(
                (
                    await conn.execute(
                        select(RunRow.id).where(
                            RunRow.parent_run_id == run_id, RunRow.status.in_(UNFINISHED_RUN)
                        )
                    )
                ).scalars()
            )
        for child in children:
            await self.cancel_run(child)
        self.events.publish("run_finished", {"run_id": run_id, "status": "cancelled"})
        return "cancelled"

    @guarded("runs", "execute")
    async def resume(self, actor: Principal, run_id: str) -> None:
        """Continue an interrupted run: finished nodes keep their results, the rest run.
        The run is claimed first, so of two consoles resuming it at once exactly one
        drives it; a run that is not interrupted (finished, waiting for a decision, or
        driven somewhere) is refused."""
        if not await self.resume_interrupted_run(run_id):
            async with self.database.engine.connect() as conn:
                status = (
                    await conn.execute(select(RunRow.status).where(RunRow.id == run_id))
                ).scalar_one_or_none()
            _ensure_open(run_id, status)
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"Run {run_id} is {status}, not interrupted: only an interrupted run can be "
                "resumed",
                {"run_id": run_id, "status": status},
            )
        await self.audit.record(actor.username, "run.resumed", f"runs/{run_id}", "success", {})

    async def resume_interrupted_run(self, run_id: str) -> bool:
        """Claim an interrupted run and drive it on here; False when it is not interrupted
        (any more: another process may have just claimed it)."""
        if not await self._claim(run_id, "interrupted"):
            return False
        try:
            await self._continue(run_id)
        except BaseException:  # e.g. its workflow version is gone: leave it as it was
            async with self.database.begin() as conn:
                await conn.execute(
                    update(RunRow)
                    .where(RunRow.id == run_id, RunRow.owner == self.owner)
                    .where(RunRow.status == "running")
                    .values(status="interrupted")
                )
            raise
        return True

    async def _continue(self, run_id: str) -> None:
        """Load a run's durable state and drive it on from there."""
        if (current := self._runs.get(run_id)) is not None and current.active:
            raise ServiceError(
                ErrorCode.CONFLICT, f"Run {run_id} is already running", {"run_id": run_id}
            )
        async with self.database.session() as db:
            row = await db.get(RunRow, run_id)
            _ensure_open(run_id, row.status if row else None)
            assert row is not None
            nodes = list(
                (await db.execute(select(NodeRunRow).where(NodeRunRow.run_id == run_id))).scalars()
            )
            cancel_requested = row.cancel_requested
            snapshot = (
                row.workflow_id,
                row.version,
                dict(row.params or {}),
                row.created_by,
                row.parent_run_id,
                row.parent_node_id,
                row.depth,
            )
        workflow_id, version, params, created_by, parent_run, parent_node, depth = snapshot
        saved = await self.store.load(workflow_id, version)
        graph = self._graph(workflow_id, version, saved.document)
        states = {n: NodeState() for n in graph.nodes}
        items: dict[str, dict[int, Any]] = {}
        for n in nodes:
            if is_item_row(n.node_id):
                loop, _, index = n.node_id.partition(ITEM_SEPARATOR)
                items.setdefault(loop, {})[int(index)] = main_output(n.output)
            elif n.node_id in states:
                done = n.status in ("succeeded", "skipped")
                states[n.node_id] = NodeState(
                    n.status if done else "pending",
                    n.output if done else None,
                    n.attempt,
                    checkpoint=n.checkpoint,
                )
        run = RunState(
            run_id,
            workflow_id,
            version,
            saved.document,
            graph,
            params,
            states,
            created_by,
            parent_run_id=parent_run,
            parent_node_id=parent_node,
            depth=depth,
            items=items,
            cancelled=cancel_requested,
        )
        self._start(run)

    # -- approvals ----------------------------------------------------------------------
    @guarded("runs", "execute")
    async def approve(
        self,
        actor: Principal,
        run_id: str,
        node_id: str | None = None,
        *,
        approved: bool = True,
        comment: str = "",
    ) -> None:
        """Decide a pending human approval; the run continues (here, if nobody drives it)."""
        if not isinstance(comment, str) or len(comment) > 10_000:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "The comment must be text of at most 10,000 characters"
            )
        pending = [a for a in await self.approvals(run_id) if node_id in (None, a["node_id"])]
        if not pending:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"Run {run_id} has no pending approval"
                + (f" at node {node_id!r}" if node_id else ""),
                {"run_id": run_id, "node_id": node_id},
            )
        if len(pending) > 1:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"Run {run_id} waits for {len(pending)} approvals; say which node",
                {"node_ids": [a["node_id"] for a in pending]},
            )
        request = pending[0]
        approvers = request["approvers"]
        if approvers and actor.username not in approvers:
            raise ServiceError(
                ErrorCode.UNAUTHORIZED,
                f"Only {', '.join(approvers)} may decide this approval",
                {"run_id": run_id, "node_id": request["node_id"], "approvers": approvers},
            )
        decision = {"approved": bool(approved), "by": actor.username, "at": self.clock()}
        if comment:
            decision["comment"] = comment
        await flow_control.record_decision(self, run_id, request["node_id"], decision)
        await self.audit.record(
            actor.username,
            "run.approved" if approved else "run.rejected",
            f"runs/{run_id}",
            "success",
            {"node_id": request["node_id"], "comment": comment[:500]},
        )
        await self.wake(run_id)

    @guarded("runs", "read")
    async def pending_approvals(
        self, actor: Principal, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        return await self.approvals(run_id)

    async def approvals(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Approvals waiting for a decision, oldest first."""
        query = (
            select(NodeRunRow, RunRow.workflow_id, RunRow.version)
            .join(RunRow, RunRow.id == NodeRunRow.run_id)
            .where(NodeRunRow.status == "waiting")
        )
        if run_id is not None:
            query = query.where(NodeRunRow.run_id == run_id)
        async with self.database.session() as db:
            rows = (await db.execute(query)).all()
        result = []
        for node, workflow_id, version in rows:
            request = (node.checkpoint or {}).get("request")
            if request is None:
                continue
            saved = await self.store.load(workflow_id, version)
            names = {n.id: n.name for n in saved.document.nodes}
            result.append(
                {
                    "run_id": node.run_id,
                    "workflow_id": workflow_id,
                    "workflow": saved.document.name,
                    "node_id": node.node_id,
                    "node_name": names.get(node.node_id, node.node_id),
                    **request,
                }
            )
        return sorted(result, key=lambda a: a["requested_at"])

    async def expire_approvals(self) -> list[str]:
        """Reject approvals whose time ran out; returns the runs that were decided."""
        decided = []
        now = self.clock()
        for request in await self.approvals():
            if request["deadline"] > now:
                continue
            decision = {"approved": False, "by": "system", "at": now, "comment": "timed out"}
            try:
                await flow_control.record_decision(
                    self, request["run_id"], request["node_id"], decision
                )
            except ServiceError:
                continue  # decided by someone else meanwhile
            await self.audit.record(
                "system",
                "run.rejected",
                f"runs/{request['run_id']}",
                "success",
                {"node_id": request["node_id"], "comment": "timed out"},
            )
            await self.wake(request["run_id"])
            decided.append(request["run_id"])
        return decided

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.approval_check_interval)
            try:
                await self.expire_approvals()
                await self.recover_orphans()
            except Exception:  # a bad row must not stop the sweeper
                logger.exception("checking approval deadlines and orphaned runs failed")

    async def wake(self, run_id: str) -> None:
        """Something a parked node of this run waited for has happened: let the run go on,
        in the process driving it or — when nobody drives it — here."""
        run = self._runs.get(run_id)
        if run is not None and run.active:
            run.wake.set()
        elif await self._claim(run_id):
            await self._continue(run_id)

    async def _claim(self, run_id: str, status: str = "waiting") -> bool:
        """Take a parked (or interrupted) run; exactly one process wins."""
        async with self.database.begin() as conn:
            result = await conn.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == status)
                .values(status="running", owner=self.owner, heartbeat=time.time())
            )
        return bool(result.rowcount)


def _ensure_open(run_id: str, status: str | None, *, final_ok: bool = False) -> None:
    """Refuse a run that does not exist or (unless ``final_ok``) has already ended."""
    if status is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"There is no run {run_id!r}", {"run_id": run_id})
    if status in RUN_FINAL and not final_ok:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"Run {run_id} has already {status}",
            {"run_id": run_id, "status": status},
        )
