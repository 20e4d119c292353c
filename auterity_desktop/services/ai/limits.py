"""Requests and tokens per minute per deployment that hold under concurrent calls.

A call reserves its slot and its estimated tokens *before* it is sent: checking and
recording happen in one synchronous step on the event loop, with no ``await`` between them,
so fifty calls started at once cannot all see the same free capacity (LiteLLM's
``usage-based-routing`` without pre-call checks lets them, issue #5783). After the call the
reservation is corrected to the tokens actually used. The window slides over the last 60
seconds; a deployment with ``rpm`` N takes exactly N requests in any 60 s, not N + 1.
When a reservation does not fit, the caller learns when it would, to wait or go elsewhere.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW = 60.0


@dataclass
class Reservation:
    """One call's place in a deployment's window; ``settle`` corrects its tokens."""

    window: _Window
    at: float
    tokens: int
    live: bool = True  # still inside its window

    def settle(self, tokens: int) -> None:
        if tokens != self.tokens and self.live:
            self.window.tokens += tokens - self.tokens
            self.tokens = tokens

    # Identity, not field equality: two calls can reserve the same tokens at the same time.
    __eq__ = object.__eq__
    __hash__ = object.__hash__


@dataclass
class _Window:
    entries: deque[Reservation] = field(default_factory=deque)
    tokens: int = 0

    def expire(self, now: float) -> None:
        entries = self.entries
        while entries and entries[0].at <= now - WINDOW:
            entry = entries.popleft()
            entry.live = False
            self.tokens -= entry.tokens


@dataclass(frozen=True)
class Refusal:
    """Why a reservation did not fit, and from when it would (``None``: never, the
    request alone needs more tokens than a minute allows)."""

    reason: str
    retry_at: float | None


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def forget(self, name: str) -> None:
        self._windows.pop(name, None)

    def usage(self, name: str, now: float) -> tuple[int, int]:
        """Requests and tokens in the last minute."""
        window = self._windows.get(name)
        if window is None:
            return 0, 0
        window.expire(now)
        return len(window.entries), window.tokens

    def reserve(
        self, name: str, rpm: int | None, tpm: int | None, tokens: int, now: float
    ) -> Reservation | Refusal:
        if rpm is None and tpm is None:
            return Reservation(_UNLIMITED, now, tokens, live=False)
        if tpm is not None and tokens > tpm:
            return Refusal(f"needs about {tokens:,} tokens, more than its tpm of {tpm:,}", None)
        window = self._windows.get(name)
        if window is None:
            window = self._windows[name] = _Window()
        window.expire(now)
        entries = window.entries
        if rpm is not None and len(entries) >= rpm:
            # The (len - rpm + 1)-th oldest must leave the window first.
            retry_at = entries[len(entries) - rpm].at + WINDOW
            return Refusal(f"over its rpm ({rpm:,} requests a minute)", retry_at)
        if tpm is not None and window.tokens + tokens > tpm:
            excess = window.tokens + tokens - tpm
            retry_at = now
            for entry in entries:
                excess -= entry.tokens
                retry_at = entry.at + WINDOW
                if excess <= 0:
                    break
            return Refusal(f"over its tpm ({tpm:,} tokens a minute)", retry_at)
        reservation = Reservation(window, now, tokens)
        entries.append(reservation)
        window.tokens += tokens
        return reservation


_UNLIMITED = _Window()  # never holds entries: deployments without limits
