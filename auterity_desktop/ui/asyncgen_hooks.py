"""Async generators left suspended are closed by a task on the loop, as asyncio's own loops
arrange it.

asyncio's loops install ``sys.set_asyncgen_hooks`` while they run; qasync's loop does not.
Without the hooks an async generator that is garbage-collected while suspended — httpx's
line iterator after a streamed model reply, for one — is closed synchronously, outside any
task: its cleanup awaits, fails with "async generator ignored GeneratorExit", and its
connection is not released cleanly. With the hooks the loop schedules ``aclose()`` as a
task instead (and ``loop.shutdown_asyncgens()`` can close the rest at exit).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any


def install_asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Give ``loop`` the async-generator hooks (for this thread); returns what restores the
    hooks that were there before."""
    previous = sys.get_asyncgen_hooks()
    first: Any = getattr(loop, "_asyncgen_firstiter_hook", None)
    final: Any = getattr(loop, "_asyncgen_finalizer_hook", None)
    if first is None or final is None:  # not a BaseEventLoop: it manages its own
        return lambda: None
    sys.set_asyncgen_hooks(firstiter=first, finalizer=final)

    def restore() -> None:
        sys.set_asyncgen_hooks(*previous)

    return restore
