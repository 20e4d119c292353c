"""How one run moves: the walk over a scope of the graph, readiness of nodes, executing a
node with retries and timeout, parking, finishing, and writing every transition.

Split from ``engine`` so the service's API (start, status, cancel, resume, approve) reads
apart from the loop that does the work; ``WorkflowEngine`` mixes this in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.services.workflows import flow_control
from auterity_desktop.services.workflows.document import WorkflowEdge, WorkflowNode
from auterity_desktop.services.workflows.executors import EXECUTORS
from auterity_desktop.services.workflows.expressions import ExpressionError, render
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow
from auterity_desktop.services.workflows.node_context import NodeContext
from auterity_desktop.services.workflows.registry import ERROR_PORT, NodeRegistry
from auterity_desktop.services.workflows.run_state import (
    NODE_FINISHED,
    NODE_PARKED,
    NODE_STARTED,
    RUN_FINISHED,
    RUN_PROGRESS,
    RUN_RELEASED,
    RUN_STARTED,
    RUN_STATUS,
    TERMINAL,
    NodeState,
    Parked,
    RunState,
    main_output,
    node_key,
    storable,
)
from auterity_desktop.services.workflows.state_writer import StateWriter

if TYPE_CHECKING:
    from auterity_desktop.services.workflows.engine import WorkflowEngine

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between two progress writes of one run
POLL_INTERVAL = 1.0  # how often a run looks for decisions and cancel requests from elsewhere


class _NodeOutputs(Mapping[str, Any]):
    """``$node["Name"].output`` for expressions, read on access (building a dict of every
    node for every node would make large graphs quadratic)."""

    def __init__(self, run: RunState, states: Mapping[str, NodeState]) -> None:
        self._run = run
        self._states = states

    def _done(self, name: str) -> NodeState | None:
        node_id = self._run.names.get(name)
        state = self._states.get(node_id) if node_id is not None else None
        return state if state is not None and state.status == "succeeded" else None

    def __getitem__(self, name: str) -> Any:
        state = self._done(name)
        if state is None:
            raise KeyError(name)
        return {"output": main_output(state.output)}

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._run.names if self._done(name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class RunLoop:
    """The run loop of ``WorkflowEngine``; the attributes below are the engine's."""

    database: Database
    registry: NodeRegistry
    events: EventBus
    metrics: MetricsCollector | None
    writer: StateWriter
    clock: Callable[[], float]
    owner: str
    release_to_queue: bool
    _slots: asyncio.Semaphore | None
    _http: Any
    services: dict[str, Any]

    async def _claim(self, run_id: str) -> bool:
        raise NotImplementedError

    @property
    def _engine(self) -> WorkflowEngine:
        return cast("WorkflowEngine", self)

    # -- the run loop -------------------------------------------------------------------
    async def _drive(self, run: RunState) -> None:
        graph = run.graph
        main_scope = set(graph.scopes[None])
        start = [
            n for n in main_scope if self._is_start(graph.nodes[n]) and run.trigger in (None, n)
        ]
        reachable = graph.reachable(start) & main_scope
        run.total = max(len(reachable), 1)
        run.finished = sum(1 for n in reachable if run.states[n].status in TERMINAL)
        run.start = set(start)
        await self.writer.write(
            (
                RUN_STARTED,
                {
                    "k_run": run.id,
                    "v_now": self.clock(),
                    "v_owner": self.owner,
                    "v_beat": time.time(),
                },
            )
        )
        self.events.publish("run_started", {"run_id": run.id, "workflow": run.document.name})
        failure: str | None = None
        try:
            while not run.cancelled:
                failure = await self._walk(run, None, run.states)
                if failure or run.cancelled or not run.waiting:
                    break
                if not await self._park(run):
                    if run.cancelled:  # cancelled while parking: finish as cancelled
                        break
                    return
        except asyncio.CancelledError:
            if run.lost:  # another process drives it now: write nothing more
                raise
            if not run.cancelled:  # shutting down: leave the run resumable
                if self.release_to_queue:  # a worker: another worker takes it at once
                    await self.writer.write((RUN_RELEASED, {"k_run": run.id}))
                else:
                    await self.writer.write(
                        (RUN_STATUS, {"k_run": run.id, "v_status": "interrupted"})
                    )
                raise
        await self._finish(run, failure)

    async def _park(self, run: RunState) -> bool:
        """Nothing can move until someone decides: mark the run waiting and let go of it,
        unless a decision arrived meanwhile (then go on; returns True)."""
        await self.writer.write((RUN_STATUS, {"k_run": run.id, "v_status": "waiting"}))
        self.events.publish(
            "run_waiting", {"run_id": run.id, "node_ids": sorted(run.waiting)}, source="engine"
        )
        while True:
            # A decision made here while this check runs sets ``wake`` (this run is still
            # active, so ``wake()`` leaves it to us); one made later finds the run waiting
            # and claims it itself.
            run.wake.clear()
            if await self._take_decisions(run):
                return await self._claim(run.id)
            if not run.wake.is_set():
                return False

    async def _finish(self, run: RunState, failure: str | None) -> None:
        graph = run.graph
        changes = []
        for node_id, state in run.states.items():
            if state.status in ("pending", "running", "waiting"):
                state.status = "cancelled" if (failure or run.cancelled) else "skipped"
                changes.append(self._finished_change(run.id, node_id, state))
        if changes:
            await self.writer.write(*changes)
        status = "cancelled" if run.cancelled else "failed" if failure else "succeeded"
        results = {
            graph.nodes[n].name: storable(run.states[n].output)[0]
            for n in graph.leaves[None]
            if run.states[n].status == "succeeded"
        }
        await self.writer.write(
            (
                RUN_FINISHED,
                {
                    "k_run": run.id,
                    "v_status": status,
                    "v_progress": 1.0 if status == "succeeded" else run.finished / run.total,
                    "v_now": self.clock(),
                    "v_result": results,
                    "v_error": "cancelled" if run.cancelled else failure,
                },
            )
        )
        if self.metrics is not None:
            self.metrics.increment("auterity_runs_total", labels={"status": status})
        self.events.publish("run_finished", {"run_id": run.id, "status": status})
        if run.parent_run_id is not None and run.parent_node_id is not None:
            await flow_control.release_parent(self._engine, run.parent_run_id, run.parent_node_id)

    def _is_start(self, node: WorkflowNode) -> bool:
        node_type = self.registry.get(node.type)
        return bool(node_type and node_type.trigger and not node.disabled)

    async def _walk(
        self,
        run: RunState,
        scope: str | None,
        states: MutableMapping[str, NodeState],
        item: int | None = None,
    ) -> str | None:
        """Run the nodes of one scope (the main graph, or one item of a loop body) until
        none can move; returns why the run failed, if it did."""
        graph = run.graph
        members = graph.scopes[scope]
        in_scope = set(members)
        start = run.start if scope is None else set()
        candidates: deque[str] = deque(members)
        running: dict[str, asyncio.Task[dict[str, Any]]] = {}
        failure: str | None = None
        last_progress = last_poll = time.monotonic()

        def settled(node_id: str) -> None:
            if scope is None:
                run.finished += 1
            candidates.extend(graph.outgoing[node_id])

        try:
            while True:
                while candidates:
                    node_id = candidates.popleft()
                    state = states[node_id]
                    if node_id not in in_scope or state.status != "pending":
                        continue
                    decision, value = self._readiness(
                        graph.nodes[node_id], graph.incoming[node_id], states, run, node_id in start
                    )
                    if decision == "wait":
                        continue
                    if decision == "skip":
                        state.status = "skipped"
                        await self._save_finished(run, node_id, state, item)
                        settled(node_id)
                        continue
                    task = asyncio.create_task(
                        self._execute(run, graph.nodes[node_id], value, states, item)
                    )
                    running[node_id] = task
                    run.tasks.add(task)
                    task.add_done_callback(run.tasks.discard)
                    state.status = "running"
                if not running:
                    break
                waiter = self._wake_waiter(run, scope)
                done, _ = await asyncio.wait(
                    [*running.values(), *waiter],
                    timeout=POLL_INTERVAL,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for pending in waiter:
                    pending.cancel()
                for node_id, task in list(running.items()):
                    if task not in done:
                        continue
                    del running[node_id]
                    state = states[node_id]
                    node = graph.nodes[node_id]
                    error = None if task.cancelled() else task.exception()
                    if task.cancelled():
                        state.status, state.error = "cancelled", "cancelled"
                    elif isinstance(error, Parked):
                        state.status, state.checkpoint = "waiting", error.checkpoint
                        run.waiting.add(node_id)
                        await self.writer.write(
                            (
                                NODE_PARKED,
                                {**node_key(run.id, node_id), "v_checkpoint": error.checkpoint},
                            )
                        )
                        self.events.publish(
                            "node_waiting",
                            {"run_id": run.id, "node_id": node_id, **error.checkpoint},
                        )
                        continue
                    elif error is not None:
                        state.error = (
                            error.message
                            if isinstance(error, ServiceError)
                            else f"{type(error).__name__}: {error}"
                        )
                        if node.on_error == "route":
                            state.status = "succeeded"
                            routed: dict[str, Any] = {"error": state.error, "input": None}
                            if isinstance(error, ServiceError) and error.details:
                                routed["details"] = error.details  # e.g. an infeasibility report
                            state.output = {ERROR_PORT: routed}
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
                    await self._save_finished(run, node_id, state, item)
                    settled(node_id)
                    self.events.publish(
                        "node_finished",
                        {"run_id": run.id, "node_id": node_id, "status": state.status},
                    )
                if scope is None:
                    now = time.monotonic()
                    if now - last_progress >= PROGRESS_INTERVAL:  # the GUI polls; not per node
                        last_progress = now
                        await self.writer.write(
                            (
                                RUN_PROGRESS,
                                {"k_run": run.id, "v_progress": run.finished / run.total},
                            )
                        )
                    if now - last_poll >= POLL_INTERVAL or run.wake.is_set():
                        last_poll = now  # decisions or cancel requests made elsewhere
                        run.wake.clear()
                        if await self._cancel_requested(run.id):
                            run.cancelled = True
                        for node_id in await self._take_decisions(run):
                            candidates.append(node_id)
                if failure or run.cancelled:
                    for task in running.values():
                        task.cancel()
                    if running:
                        await asyncio.gather(*running.values(), return_exceptions=True)
                    for node_id in running:
                        states[node_id].status = "cancelled"
                        await self._save_finished(run, node_id, states[node_id], item)
                    running.clear()
                    break
        except asyncio.CancelledError:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
            raise
        return failure

    @staticmethod
    def _wake_waiter(run: RunState, scope: str | None) -> list[asyncio.Task[Any]]:
        """While nodes are parked, a decision made in this process ends the wait at once."""
        if scope is not None or not run.waiting or run.wake.is_set():
            return []
        return [asyncio.ensure_future(run.wake.wait())]

    async def _cancel_requested(self, run_id: str) -> bool:
        async with self.database.engine.connect() as conn:
            flag = (
                await conn.execute(select(RunRow.cancel_requested).where(RunRow.id == run_id))
            ).scalar()
        return bool(flag)

    async def _take_decisions(self, run: RunState) -> list[str]:
        """Parked nodes whose wait is over (their row was set back to pending)."""
        if not run.waiting:
            return []
        async with self.database.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(NodeRunRow.node_id, NodeRunRow.checkpoint).where(
                        NodeRunRow.run_id == run.id,
                        NodeRunRow.node_id.in_(sorted(run.waiting)),
                        NodeRunRow.status == "pending",
                    )
                )
            ).all()
        for node_id, checkpoint in rows:
            run.waiting.discard(node_id)
            state = run.states[node_id]
            state.status, state.checkpoint = "pending", checkpoint
        return [node_id for node_id, _ in rows]

    def _readiness(
        self,
        node: WorkflowNode,
        edges: list[WorkflowEdge],
        states: Mapping[str, NodeState],
        run: RunState,
        is_start: bool,
    ) -> tuple[str, Any]:
        if is_start:
            return "run", run.params
        if not edges:
            return "skip", None
        delivered = []
        resolved = True
        for edge in edges:
            source = states[edge.source]
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

    async def _execute(
        self,
        run: RunState,
        node: WorkflowNode,
        value: Any,
        states: MutableMapping[str, NodeState],
        item: int | None,
    ) -> dict[str, Any]:
        control = flow_control.CONTROL.get(node.type)
        executor = EXECUTORS.get(node.type)
        if executor is None and control is None:
            raise ServiceError(
                ErrorCode.WORKFLOW_ERROR,
                f"Node type {node.type} cannot run in this build",
                {"node_id": node.id},
            )
        assert self._slots is not None
        state = states[node.id]
        context = {
            "$input": value,
            "$params": run.params,
            "$run": {"id": run.id},
            "$node": _NodeOutputs(run, states),
        }
        if item is not None:
            context["$item"] = {"index": item}
        policy = node.retry
        for attempt in range(1, policy.attempts + 1):
            state.attempt = attempt
            await self._save_started(run.id, node.id, state, value, item)
            self.events.publish(
                "node_started", {"run_id": run.id, "node_id": node.id, "attempt": attempt}
            )
            try:
                params = render(node.params, context)
                if control is not None:  # loops and waits hold no worker slot
                    limit = None if node.type == "approval" else node.timeout
                    async with asyncio.timeout(limit):
                        return await control(self._engine, run, node, params, value, states, item)
                ctx = NodeContext(
                    run.id,
                    node.id,
                    node.name,
                    params,
                    value,
                    run.params,
                    http=self._http,
                    services=self.services,
                    workflow_id=run.workflow_id,
                )
                async with self._slots:
                    async with asyncio.timeout(node.timeout):
                        return await executor(ctx)  # type: ignore[misc]
            except (ExpressionError, Parked):
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
    async def _save_started(
        self, run_id: str, node_id: str, state: NodeState, value: Any, item: int | None
    ) -> None:
        if item is not None:
            return  # loop items are kept in memory; the loop's own row is durable
        stored, truncated = storable(value)
        await self.writer.write(
            (
                NODE_STARTED,
                {
                    **node_key(run_id, node_id),
                    "v_attempt": state.attempt,
                    "v_input": stored,
                    "v_truncated": truncated,
                    "v_now": self.clock(),
                },
            )
        )

    async def _save_finished(
        self, run: RunState, node_id: str, state: NodeState, item: int | None
    ) -> None:
        if item is not None:
            flow_control.note_item(run, node_id, state, item)
            return
        await self.writer.write(self._finished_change(run.id, node_id, state))

    def _finished_change(self, run_id: str, node_id: str, state: NodeState) -> Any:
        output, truncated = (None, False) if state.output is None else storable(state.output)
        return (
            NODE_FINISHED,
            {
                **node_key(run_id, node_id),
                "v_status": state.status,
                "v_attempt": state.attempt,
                "v_now": self.clock(),
                "v_error": state.error if state.status in ("failed", "cancelled") else None,
                "v_output": output,
                "v_truncated": truncated,
            },
        )
