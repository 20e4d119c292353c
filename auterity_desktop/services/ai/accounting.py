"""Cost from a deployment's prices, and the metrics every call feeds.

None of the providers answers in money, so cost is tokens × the catalogue's prices per
1,000. ``Usage.input_tokens`` counts every input token (the providers' differences are
evened out when their replies are read); the part served from the provider's prompt cache
is charged at the cached price when the deployment has one.

Metrics (label ``deployment``; a deployment is a catalogue entry, so labels stay few):
``auterity_ai_request_seconds`` (histogram, buckets up to 120 s),
``auterity_ai_time_to_first_token_seconds``, ``auterity_ai_tokens_total{direction}``,
``auterity_ai_cost_total``, ``auterity_ai_requests_total{outcome}`` (ok, error, cached),
``auterity_ai_errors_total{outcome}`` (per failed attempt) and
``auterity_ai_tokens_per_second`` (gauge). Calls in flight are counted by routing and shown
by ``deployment_stats``: writing a gauge twice per call would cost more than it tells.
"""

from __future__ import annotations

from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.services.ai.catalogue import DeploymentSpec
from auterity_desktop.services.ai.types import Usage

REQUEST_SECONDS = "auterity_ai_request_seconds"
TTFT_SECONDS = "auterity_ai_time_to_first_token_seconds"
TOKENS_TOTAL = "auterity_ai_tokens_total"
COST_TOTAL = "auterity_ai_cost_total"
REQUESTS_TOTAL = "auterity_ai_requests_total"
ERRORS_TOTAL = "auterity_ai_errors_total"
TOKENS_PER_SECOND = "auterity_ai_tokens_per_second"
LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


def cost_of(spec: DeploymentSpec, usage: Usage) -> float:
    cached = min(usage.cached_tokens, usage.input_tokens)
    return (
        (usage.input_tokens - cached) * spec.price_input_per_1k
        + cached * spec.cached_price
        + usage.output_tokens * spec.price_output_per_1k
    ) / 1000.0


def estimated_cost(spec: DeploymentSpec, input_tokens: int, output_tokens: int) -> float:
    return (
        input_tokens * spec.price_input_per_1k + output_tokens * spec.price_output_per_1k
    ) / 1000.0


class Meter:
    """The orchestration service's metrics; every method is a no-op without a collector."""

    def __init__(self, metrics: MetricsCollector | None) -> None:
        self.metrics = metrics
        if metrics is None:
            return
        metrics.describe(
            REQUEST_SECONDS, MetricKind.HISTOGRAM, "AI request latency, to the last byte",
            LLM_BUCKETS,
        )  # fmt: skip
        metrics.describe(
            TTFT_SECONDS, MetricKind.HISTOGRAM, "Time to the first token of streamed AI replies",
            LLM_BUCKETS,
        )  # fmt: skip
        metrics.describe(TOKENS_TOTAL, MetricKind.COUNTER, "AI tokens billed, in and out")
        metrics.describe(COST_TOTAL, MetricKind.COUNTER, "AI spend from the catalogue's prices")
        metrics.describe(REQUESTS_TOTAL, MetricKind.COUNTER, "AI requests by outcome")
        metrics.describe(ERRORS_TOTAL, MetricKind.COUNTER, "Failed AI provider calls")
        metrics.describe(TOKENS_PER_SECOND, MetricKind.GAUGE, "AI output tokens per second")

    def served(
        self,
        deployment: str,
        latency: float,
        ttft: float | None,
        usage: Usage,
        cost: float,
        tokens_per_s: float | None,
    ) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        labels = {"deployment": deployment}
        metrics.observe(REQUEST_SECONDS, latency, labels)
        if ttft is not None:
            metrics.observe(TTFT_SECONDS, ttft, labels)
        metrics.increment(
            TOKENS_TOTAL,
            float(usage.input_tokens),
            {"deployment": deployment, "direction": "input"},
        )
        metrics.increment(
            TOKENS_TOTAL,
            float(usage.output_tokens),
            {"deployment": deployment, "direction": "output"},
        )
        if cost > 0:
            metrics.increment(COST_TOTAL, cost, labels)
        if tokens_per_s is not None:
            metrics.gauge(TOKENS_PER_SECOND, tokens_per_s, labels)
        metrics.increment(REQUESTS_TOTAL, 1.0, {"deployment": deployment, "outcome": "ok"})

    def cache_hit(self, deployment: str) -> None:
        if self.metrics is not None:
            self.metrics.increment(
                REQUESTS_TOTAL, 1.0, {"deployment": deployment, "outcome": "cached"}
            )

    def failed_request(self, deployment: str | None) -> None:
        if self.metrics is not None:
            self.metrics.increment(
                REQUESTS_TOTAL, 1.0, {"deployment": deployment or "", "outcome": "error"}
            )

    def failed_attempt(self, deployment: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.increment(
                ERRORS_TOTAL, 1.0, {"deployment": deployment, "outcome": outcome}
            )
