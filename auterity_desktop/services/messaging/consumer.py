"""In-process consumers: ``MessageQueue.subscribe`` runs one of these per subscription.

A consumer claims as many messages as it has free handler slots (one claim statement for
all of them), runs the handler for each, and acknowledges on success or nacks with the
error text on failure, so a poison message reaches the dead-letter queue after the queue's
delivery limit. When the queue is empty it sleeps until a publish in this process wakes it
or the poll interval passes (another process may have published). On PostgreSQL a publish
in another process wakes it too, through LISTEN/NOTIFY, and polling is only a fallback.

A handler that runs long keeps its messages: the consumer extends their visibility before
it runs out, so a slow handler is not mistaken for a dead one and its message is not
delivered twice. A consumer that dies (crash, SIGKILL) extends nothing, and its messages
become claimable again when their visibility timeout ends — that is how a crash is survived.

Synchronous handlers run in a worker thread, so a slow one never freezes the event loop
(and with it the GUI). Stopping lets running handlers finish for a grace period, then
cancels them and hands their messages back at once, without counting that delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.messaging.message import Message, clip_error

if TYPE_CHECKING:
    from auterity_desktop.services.messaging.queue import MessageQueue

logger = logging.getLogger(__name__)

Handler = Callable[[Message], Awaitable[Any] | Any]
ERROR_BACKOFF = 1.0  # seconds to wait after the database refused a claim
# In team mode another process's publish arrives as a notification (PostgreSQL NOTIFY via
# the team relay), so an idle consumer only looks this often as a safety net.
TEAM_POLL = 30.0


class RejectMessage(Exception):
    """Raise from a handler to send the message straight to the dead-letter queue
    (reason ``rejected``) instead of retrying it."""


class Subscription:
    """A running consumer of one queue. ``cancel()`` stops it; ``stop()`` also waits."""

    def __init__(
        self,
        service: MessageQueue,
        queue: str,
        pattern: str,
        handler: Handler,
        *,
        concurrency: int,
        poll: float,
        visibility_timeout: float,
        retry_delay: float,
        threaded: bool,
    ) -> None:
        self.service = service
        self.queue = queue
        self.pattern = pattern
        self.handler = handler
        self.concurrency = concurrency
        self.poll = poll
        self.visibility_timeout = visibility_timeout
        self.retry_delay = retry_delay
        self._is_async = _is_async(handler)
        self._threaded = threaded and not self._is_async
        self._active: dict[asyncio.Task[None], tuple[Message, float]] = {}
        self._settling: set[asyncio.Task[bool]] = set()
        self._slot = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.handled = 0
        self.failed = 0
        self.error: str | None = None  # why the consumer stopped by itself

    # -- life ---------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.queue}")
        self._keeper = asyncio.create_task(self._keep_claims(), name=f"keeper:{self.queue}")

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def in_progress(self) -> int:
        return len(self._active)

    def cancel(self) -> None:
        """Stop claiming messages; handlers already running finish (idempotent)."""
        if not self._stopping:
            self._stopping = True
            self.service._wake(self.queue)
            self._slot.set()

    async def stop(self, grace: float = 5.0) -> None:
        """Cancel, wait up to ``grace`` seconds for running handlers, then cancel them
        (their messages go back to the queue at once)."""
        self.cancel()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._active:
            _done, pending = await asyncio.wait(list(self._active), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        self.service._forget(self)

    # -- the loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        signal = self.service._signal(self.queue)
        while not self._stopping:
            free = self.concurrency - len(self._active)
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            signal.clear()
            try:
                messages = await self.service.get_many(self.queue, free, self.visibility_timeout)
            except ServiceError as exc:
                if exc.code is ErrorCode.NOT_FOUND:  # the queue was deleted
                    self.error = exc.message
                    logger.warning("consumer stopped", extra={"queue": self.queue})
                    return
                logger.warning(
                    "consumer could not claim messages",
                    extra={"queue": self.queue, "error": exc.message},
                )
                await self._sleep(signal, ERROR_BACKOFF)
                continue
            except Exception:  # a bug must not end the consumer silently; say it, go on
                logger.exception("consumer failed to claim messages", extra={"queue": self.queue})
                await self._sleep(signal, ERROR_BACKOFF)
                continue
            if not messages:
                remote = getattr(self.service, "remote_wakeups", False)
                await self._sleep(signal, max(self.poll, TEAM_POLL) if remote else self.poll)
                continue
            now = asyncio.get_running_loop().time()
            for message in messages:
                if self._stopping:  # claimed while stopping: hand it straight back
                    await self.service.release(message.receipt)
                    continue
                task = asyncio.create_task(self._handle(message))
                self._active[task] = (message, now)
                task.add_done_callback(self._finished)

    async def _sleep(self, signal: asyncio.Event, seconds: float) -> None:
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), seconds)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._active.pop(task, None)
        self._slot.set()

    async def _handle(self, message: Message) -> None:
        try:
            await self._call(message)
        except asyncio.CancelledError:
            await asyncio.shield(self.service.release(message.receipt))
            raise
        except RejectMessage as exc:
            self.failed += 1
            reason = clip_error(str(exc) or "rejected by the handler")
            self._settle(self.service.nack(message.receipt, requeue=False, reason=reason))
        except Exception as exc:
            self.failed += 1
            reason = clip_error(f"{type(exc).__name__}: {exc}")
            self._settle(self.service.nack(message.receipt, reason=reason, delay=self.retry_delay))
        else:
            self.handled += 1
            self._settle(self.service.ack(message.receipt))

    async def _call(self, message: Message) -> None:
        if self._is_async:
            await self.handler(message)
            return
        if self._threaded:
            result = await asyncio.to_thread(self.handler, message)
        else:
            result = self.handler(message)
        if inspect.isawaitable(result):
            await result

    def _settle(self, outcome: Coroutine[Any, Any, bool]) -> None:
        """Ack or nack without holding the handler's slot until it is committed: the next
        claim then rides in the same transaction as these acks. A failure only means the
        message comes back later; ``stop`` waits for what is still on its way."""
        task = asyncio.ensure_future(outcome)
        self._settling.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[bool]) -> None:
        self._settling.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, ServiceError):
            logger.warning(
                "could not settle a message; it will be delivered again",
                extra={"queue": self.queue, "error": exc.message},
            )
        elif exc is not None:
            logger.error("settling a message failed", exc_info=exc)
        elif not task.result():
            logger.info("a message was delivered again before it was settled")

    async def _keep_claims(self) -> None:
        """Extend the claims of handlers still running before their visibility ends."""
        every = max(self.visibility_timeout / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            now = asyncio.get_running_loop().time()
            due = [(t, m) for t, (m, since) in self._active.items() if now - since >= every]
            if not due:
                continue
            # one batch; a failure only risks a second delivery, the next round retries
            await asyncio.gather(
                *(self.service.extend(m.receipt, self.visibility_timeout) for _, m in due),
                return_exceptions=True,
            )
            for task, message in due:
                if task in self._active:
                    self._active[task] = (message, now)


def _is_async(handler: Any) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with async __call__
    )
