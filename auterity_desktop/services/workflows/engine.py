"""``WorkflowEngine``: runs workflow graphs with durable per-node state.

A run walks the graph from its trigger: a node becomes ready when every incoming edge is
resolved (its source finished), runs if at least one edge delivered data and is skipped
otherwise (a branch not taken). Ready nodes run in parallel up to ``WORKFLOW_ENGINE_WORKERS``
across all runs. Each node may retry with exponential backoff and jitter, has an optional
timeout, and on failure stops the run, continues, or routes to its ``error`` port. Every node
transition is written to the database before anything depends on it, so ``resume`` after a
crash re-runs only what had not finished.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.workflows.document import WorkflowDocument, WorkflowNode
from auterity_desktop.services.workflows.executors import EXECUTORS, NodeContext
from auterity_desktop.services.workflows.expressions import ExpressionError, render
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow
from auterity_desktop.services.workflows.registry import ERROR_PORT, NodeRegistry
from auterity_desktop.services.workflows.state_writer import StateWriter
from auterity_desktop.services.workflows.store import WorkflowStore
from auterity_desktop.services.workflows.validation import ensure_valid

logger = logging.getLogger(__name__)

TERMINAL = frozenset({"succeeded", "failed", "skipped", "cancelled"})
RUN_FINAL = frozenset({"succeeded", "failed", "cancelled"})
MAX_STORED_BYTES = 256 * 1024
PROGRESS_INTERVAL = 0.25  # seconds between two progress writes of one run


@dataclass
class NodeState:
    status: str = "pending"
    output: dict[str, Any] | None = None
    attempt: int = 0
    error: str | None = None


@dataclass
class _Run:
    id: str
    document: WorkflowDocument
    params: dict[str, Any]
    states: dict[str, NodeState]
    task: asyncio.Task[None] | None = None
    cancelled: bool = False
    running: dict[str, asyncio.Task[dict[str, Any]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    trigger: str | None = None  # the one trigger that starts this run (None: every trigger)
    workflow_id: str = ""

    def __post_init__(self) -> None:
        self.names = {n.name: n.id for n in self.document.nodes}


class _NodeOutputs(Mapping[str, Any]):
    """``$node["Name"].output`` for expressions, read on access (building a dict of every
    node for every node would make large graphs quadratic)."""

    def __init__(self, run: _Run) -> None:
        self._run = run

    def _done(self, name: str) -> NodeState | None:
        node_id = self._run.names.get(name)
        state = self._run.states.get(node_id) if node_id is not None else None
        return state if state is not None and state.status == "succeeded" else None

    def __getitem__(self, name: str) -> Any:
        state = self._done(name)
        if state is None:
            raise KeyError(name)
        return {"output": _main(state.output)}

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._run.names if self._done(name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _storable(value: Any) -> tuple[Any, bool]:
    """The value as JSON for the database, truncated (with a flag) when it is large."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = json.dumps(repr(value))
    if len(text) <= MAX_STORED_BYTES:
        return json.loads(text), False
    return {"truncated": True, "preview": text[:2000], "bytes": len(text)}, True


