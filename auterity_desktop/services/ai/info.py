"""What the orchestration service tells the GUI, the REST API and the CLI: plain frozen
dataclasses with no secrets in them (``has_key`` says whether a key is stored, never what
it is)."""

from __future__ import annotations

from dataclasses import dataclass

from auterity_desktop.services.ai.types import ProviderKind, Strategy, Usage

# DeploymentInfo.state: one word per status, for icons and colours
DEPLOYMENT_STATES = (
    "ready", "never_used", "failing", "cooling_down", "rate_limited", "no_key", "disabled",
)  # fmt: skip


@dataclass(frozen=True)
class DeploymentInfo:
    name: str
    provider: ProviderKind
    model: str
    api_base: str
    price_input_per_1k: float
    price_output_per_1k: float
    context_window: int
    capabilities: tuple[str, ...]
    rpm: int | None
    tpm: int | None
    weight: float
    enabled: bool
    has_key: bool
    status: str  # "ready", "cooling down until 14:03:10", "no API key", "never used", ...
    state: str  # one of DEPLOYMENT_STATES
    price_cached_input_per_1k: float | None = None
    max_output_tokens: int = 1024
    in_flight: int = 0
    cooling_until: float | None = None
    last_used_at: float | None = None
    last_error: str | None = None
    updated_at: float | None = None


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    strategy: Strategy
    deployments: tuple[str, ...]  # () = every enabled deployment, by name
    fallbacks: tuple[str, ...]
    num_retries: int
    allowed_fails: int
    cooldown_seconds: float
    description: str
    is_default: bool
    updated_at: float | None = None


@dataclass(frozen=True)
class BudgetInfo:
    id: str
    scope: str  # "global", "deployment:<name>" or "workflow:<id>"
    period: str  # "day" or "month" (UTC)
    limit: float
    spent: float  # this period, settled
    held: float  # estimates of calls in flight
    remaining: float
    exhausted: bool
    period_start: float
    resets_at: float
    label: str  # "the daily budget of deployment gpt-4o"
    updated_at: float | None = None


@dataclass(frozen=True)
class UsageRow:
    start: float  # bucket start (UTC epoch seconds)
    deployment: str  # "" for requests refused before any deployment was called
    requests: int
    errors: int
    cached: int
    input_tokens: int
    output_tokens: int
    cost: float
    p50_latency_s: float | None
    p95_latency_s: float | None


@dataclass(frozen=True)
class DeploymentStats:
    deployment: str
    requests: int  # in the last ``window_s``, cache hits excluded
    errors: int  # failed calls (attempts) in the window
    error_rate: float | None  # failed calls / calls
    p50_latency_s: float | None
    p95_latency_s: float | None
    p50_ttft_s: float | None  # streamed replies
    p95_ttft_s: float | None
    tokens_per_s: float | None  # median output speed
    spend_today: float  # UTC day
    spend_month: float  # UTC month
    in_flight: int
    window_s: float


@dataclass(frozen=True)
class DeploymentTest:
    ok: bool
    latency_s: float | None
    model: str | None  # as the provider named it
    reply: str | None
    error: str | None
    error_code: str | None = None
    usage: Usage | None = None
    cost: float = 0.0

    __test__ = False  # not a pytest test class
