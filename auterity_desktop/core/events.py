"""In-process publish/subscribe: services announce what happened, views listen.

Calls go down, events come up: services publish past-tense snake_case events
(``workflow_saved``, ``run_finished``) and never know who listens. The GUI adapts them to Qt
signals; the REST API and later the team-mode notifier forward them elsewhere.

Handlers run in publish order. A failing handler is logged and never breaks the publisher
or the other handlers. Coroutine handlers run as tasks that ``drain`` awaits and ``close``
cancels, so shutting down leaves no stray tasks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

EVENT_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ALL = "*"


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)
    source: str = ""


Handler = Callable[[Event], Awaitable[None] | None]


class Subscription:
    """Returned by ``subscribe``; ``cancel()`` removes the handler (idempotent)."""

    def __init__(self, bus: EventBus, name: str, handler: Handler) -> None:
        self._bus = bus
        self.name = name
        self.handler = handler
        self.active = True

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self._bus._remove(self)


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def subscribe(self, name: str, handler: Handler) -> Subscription:
        """Listen to one event name, or to every event with ``"*"``."""
        if name != ALL and not EVENT_NAME.match(name):
            raise ValueError(f"event names are snake_case words, got {name!r}")
        sub = Subscription(self, name, handler)
        self._subscriptions.setdefault(name, []).append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        subs = self._subscriptions.get(sub.name, [])
        if sub in subs:
            subs.remove(sub)

    def publish(
        self, name: str, payload: dict[str, Any] | None = None, *, source: str = ""
    ) -> Event:
        if not EVENT_NAME.match(name):
            raise ValueError(f"event names are snake_case words, got {name!r}")
        event = Event(name, dict(payload or {}), source=source)
        if self._closed:
            return event
        # Copy: handlers may subscribe or cancel while we iterate.
        for sub in [*self._subscriptions.get(name, ()), *self._subscriptions.get(ALL, ())]:
            if sub.active:
                self._call(sub, event)
        return event

    def _call(self, sub: Subscription, event: Event) -> None:
        try:
            result = sub.handler(event)
        except Exception:
            logger.exception("event handler failed", extra={"event": event.name})
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._await_handler(result, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _await_handler(self, awaitable: Awaitable[None], event: Event) -> None:
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("event handler failed", extra={"event": event.name})

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every coroutine handler scheduled so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop delivering events and cancel handlers still running."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._subscriptions.clear()
