"""The vocabulary shared by the AI orchestration service, the cognitive engine, the AI
workflow nodes and the AI page: what a caller asks for, what comes back, and why that
deployment answered. Plain dataclasses, so the CLI, the REST API and tests need no more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


class ProviderKind(StrEnum):
    """Wire formats: OpenAI-compatible chat completions (OpenAI, vLLM, LM Studio, llama.cpp
    server, Ollama's /v1), Anthropic messages, Ollama's native /api/chat."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    OLLAMA = "ollama"


class Capability(StrEnum):
    TOOLS = "tools"
    JSON = "json"  # structured (JSON) output
    VISION = "vision"


class Strategy(StrEnum):
    COST = "cost"  # cheapest deployment that has the capabilities and the context length
    LATENCY = "latency"  # lowest recent latency
    LEAST_BUSY = "least_busy"  # fewest calls in flight
    WEIGHTED = "weighted"  # random, weighted by each deployment's weight
    ORDER = "order"  # the policy's order, first healthy one


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass
class ModelRequest:
    """One chat call. ``deployment`` names a deployment to call (its policy's fallbacks
    still apply when ``policy`` is also given); otherwise ``policy`` names a routing policy,
    and with neither the default policy routes it."""

    messages: list[ChatMessage]
    deployment: str | None = None
    policy: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    json_schema: dict[str, Any] | None = None  # ask for JSON output matching this schema
    capabilities: frozenset[Capability] = frozenset()  # needed beyond plain chat
    cache: bool = True  # a cached answer may be returned
    timeout: float | None = None  # seconds; AI_REQUEST_TIMEOUT when None
    workflow_id: str | None = None  # for per-workflow budgets and accounting
    run_id: str | None = None
    purpose: str = "chat"  # "playground", "workflow", "classify", ... (for usage reports)

    @classmethod
    def from_prompt(cls, prompt: str, system: str | None = None, **kwargs: Any) -> ModelRequest:
        messages = [ChatMessage("system", system)] if system else []
        return cls([*messages, ChatMessage("user", prompt)], **kwargs)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # part of the input served from the provider's prompt cache

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Attempt:
    """One call to one deployment while serving a request."""

    deployment: str
    outcome: str  # "ok", "rate_limited", "server_error", "timeout", "bad_response", ...
    latency_s: float
    status: int | None = None  # HTTP status when there was one
    error: str | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class RoutingDecision:
    """Why this deployment answered: the policy and strategy, the candidates and why each
    skipped one was skipped ("cooling down until 12:03:10", "lacks json", "context 8,192 <
    needed 12,400", "over its rpm", "daily budget spent"), and every attempt made."""

    policy: str | None
    strategy: Strategy | None
    chosen: str | None
    reason: str
    skipped: dict[str, str] = field(default_factory=dict)  # deployment → why not
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class ModelResponse:
    id: str
    text: str
    deployment: str
    provider: ProviderKind
    model: str
    usage: Usage
    cost: float  # in the catalogue's currency, from the deployment's prices per 1k tokens
    latency_s: float  # request to last byte
    time_to_first_token_s: float | None
    cached: bool
    finish_reason: str | None
    decision: RoutingDecision
    json: Any = None  # the parsed output when a json_schema was asked for
    tokens_per_s: float | None = None  # output tokens per second while generating


@dataclass(frozen=True)
class StreamDelta:
    """A piece of text as it arrives; the stream ends with the full ``ModelResponse``."""

    text: str
