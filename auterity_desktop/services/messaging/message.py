"""What the queue hands out and takes in: messages, queue settings, dead letters, and the
checks every input passes before it reaches the database.

Every check raises a ``ServiceError`` naming the field, so a bad publish fails at the caller
with a sentence instead of deep inside a batched transaction where it would fail everyone
else's messages too.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

MAX_PAYLOAD_BYTES = 1024 * 1024  # the limit: 1 MB of JSON
MAX_HEADERS_BYTES = 64 * 1024
MAX_PRIORITY = 255  # AMQP's octet
MAX_DELAY_SECONDS = 365 * 24 * 3600.0
MAX_ERROR_CHARS = 2000
OVERFLOW_MODES = ("reject", "drop_oldest")
REASONS = ("rejected", "expired", "maxlen", "delivery_limit")
RECEIPT = re.compile(r"^[0-9a-f]{12}\.(\d{1,19})$")


@dataclass(frozen=True)
class Message:
    """One delivery of a message. ``receipt`` acknowledges this delivery only: after the
    visibility timeout the message may be delivered again under a new receipt."""

    id: str
    queue: str
    topic: str
    payload: Any
    headers: dict[str, Any]
    priority: int
    published_at: float
    deliveries: int  # this delivery's number, from 1
    receipt: str
    visible_until: float
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier deliveries


@dataclass(frozen=True)
class QueueConfig:
    name: str
    pattern: str
    max_length: int
    overflow: str
    delivery_limit: int
    visibility_timeout: float
    ttl: float | None
    depth: int = 0


@dataclass(frozen=True)
class DeadLetter:
    """A message in the dead-letter queue. Listings leave ``payload`` and ``history`` out
    (``None``) and give a preview; one dead letter's detail has them."""

    id: str
    queue: str
    topic: str
    reason: str
    error: str | None
    deliveries: int
    priority: int
    published_at: float
    dead_at: float
    payload_bytes: int
    preview: str
    headers: dict[str, Any] = field(default_factory=dict)
    payload: Any = None
    history: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class DeadLetterPage:
    items: list[DeadLetter]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class ReplayResult:
    replayed: int
    skipped: int  # their queue is gone or full; they stay in the dead-letter queue
    details: dict[str, str] = field(default_factory=dict)  # queue → why skipped


def invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def encode_json(what: str, value: Any, limit: int) -> str:
    """``value`` as compact JSON text, refused when not JSON or larger than ``limit``."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise invalid(f"The {what} must be JSON-serialisable: {exc}", field=what) from None
    if len(text) > limit:  # ensure_ascii: characters are bytes
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"The {what} is {len(text):,} bytes as JSON; the limit is {limit:,}",
            {"field": what, "bytes": len(text), "limit": limit},
        )
    return text


def check_headers(headers: Any) -> dict[str, Any] | None:
    if headers is None:
        return None
    if not isinstance(headers, dict) or not all(isinstance(k, str) for k in headers):
        raise invalid("Headers must be an object with text keys", field="headers")
    if not headers:
        return None
    encode_json("headers", headers, MAX_HEADERS_BYTES)
    return dict(headers)


def check_int(what: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"The {what} must be a whole number from {low} to {high}", field=what)
    return value


def check_seconds(what: str, value: Any, *, low: float = 0.0, high: float = MAX_DELAY_SECONDS,
                  allow_none: bool = False) -> float | None:  # fmt: skip
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise invalid(f"The {what} must be a number of seconds", field=what)
    if not low <= value <= high:
        raise invalid(f"The {what} must be from {low:g} to {high:g} seconds", field=what)
    return float(value)


def check_overflow(value: Any) -> str:
    if value not in OVERFLOW_MODES:
        raise invalid(
            f"overflow must be one of {', '.join(OVERFLOW_MODES)}, got {value!r}", field="overflow"
        )
    return str(value)


def parse_receipt(receipt: Any) -> int:
    """The message id inside a receipt (``<claim token>.<id>``)."""
    match = RECEIPT.match(receipt) if isinstance(receipt, str) else None
    if match is None:
        raise invalid(f"{str(receipt)[:80]!r} is not a message receipt", field="receipt")
    return int(match.group(1))


def parse_ids(ids: Any) -> list[int]:
    """Message ids as the API hands them out (text) or as numbers."""
    if isinstance(ids, str | int):
        ids = [ids]
    try:
        parsed = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise invalid("Message ids must be numbers", field="ids") from None
    if any(i < 1 for i in parsed):
        raise invalid("Message ids must be positive", field="ids")
    return list(dict.fromkeys(parsed))


def clip_error(error: Any) -> str | None:
    if error is None:
        return None
    text = str(error)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
