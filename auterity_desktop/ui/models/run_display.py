"""How runs and nodes read on screen: status colours and labels, times and durations.

The Workflows page, the run history and the timeline all show the same statuses, so the
colour a status gets and the way a duration is written live in one place.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

RUN_STATUSES = (
    "queued",
    "pending",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
NODE_STATUSES = ("pending", "running", "waiting", "succeeded", "failed", "skipped", "cancelled")
UNFINISHED = frozenset({"queued", "pending", "running", "waiting"})

# status → theme colour key (see resources/themes/*.json)
_COLOUR_KEYS = {
    "succeeded": "ok",
    "failed": "error",
    "running": "accent",
    "waiting": "warning",
    "interrupted": "warning",
    "cancelled": "muted_text",
    "skipped": "muted_text",
    "pending": "muted_text",
    "queued": "muted_text",
}


def is_unfinished(status: str | None) -> bool:
    """A run in one of these states can still change: it is polled and can be cancelled."""
    return status in UNFINISHED


def status_colour(status: str | None, colours: Mapping[str, str]) -> str:
    return colours.get(_COLOUR_KEYS.get(status or "", "text"), colours.get("text", "#000000"))


def status_label(status: str | None) -> str:
    """The status with a dot in front, so colour is not the only cue."""
    return f"● {status}" if status else "—"


def format_time(timestamp: float | None, *, seconds: bool = True) -> str:
    if not timestamp:
        return "—"
    return datetime.fromtimestamp(timestamp).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def format_duration(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds is None:
        return "—"
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min"


def elapsed(start: float | None, end: float | None, now: float | None = None) -> float | None:
    """Seconds from ``start`` to ``end`` (or to now while still going)."""
    if not start:
        return None
    return (end or (now if now is not None else time.time())) - start