class WorkflowEngine(BaseService):
    name = "engine"
    dependencies = ("database", "audit", "security", "workflows")

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
        self._slots: asyncio.Semaphore | None = None
        self._runs: dict[str, _Run] = {}
        self._http: Any = None
        self.writer = StateWriter(database)
        self._validated: set[tuple[str, int]] = set()
        self.interrupted: list[str] = []  # runs found cut off by a crash at start-up

    # -- lifecycle ----------------------------------------------------------------------
    async def initialize(self) -> None:
        import httpx

        self._slots = asyncio.Semaphore(self.workers)
        self._http = httpx.AsyncClient(follow_redirects=True)
        # A run still marked running was cut off by a crash: list it, never forget it.
        async with self.database.session() as db:
            rows = (
                await db.execute(select(RunRow).where(RunRow.status.in_(("pending", "running"))))
            ).scalars()
            cut_off = []
            for row in rows:
                row.status = "interrupted"
                cut_off.append(row.id)
        self.interrupted = cut_off
        if cut_off:
            logger.warning(
                "runs were interrupted by a crash; resume them with `auterity run resume RUN_ID`",
                extra={"runs": cut_off},
            )
            self.events.publish("runs_interrupted", {"run_ids": cut_off}, source="engine")

    async def cleanup(self) -> None:
        for run in list(self._runs.values()):
            if run.task is not None and not run.task.done():
                run.task.cancel()
        tasks = [r.task for r in self._runs.values() if r.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._runs.clear()
        await self.writer.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

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
        if params is not None and not isinstance(params, Mapping):
            raise ServiceError(ErrorCode.INVALID_INPUT, "Run parameters must be an object", {})
        run_params = dict(params or {})
        if len(json.dumps(run_params, default=str)) > 10 * 1024 * 1024:
            raise ServiceError(
                ErrorCode.PAYLOAD_TOO_LARGE, "Run parameters are larger than 10 MB", {}
            )
        saved = await self.store.load(workflow_id, version)
        if (workflow_id, saved.version) not in self._validated:  # versions never change
            ensure_valid(saved.document, self.registry)
            self._validated.add((workflow_id, saved.version))
        run_id = uuid.uuid4().hex
        now = self.clock()
        run_row = {
            "id": run_id,
            "workflow_id": workflow_id,
            "version": saved.version,
            "status": "pending",
            "params": _storable(run_params)[0],
            "progress": 0.0,
            "created_by": actor.username,
            "created_at": now,
        }
        node_rows = [
            {"run_id": run_id, "node_id": n.id, "status": "pending", "attempt": 0}
            for n in saved.document.nodes
        ]
        await self.writer.write(
            insert(RunRow).values(**run_row), insert(NodeRunRow).values(node_rows)
        )
        await self.audit.record(
            actor.username,
            "run.started",
            f"runs/{run_id}",
            "success",
            {"workflow_id": workflow_id, "version": saved.version},
        )
        states = {n.id: NodeState() for n in saved.document.nodes}
        self._start(
            _Run(
                run_id, saved.document, run_params, states, trigger=trigger, workflow_id=workflow_id
            )
        )
        return run_id

    def active_runs(self, workflow_id: str) -> int:
        """Runs of this workflow in progress in this process (for overlap policies)."""
        return sum(
            1
            for run in self._runs.values()
            if run.task is not None and not run.task.done() and run.workflow_id == workflow_id
        )

    def _start(self, run: _Run) -> None:
        self._runs[run.id] = run
        run.task = asyncio.create_task(self._drive(run))

    async def wait(self, run_id: str) -> dict[str, Any]:
        """Wait for a run started in this process to end; returns its status."""
        run = self._runs.get(run_id)
        if run is not None and run.task is not None:
            await asyncio.shield(run.task)
        return await self.run_status(run_id)

    @guarded("runs", "read")
    async def status(self, actor: Principal, run_id: str) -> dict[str, Any]:
        """``{status, progress, results, nodes}`` as the REST API documents it."""
        return await self.run_status(run_id)

    async def run_status(self, run_id: str) -> dict[str, Any]:
        async with self.database.session() as db:
            run = await db.get(RunRow, run_id)
            if run is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"There is no run {run_id!r}", {"run_id": run_id}
                )
            nodes = (
                await db.execute(select(NodeRunRow).where(NodeRunRow.run_id == run_id))
            ).scalars()
            return {
                "run_id": run.id,
                "workflow_id": run.workflow_id,
                "version": run.version,
                "status": run.status,
                "progress": run.progress,
                "results": run.result or {},
                "error": run.error,
                "nodes": {
                    n.node_id: {
                        "status": n.status,
                        "attempt": n.attempt,
                        "error": n.error,
                        "output": n.output,
                        "truncated": n.truncated,
                        "started_at": n.started_at,
                        "finished_at": n.finished_at,
                    }
                    for n in nodes
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
                    "finished_at": r.finished_at,
                    "error": r.error,
                }
                for r in rows
            ]

    @guarded("runs", "write")
    async def cancel(self, actor: Principal, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None or run.task is None or run.task.done():
            raise ServiceError(
                ErrorCode.CONFLICT, f"Run {run_id} is not running here", {"run_id": run_id}
            )
        run.cancelled = True
        for task in list(run.running.values()):
            task.cancel()
        await asyncio.gather(run.task, return_exceptions=True)
        await self.audit.record(actor.username, "run.cancelled", f"runs/{run_id}", "success", {})

    @guarded("runs", "execute")
    async def resume(self, actor: Principal, run_id: str) -> None:
        """Continue an interrupted run: finished nodes keep their results, the rest run."""
        if run_id in self._runs and not self._runs[run_id].task.done():  # type: ignore[union-attr]
            raise ServiceError(
                ErrorCode.CONFLICT, f"Run {run_id} is already running", {"run_id": run_id}
            )
        async with self.database.session() as db:
            row = await db.get(RunRow, run_id)
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"There is no run {run_id!r}", {"run_id": run_id}
                )
            if row.status in RUN_FINAL:
                raise ServiceError(
                    ErrorCode.CONFLICT, f"Run {run_id} already {row.status}", {"status": row.status}
                )
            workflow_id, version, params = row.workflow_id, row.version, row.params
            nodes = (
                await db.execute(select(NodeRunRow).where(NodeRunRow.run_id == run_id))
            ).scalars()
            states = {}
            for n in nodes:
                done = n.status in ("succeeded", "skipped")
                states[n.node_id] = NodeState(
                    n.status if done else "pending", n.output if done else None, n.attempt
                )
        saved = await self.store.load(workflow_id, version)
        await self.audit.record(actor.username, "run.resumed", f"runs/{run_id}", "success", {})
        self._start(
            _Run(run_id, saved.document, dict(params or {}), states, workflow_id=workflow_id)
        )

    # -- the run loop -------------------------------------------------------------------
    async def _drive(self, run: _Run) -> None:
        doc = run.document
        nodes = {n.id: n for n in doc.nodes}
        incoming: dict[str, list[Any]] = {n.id: [] for n in doc.nodes}
        for edge in doc.edges:
            incoming[edge.target].append(edge)
        start = [n.id for n in doc.nodes if self._is_start(n) and run.trigger in (None, n.id)]
        reachable = self._reachable(start, doc)
        total = max(len(reachable), 1)
        await self._set_run(run.id, status="running", started_at=self.clock())
        self.events.publish("run_started", {"run_id": run.id, "workflow": doc.name})
        failure: str | None = None
        outgoing: dict[str, list[str]] = {n.id: [] for n in doc.nodes}
        for edge in doc.edges:
            outgoing[edge.source].append(edge.target)
        # Only nodes whose inputs just changed are looked at again: O(edges) per run, not
        # O(nodes²), which matters for graphs of thousands of nodes.
        candidates: deque[str] = deque(nodes)
        finished = sum(1 for n in reachable if run.states[n].status in TERMINAL)
        last_progress = 0.0

        def settled(node_id: str) -> None:
            nonlocal finished
            if node_id in reachable:
                finished += 1
            candidates.extend(outgoing[node_id])

        try:
            while True:
                while candidates:
                    node_id = candidates.popleft()
                    state = run.states[node_id]
                    if state.status != "pending" or node_id in run.running:
                        continue
                    decision, value = self._readiness(
                        nodes[node_id], incoming[node_id], run, node_id in start
                    )
                    if decision == "wait":
                        continue
                    if decision == "skip":
                        state.status = "skipped"
                        await self._save_node(run.id, node_id, state)
                        settled(node_id)
                        continue
                    run.running[node_id] = asyncio.create_task(
                        self._execute(run, nodes[node_id], value)
                    )
                    state.status = "running"
                if not run.running:
                    break
                done, _ = await asyncio.wait(
                    run.running.values(), return_when=asyncio.FIRST_COMPLETED
                )
                for node_id, task in list(run.running.items()):
                    if task not in done:
                        continue
                    del run.running[node_id]
                    state = run.states[node_id]
                    node = nodes[node_id]
                    if task.cancelled():
                        state.status, state.error = "cancelled", "cancelled"
                    elif (exc := task.exception()) is not None:
                        state.error = (
                            f"{type(exc).__name__}: {exc}"
                            if not isinstance(exc, ServiceError)
                            else exc.message
                        )
                        if node.on_error == "route":
                            state.status, state.output = (
                                "succeeded",
                                {ERROR_PORT: {"error": state.error, "input": None}},
                            )
                        elif node.on_error == "continue":
                            state.status, state.output = (
                                "succeeded",
                                {"main": {"error": state.error}},
                            )
                        else:
                            state.status = "failed"
                            failure = failure or f"{node.name}: {state.error}"
                    else:
                        state.status, state.output = "succeeded", task.result()
                    await self._save_node(run.id, node_id, state)
                    settled(node_id)
                    self.events.publish(
                        "node_finished",
                        {"run_id": run.id, "node_id": node_id, "status": state.status},
                    )
                now = time.monotonic()
                if now - last_progress >= PROGRESS_INTERVAL:  # the GUI polls; no need per node
                    last_progress = now
                    await self._set_run(run.id, progress=finished / total)
                if failure or run.cancelled:
                    for task in run.running.values():
                        task.cancel()
                    if run.running:
                        await asyncio.gather(*run.running.values(), return_exceptions=True)
                    for node_id in list(run.running):
                        run.states[node_id].status = "cancelled"
                        await self._save_node(run.id, node_id, run.states[node_id])
                    run.running.clear()
                    break
        except asyncio.CancelledError:
            # shutting down: leave the run resumable
            for task in run.running.values():
                task.cancel()
            await self._set_run(run.id, status="interrupted")
            raise
        for node_id, state in run.states.items():
            if state.status in ("pending", "running"):
                state.status = "cancelled" if (failure or run.cancelled) else "skipped"
                await self._save_node(run.id, node_id, state)
        status = "cancelled" if run.cancelled else "failed" if failure else "succeeded"
        results = {
            nodes[n].name: _storable(s.output)[0]
            for n, s in run.states.items()
            if s.status == "succeeded" and not any(e.source == n for e in doc.edges)
        }
        await self._set_run(
            run.id,
            status=status,
            progress=1.0 if status == "succeeded" else None,
            finished_at=self.clock(),
            result=results,
            error=failure,
        )
        if self.metrics is not None:
            self.metrics.increment("auterity_runs_total", labels={"status": status})
        self.events.publish("run_finished", {"run_id": run.id, "status": status})

    def _is_start(self, node: WorkflowNode) -> bool:
        node_type = self.registry.get(node.type)
        return bool(node_type and node_type.trigger and not node.disabled)

    @staticmethod
    def _reachable(start: list[str], doc: WorkflowDocument) -> set[str]:
        outgoing: dict[str, list[str]] = {}
        for edge in doc.edges:
            outgoing.setdefault(edge.source, []).append(edge.target)
        seen, stack = set(start), list(start)
        while stack:
            for target in outgoing.get(stack.pop(), []):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def _readiness(
        self, node: WorkflowNode, edges: list[Any], run: _Run, is_start: bool
    ) -> tuple[str, Any]:
        if is_start:
            return "run", run.params
        if not edges:
            return "skip", None
        delivered = []
        resolved = True
        for edge in edges:
            source = run.states[edge.source]
            if source.status not in TERMINAL:
                resolved = False
                continue
            if (
                source.status == "succeeded"
                and source.output is not None
                and edge.source_port in source.output
            ):
                delivered.append(source.output[edge.source_port])
        first_wins = node.type == "merge" and node.params.get("mode") == "first"
        if first_wins and delivered:
            return "run", delivered
        if not resolved:
            return "wait", None
        if not delivered or node.disabled:  # a branch not taken, or switched off
            return "skip", None
        node_type = self.registry.get(node.type)
        multiple = bool(node_type and any(p.multiple for p in node_type.inputs))
        # merge always gets a list; other multi-input nodes only when several branches arrive
        as_list = multiple and (node.type == "merge" or len(delivered) > 1)
        return "run", (delivered if as_list else delivered[0])

    async def _execute(self, run: _Run, node: WorkflowNode, value: Any) -> dict[str, Any]:
        executor = EXECUTORS.get(node.type)
        if executor is None:
            raise ServiceError(
                ErrorCode.WORKFLOW_ERROR,
                f"Node type {node.type} cannot run in this build yet",
                {"node_id": node.id},
            )
        assert self._slots is not None
        state = run.states[node.id]
        context = {
            "$input": value,
            "$params": run.params,
            "$run": {"id": run.id},
            "$node": _NodeOutputs(run),
        }
        policy = node.retry
        for attempt in range(1, policy.attempts + 1):
            state.attempt = attempt
            await self._save_node(run.id, node.id, state, started=True, input_value=value)
            self.events.publish(
                "node_started", {"run_id": run.id, "node_id": node.id, "attempt": attempt}
            )
            try:
                params = render(node.params, context)
                ctx = NodeContext(
                    run.id, node.id, node.name, params, value, run.params, http=self._http
                )
                async with self._slots:
                    async with asyncio.timeout(node.timeout):
                        output = await executor(ctx)
                return output
            except ExpressionError:
                raise  # a bad expression will not get better by retrying
            except TimeoutError:
                error: Exception = ServiceError(
                    ErrorCode.TIMEOUT,
                    f"{node.name} took longer than {node.timeout:g} s",
                    {"node_id": node.id},
                )
            except Exception as exc:
                error = exc
            if attempt == policy.attempts:
                raise error
            delay = min(policy.max_delay, policy.delay * policy.backoff ** (attempt - 1))
            state.error = str(error)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")

    # -- persistence --------------------------------------------------------------------
    async def _save_node(
        self,
        run_id: str,
        node_id: str,
        state: NodeState,
        *,
        started: bool = False,
        input_value: Any = None,
    ) -> None:
        """Write one node transition; returns once it is committed (group commit)."""
        now = self.clock()
        key = (NodeRunRow.run_id == run_id) & (NodeRunRow.node_id == node_id)
        if started:
            stored, truncated = _storable(input_value)
            values: dict[str, Any] = {
                "status": "running",
                "attempt": state.attempt,
                "input": stored,
                "truncated": truncated,
                "started_at": func.coalesce(NodeRunRow.started_at, now),
            }
        else:
            values = {
                "status": state.status,
                "attempt": state.attempt,
                "finished_at": now,
                "error": state.error if state.status in ("failed", "cancelled") else None,
            }
            if state.output is not None:
                values["output"], truncated = _storable(state.output)
                if truncated:
                    values["truncated"] = True
        await self.writer.write(update(NodeRunRow).where(key).values(**values))

    async def _set_run(self, run_id: str, **values: Any) -> None:
        changes = {k: v for k, v in values.items() if v is not None or k == "error"}
        await self.writer.write(update(RunRow).where(RunRow.id == run_id).values(**changes))


def _main(output: dict[str, Any] | None) -> Any:
    if not output:
        return None
    return output.get("main", next(iter(output.values())))
