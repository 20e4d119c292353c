"""Token-bucket rate limiting for the API gateway, per client and per route.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a second; a request
takes one. Unlike a fixed window this allows a short burst after a quiet spell without
letting a client exceed the rate over time, and the wait until the next token is exact,
which is what ``Retry-After`` reports. A request must pass both its client's bucket and its
route's (a busy route is protected from many clients at once); it takes a token from
neither when either refuses, so a refused request costs nothing.

Buckets are kept for the ``max_clients`` most recently seen clients: a flood of made-up
client ids cannot grow memory without bound (a forgotten client starts with a full
bucket, which only the ``rate`` could have given it back anyway).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from auterity_desktop.core.errors import ErrorCode, ServiceError

MAX_CLIENTS = 100_000


@dataclass(frozen=True)
class Limit:
    """``rate`` requests a second on average, bursts of up to ``burst``."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError("rate must be a positive number of requests per second")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")


class TokenBucket:
    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.limit.rate

    def take(self) -> None:
        self.tokens -= 1.0

    def try_take(self, now: float) -> bool:
        """Take a token if one is there (``wait`` and ``take`` in one step)."""
        elapsed = now - self.updated
        if elapsed > 0.0:
            self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """``check(client, route)`` passes a request or raises ``RATE_LIMITED`` with
    ``details["retry_after"]`` (whole seconds, at least 1, for the header) and the scope
    that refused it."""

    def __init__(
        self,
        per_client: Limit | None,
        per_route: Mapping[str, Limit] | None = None,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_clients < 1:
            raise ValueError("max_clients must be at least 1")
        self.per_client = per_client
        self.per_route = dict(per_route or {})
        self.max_clients = max_clients
        self.clock = clock
        self._clients: OrderedDict[str, TokenBucket] = OrderedDict()
        self._routes: dict[str, TokenBucket] = {}

    def _client_bucket(self, client: str, now: float) -> TokenBucket | None:
        if self.per_client is None:
            return None
        bucket = self._clients.get(client)
        if bucket is None:
            bucket = self._clients[client] = TokenBucket(self.per_client, now)
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(client)
        return bucket

    def _route_bucket(self, route: str, now: float) -> TokenBucket | None:
        limit = self.per_route.get(route)
        if limit is None:
            return None
        bucket = self._routes.get(route)
        if bucket is None:
            bucket = self._routes[route] = TokenBucket(limit, now)
        return bucket

    def check(self, client: str, route: str) -> None:
        now = self.clock()
        client_bucket = self._client_bucket(client, now)
        no_route_limit = not self.per_route or route not in self.per_route
        if no_route_limit and (client_bucket is None or client_bucket.try_take(now)):
            return  # the common case, kept cheap
        self._check_all(client, route, now)

    def _check_all(self, client: str, route: str, now: float) -> None:
        buckets = {
            "client": self._client_bucket(client, now),
            "route": self._route_bucket(route, now),
        }
        waits = {scope: b.wait(now) for scope, b in buckets.items() if b is not None}
        refused = {scope: wait for scope, wait in waits.items() if wait > 0.0}
        if refused:
            scope, wait = max(refused.items(), key=lambda item: item[1])
            retry_after = max(1, math.ceil(wait))
            raise ServiceError(
                ErrorCode.RATE_LIMITED,
                f"Too many requests for this {scope}; retry after {retry_after} s",
                {"retry_after": retry_after, "scope": scope, "route": route},
            )
        for bucket in buckets.values():
            if bucket is not None:
                bucket.take()

    @property
    def tracked_clients(self) -> int:
        return len(self._clients)
