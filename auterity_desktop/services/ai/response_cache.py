"""Answers already paid for, returned again for the same question.

The key is a digest of everything that shapes the answer — the messages, max_tokens,
temperature, the JSON schema, the capabilities asked for — and of where it may come from
(the deployment asked for, or the policy), so a cheap model's answer is never served to a
caller who asked for another. The store is the core ``CacheService``: bounded LRU with a
TTL, and single-flight, so identical requests arriving together make one provider call.
Errors are never cached. Any change to the catalogue empties it.

A hit costs nothing: the response comes back with ``cached=True``, ``cost=0`` and a
decision that says so; ``usage`` still describes the answer's tokens.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from auterity_desktop.core.cache import CacheService
from auterity_desktop.services.ai.types import ModelRequest, ModelResponse, RoutingDecision

DEFAULT_TTL = 3600.0


def cache_key(request: ModelRequest) -> str:
    material = [
        [[m.role, m.content] for m in request.messages],
        request.max_tokens,
        request.temperature,
        request.json_schema,
        sorted(c.value for c in request.capabilities),
        request.deployment,
        request.policy,
    ]
    encoded = _encode(material)
    return hashlib.blake2b(encoded.encode("utf-8"), digest_size=20).hexdigest()


_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode


def as_hit(response: ModelResponse, latency: float) -> ModelResponse:
    return replace(
        response,
        cached=True,
        cost=0.0,
        latency_s=latency,
        time_to_first_token_s=None,
        decision=RoutingDecision(
            policy=response.decision.policy,
            strategy=response.decision.strategy,
            chosen=response.deployment,
            reason=f"answered from the response cache (first answered by {response.deployment})",
        ),
    )


class ResponseCache:
    """``size`` 0 turns caching off (``AI_MODEL_CACHE_SIZE=0``)."""

    def __init__(
        self, size: int, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time
    ) -> None:
        self.size = size
        self.ttl = ttl
        self._store = CacheService(max_size=size, default_ttl=ttl, clock=clock) if size else None

    @property
    def enabled(self) -> bool:
        return self._store is not None

    def __len__(self) -> int:
        return 0 if self._store is None else len(self._store)

    async def get(self, key: str) -> ModelResponse | None:
        if self._store is None:
            return None
        found = await self._store.get(key)
        return found if isinstance(found, ModelResponse) else None

    async def put(self, key: str, response: ModelResponse) -> None:
        if self._store is not None:
            await self._store.set(key, response)

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[ModelResponse]]
    ) -> tuple[ModelResponse, bool]:
        """The response and whether it was computed by this call (False: a hit, or the
        answer of an identical request that was already on its way)."""
        if self._store is None:
            return await compute(), True
        ran = False

        async def getter() -> ModelResponse:
            nonlocal ran
            ran = True
            return await compute()

        response = await self._store.get_or_set(key, getter)
        return response, ran

    async def clear(self) -> None:
        if self._store is not None:
            await self._store.clear()
