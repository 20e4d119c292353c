"""Worker processes for process mining, with progress and cancel across the process edge.

Threads are not enough here: parsing a CSV into Python strings, building categoricals or
the cyclic garbage collector over a big log hold the GIL for hundreds of milliseconds at a
time, and the GUI's event loop shares that GIL. In a separate process the work has its own
interpreter, so the loop only ever waits for pickling the log and the (small) documents.

Progress reaches the parent through one queue read by a parent thread, so ``progress``
callbacks run **on that thread**. The result travels another way (the executor's pipe) and
may arrive first, so each call with controls ends its progress with a marker on the same
queue; the call returns, and its slot is reused, only once the marker was read: every
report, the last one ("done") included, has then been delivered.

Cancel is a shared byte per call that the parent sets when the caller's ``threading.Event``
is set; inside the worker a real ``threading.Event`` mirrors it, so the importers' cancel
checks work unchanged. Workers are started with ``spawn`` (never ``fork``: the parent has
Qt and database threads) the first time work arrives, so a platform that never mines never
starts one.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError

T = TypeVar("T")
Progress = Callable[[int, int], None]

SLOTS = 64  # calls in flight at once; more wait for a free slot
POLL_SECONDS = 0.05
LAST_PROGRESS_WAIT = 10.0  # seconds a finished call waits for its marker at most

# -- the worker side -----------------------------------------------------------------------
_progress_queue: Any = None
_cancel_flags: Any = None


def _init_worker(progress_queue: Any, cancel_flags: Any) -> None:
    global _progress_queue, _cancel_flags
    _progress_queue = progress_queue
    _cancel_flags = cancel_flags


def _call_in_worker(
    slot: int, function: Callable[..., T], args: tuple[Any, ...], wants_controls: bool
) -> T:
    if not wants_controls:
        return function(*args)
    cancel = threading.Event()
    if _cancel_flags[slot]:  # cancelled before it started
        cancel.set()
    finished = threading.Event()

    def mirror_cancel() -> None:
        while not finished.wait(POLL_SECONDS):
            if _cancel_flags[slot]:
                cancel.set()
                return

    def report(done: int, total: int) -> None:
        _progress_queue.put((slot, done, total))

    watcher = threading.Thread(target=mirror_cancel, daemon=True)
    watcher.start()
    try:
        return function(*args, progress=report, cancel=cancel)
    finally:
        finished.set()
        watcher.join()
        _progress_queue.put((slot, None, None))  # this call is done with its slot


# -- the parent side -----------------------------------------------------------------------
class _Call:
    """One call's hold on a slot, released once (by its marker or by its end)."""

    def __init__(self, slot: int, loop: asyncio.AbstractEventLoop) -> None:
        self.slot = slot
        self.loop = loop
        self.reported = asyncio.Event()  # its marker was read: all its progress delivered
        self.released = False


class MiningPool:
    """A lazily started pool of ``processes`` workers."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.processes = processes
        self._context = multiprocessing.get_context("spawn")
        self._executor: ProcessPoolExecutor | None = None
        self._queue: Any = None
        self._flags: Any = None
        self._reader: threading.Thread | None = None
        self._listeners: dict[int, Progress] = {}
        self._calls: dict[int, _Call] = {}  # slot → the call holding it
        self._free = list(range(SLOTS))
        self._slots: asyncio.Semaphore | None = None

    @property
    def started(self) -> bool:
        return self._executor is not None

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._queue = self._context.Queue()
            self._flags = self._context.RawArray("b", SLOTS)
            self._executor = ProcessPoolExecutor(
                self.processes,
                mp_context=self._context,
                initializer=_init_worker,
                initargs=(self._queue, self._flags),
            )
            self._reader = threading.Thread(
                target=self._read_progress, name="process-mining-progress", daemon=True
            )
            self._reader.start()
        return self._executor

    def _read_progress(self) -> None:
        queue = self._queue
        while True:
            item = queue.get()
            if item is None:
                return
            slot, done, total = item
            if done is None:  # the call's marker: its reports above were all delivered
                call = self._calls.get(slot)
                if call is not None:
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        call.loop.call_soon_threadsafe(self._reported, call)
                continue
            listener = self._listeners.get(slot)
            if listener is not None:
                with contextlib.suppress(Exception):  # a caller's bug must not end the reader
                    listener(done, total)

    def _reported(self, call: _Call) -> None:
        call.reported.set()
        self._release(call)

    def _release(self, call: _Call) -> None:
        if call.released:
            return
        call.released = True
        slot = call.slot
        self._calls.pop(slot, None)
        self._listeners.pop(slot, None)
        self._flags[slot] = 0
        self._free.append(slot)
        if self._slots is not None:
            self._slots.release()

    async def run(
        self,
        function: Callable[..., T],
        *args: Any,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        controls: bool = False,
    ) -> T:
        """``function(*args)`` in a worker; with ``controls`` it is called with ``progress``
        and ``cancel`` keywords that report to ``progress`` and follow ``cancel``. If the
        awaiting task is cancelled the worker is told to cancel too, and the call's slot
        is reused only once the worker is done with it."""
        executor = self._start()
        loop = asyncio.get_running_loop()
        if self._slots is None:
            self._slots = asyncio.Semaphore(SLOTS)
        await self._slots.acquire()
        slot = self._free.pop()
        call = self._calls[slot] = _Call(slot, loop)
        self._flags[slot] = 1 if cancel is not None and cancel.is_set() else 0
        if progress is not None:
            self._listeners[slot] = progress
        try:
            future: Future[T] = executor.submit(_call_in_worker, slot, function, args, controls)
        except BaseException:
            self._release(call)
            raise

        def finished(done: Future[T]) -> None:
            ran = not done.cancelled() and not isinstance(done.exception(), BrokenProcessPool)
            if controls and ran:
                return  # its marker, read by the progress thread, frees the slot
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._release, call)

        future.add_done_callback(finished)
        waiting = asyncio.wrap_future(future)
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=POLL_SECONDS)
                if done:
                    result = waiting.result()
                    if controls:  # hand back only once every progress report is delivered
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(call.reported.wait(), LAST_PROGRESS_WAIT)
                    return result
                if cancel is not None and cancel.is_set():
                    self._flags[slot] = 1
        except asyncio.CancelledError:
            self._flags[slot] = 1
            raise
        except BrokenProcessPool:
            self._forget_broken()
            raise ServiceError(
                ErrorCode.INTERNAL_ERROR,
                "A process-mining worker stopped unexpectedly (out of memory?); try again "
                "with a smaller log or a filter",
                {},
            ) from None

    def _forget_broken(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        self._stop_reader()

    def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            self._queue.put(None)
            reader.join(timeout=5)
        self._queue = None
        for call in list(self._calls.values()):  # no marker can come now
            with contextlib.suppress(RuntimeError):
                call.loop.call_soon_threadsafe(self._reported, call)

    def shutdown(self) -> None:
        """Stop the workers now: running work is abandoned (a closing app does not wait
        for a mining job), queued work is dropped."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        self._stop_reader()
