"""Message triggers: one queue per trigger node, bound to its topic pattern, and a
consumer that starts one run per message.

A message is acknowledged once its run exists durably (the run itself survives crashes
and resumes), so no message is lost and none starts two runs unless this process dies
between the two — at-least-once, as the queue promises. The queue outlives restarts:
messages published while the console is closed start their runs when it opens again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from sqlalchemy import select

from auterity_desktop.core.events import EventBus
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import WorkflowRow
from auterity_desktop.services.workflows.store import WorkflowStore

logger = logging.getLogger(__name__)
TRIGGER_TYPE = "message_trigger"


def queue_name(workflow_id: str, node_id: str, pattern: str) -> str:
    """Stable per trigger and pattern: a changed pattern gets a fresh queue."""
    digest = hashlib.sha256(pattern.encode()).hexdigest()[:8]
    return f"workflow.{workflow_id[:16]}.{node_id[:40]}.{digest}"


class MessageTriggers(BaseService):
    name = "message_triggers"
    dependencies = ("workflows", "engine", "messages")

    def __init__(
        self,
        store: WorkflowStore,
        engine: WorkflowEngine,
        queue: Any,
        events: EventBus,
        *,
        enabled: bool = True,
    ) -> None:
        super().__init__()
        self.store = store
        self.engine = engine
        self.queue = queue
        self.events = events
        self.enabled = enabled
        self.active: dict[tuple[str, str], tuple[str, Any]] = {}  # trigger → queue, sub
        # queue → "workflow · trigger node": the queue's name is an id a person cannot read
        self.titles: dict[str, str] = {}
        self._listeners: list[Any] = []
        self._pending: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        if not self.enabled:
            return
        await self.sync()
        for name in ("workflow_saved", "workflow_deleted"):
            self._listeners.append(self.events.subscribe(name, self._changed))

    async def cleanup(self) -> None:
        for listener in self._listeners:
            listener.cancel()
        self._listeners.clear()
        if self._pending is not None:
            await asyncio.gather(self._pending, return_exceptions=True)
        for _, subscription in self.active.values():
            await subscription.stop()
        self.active.clear()

    def _changed(self, _event: Any) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self.sync())

    async def wanted(self) -> dict[tuple[str, str], tuple[str, str, int, str]]:
        """Every enabled message trigger of every saved workflow: queue, pattern, workers and
        a title for people."""
        async with self.store.database.session() as db:
            ids = list(
                (
                    await db.execute(select(WorkflowRow.id).where(WorkflowRow.deleted.is_(False)))
                ).scalars()
            )
        result = {}
        for workflow_id in ids:
            saved = await self.store.load(workflow_id)
            for node in saved.document.nodes:
                if node.type != TRIGGER_TYPE or node.disabled:
                    continue
                pattern = str(node.params.get("pattern") or "")
                if not pattern:
                    continue
                concurrency = int(node.params.get("concurrency") or 1)
                name = queue_name(workflow_id, node.id, pattern)
                title = f"{saved.document.name} · {node.name}"
                result[(workflow_id, node.id)] = (name, pattern, concurrency, title)
        return result

    async def sync(self) -> None:
        """Consume for every trigger that exists now; stop the ones that went away."""
        try:
            wanted = await self.wanted()
        except Exception:
            logger.exception("could not read the workflows' message triggers")
            return
        self.titles = {name: title for name, _, _, title in wanted.values()}
        for key, (name, subscription) in list(self.active.items()):
            if wanted.get(key, ("",))[0] != name:
                await subscription.stop()
                del self.active[key]
                await self.queue.delete_queue(name)
        for key, (name, pattern, concurrency, _) in wanted.items():
            if key in self.active:
                continue
            workflow_id, node_id = key
            try:
                subscription = await self.queue.subscribe(
                    pattern, self._handler(workflow_id, node_id), queue=name,
                    concurrency=concurrency,
                )  # fmt: skip
            except Exception:
                logger.exception(
                    "could not listen for a message trigger",
                    extra={"workflow_id": workflow_id, "node_id": node_id},
                )
                continue
            self.active[key] = (name, subscription)

    def _handler(self, workflow_id: str, node_id: str) -> Any:
        async def start_run(message: Any) -> None:
            params = {
                "payload": message.payload,
                "message": {
                    "id": message.id,
                    "topic": message.topic,
                    "headers": message.headers,
                    "published_at": message.published_at,
                    "delivery": message.deliveries,
                },
            }
            await self.engine.launch(workflow_id, params, "trigger:messages", trigger=node_id)

        return start_run
