"""Serving one request: which deployments may answer, in which order, what to do when one
fails, and the record of why.

A *plan* is a list of levels: the policy's own deployments (ranked by its strategy), then
its fallbacks in order — a fallback policy brings its deployments and its own fallbacks, a
fallback deployment itself — at most ``MAX_FALLBACKS`` levels after the first, each
deployment once and each policy once, so no configuration can loop.

Within a level a deployment is *unfit* (disabled, no API key, lacks a capability, too
small a context, its budget spent) or *waiting* (cooling down, rate limited by its
provider, over its rpm/tpm, backing off before a retry). Failed calls that are worth
repeating (429, 5xx, timeouts, broken replies) are retried up to the policy's
``num_retries`` with exponential backoff, never sooner than the provider's Retry-After;
other deployments of the level are tried meanwhile. A level whose only hope is a retry is
waited for before falling back (a local model's hiccup should not send the call to a paid
cloud); one whose deployments are only busy (limits, cooldowns) is passed over for the next
level; when nothing anywhere is ready the request waits for the earliest, for at most its
timeout in all. A stream that already delivered text cannot move elsewhere: its failure
ends the request.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.retry import RetryPolicy
from auterity_desktop.services.ai.accounting import Meter, cost_of, estimated_cost
from auterity_desktop.services.ai.budgets import BudgetBook, Hold
from auterity_desktop.services.ai.catalogue import (
    DEFAULT_POLICY,
    MAX_FALLBACKS,
    Catalogue,
    DeploymentSpec,
    PolicySpec,
    needs_key,
)
from auterity_desktop.services.ai.limits import RateLimiter, Refusal, Reservation
from auterity_desktop.services.ai.providers.base import (
    Completion,
    Endpoint,
    Failures,
    Provider,
    outcome_of,
    retryable,
)
from auterity_desktop.services.ai.router import HealthBook, order, why_chosen
from auterity_desktop.services.ai.tokens import DEFAULT_REPLY, estimate_messages
from auterity_desktop.services.ai.types import (
    Attempt,
    Capability,
    ModelRequest,
    ProviderKind,
    RoutingDecision,
    Strategy,
)

FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.S)
MIN_WAIT = 0.001


@dataclass(frozen=True)
class Level:
    policy: PolicySpec  # whose retries and cooldown apply
    strategy: Strategy
    names: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Plan:
    policy: str | None
    strategy: Strategy | None
    levels: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class Served:
    completion: Completion
    deployment: DeploymentSpec
    decision: RoutingDecision
    latency_s: float  # of the answering call
    cost: float
    parsed: Any = None


@dataclass(slots=True)
class Pick:
    """One call about to be made: the deployment, its rpm/tpm reservation and budget hold,
    and why it was picked (as things stood before the call)."""

    candidate: _Candidate
    level: Level
    index: int
    reservation: Reservation
    hold: Hold
    reason: str


@dataclass(slots=True)
class _Candidate:
    spec: DeploymentSpec
    tries: int = 0
    not_before: float = 0.0  # backoff before its next try
    backing_off: bool = False


def decision_dict(decision: RoutingDecision) -> dict[str, Any]:
    """JSON-friendly, for the request log and error details."""
    return {
        "policy": decision.policy,
        "strategy": decision.strategy.value if decision.strategy else None,
        "chosen": decision.chosen,
        "reason": decision.reason,
        "skipped": dict(decision.skipped),
        "attempts": [_attempt_dict(a) for a in decision.attempts],
    }


def _attempt_dict(attempt: Attempt) -> dict[str, Any]:
    """Status, error and Retry-After only when there were any."""
    found: dict[str, Any] = {
        "deployment": attempt.deployment,
        "outcome": attempt.outcome,
        "latency_s": round(attempt.latency_s, 6),
    }
    if attempt.status is not None:
        found["status"] = attempt.status
    if attempt.error is not None:
        found["error"] = attempt.error
    if attempt.retry_after_s is not None:
        found["retry_after_s"] = attempt.retry_after_s
    return found


def make_plan(request: ModelRequest, catalogue: Catalogue) -> Plan:
    policies = catalogue.policies
    name = request.policy or DEFAULT_POLICY
    policy = policies.get(name)
    if policy is None:
        if request.policy is not None or request.deployment is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"There is no routing policy {name!r}",
                {"policy": name, "policies": sorted(policies)},
            )
        policy = PolicySpec(DEFAULT_POLICY)
    levels: list[Level] = []
    if request.deployment is not None:
        if request.deployment not in catalogue.deployments:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"There is no deployment {request.deployment!r}",
                {"deployment": request.deployment, "deployments": sorted(catalogue.deployments)},
            )
        levels.append(
            Level(policy, Strategy.ORDER, (request.deployment,), f"deployment {request.deployment}")
        )
        if request.policy is None:
            return Plan(None, None, tuple(levels))
    else:
        own = policy.deployments or tuple(d.name for d in catalogue.enabled())
        levels.append(Level(policy, policy.strategy, own, f"policy {policy.name}"))
    seen = {policy.name}
    pending = list(policy.fallbacks)
    while pending and len(levels) <= MAX_FALLBACKS:
        target = pending.pop(0)
        if target in policies and target not in seen:
            seen.add(target)
            fallback = policies[target]
            names = fallback.deployments or tuple(d.name for d in catalogue.enabled())
            levels.append(Level(fallback, fallback.strategy, names, f"fallback policy {target}"))
            pending.extend(fallback.fallbacks)
        elif target in catalogue.deployments:
            levels.append(Level(policy, Strategy.ORDER, (target,), f"fallback deployment {target}"))
    return Plan(policy.name, policy.strategy if request.deployment is None else Strategy.ORDER,
                tuple(levels))  # fmt: skip


def parse_json(text: str, schema: dict[str, Any], fail: Failures) -> Any:
    """The reply as JSON matching ``schema`` (a fenced code block is unwrapped)."""
    match = FENCE.match(text)
    body = match.group(1) if match else text
    try:
        value = json.loads(body)
    except ValueError:
        raise fail.malformed("JSON reply (the text is not JSON)", text) from None
    from jsonschema import validators

    validator = validators.validator_for(schema)(schema)
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "the reply"
        raise fail.error(
            ErrorCode.SERVICE_UNAVAILABLE,
            "bad_response",
            f"{fail.endpoint.deployment} replied with JSON that does not match the schema "
            f"at {where}: {error.message}",
        )
    return value


class Route:
    """One request's way through its plan: which deployment to call next, how long to
    wait when none can be called yet, and what was learnt. Deciding is synchronous, so a
    pick's rpm/tpm reservation and budget hold are taken in the same step as the checks:
    concurrent requests always see each other's."""

    def __init__(
        self, dispatcher: Dispatcher, request: ModelRequest, catalogue: Catalogue, plan: Plan
    ) -> None:
        self.d = dispatcher
        self.request = request
        self.plan = plan
        self.timeout = request.timeout or dispatcher.default_timeout
        needed = request.capabilities
        if request.json_schema is not None:
            needed = needed | {Capability.JSON}
        self.input_tokens = estimate_messages(request.messages)
        self.reply_tokens = request.max_tokens or DEFAULT_REPLY
        context = self.input_tokens + (request.max_tokens or 0)
        self.skipped: dict[str, str] = {}
        self.attempts: list[Attempt] = []
        self.last_error: ServiceError | None = None
        self.waited = 0.0
        self.soft: dict[str, float] = {}  # waiting deployment → when it could be called
        self.queues: list[list[_Candidate]] = []
        placed: set[str] = set()
        for level in plan.levels:
            fit = []
            for name in level.names:
                if name in placed:
                    continue
                placed.add(name)
                spec = catalogue.deployments.get(name)
                if spec is None:
                    self.skipped[name] = "no longer in the catalogue"
                    continue
                reason = dispatcher.unfit(spec, catalogue, needed, context)
                if reason is not None:
                    self.skipped[name] = reason
                    continue
                fit.append(spec)
            ranked = order(level.strategy, fit, dispatcher.health, self.cost, dispatcher.rng)
            self.queues.append([_Candidate(spec) for spec in ranked])
        self.counts = [len(q) for q in self.queues]

    def cost(self, spec: DeploymentSpec) -> float:
        return estimated_cost(spec, self.input_tokens, self.reply_tokens)

    # -- deciding ---------------------------------------------------------------------
    def next(self) -> Pick | float | None:
        """The next call to make; or seconds to wait before asking again; or None when
        nothing is left (``failure()`` says why)."""
        now = self.d.clock()
        earliest: float | None = None
        for index, queue in enumerate(self.queues):
            found, ready_at, backoff = self._pick(queue, now)
            if found is not None:
                candidate, reservation, hold = found
                level = self.plan.levels[index]
                reason = why_chosen(level.strategy, candidate.spec, self.counts[index],
                                    self.d.health, self.cost(candidate.spec))  # fmt: skip
                return Pick(candidate, level, index, reservation, hold, reason)
            if ready_at is not None:
                earliest = ready_at if earliest is None else min(earliest, ready_at)
            if backoff:
                break  # retries of this level come before its fallbacks
        if earliest is None:
            return None
        delay = max(earliest - now, MIN_WAIT)
        if self.waited + delay > self.timeout:
            return None
        self.waited += delay
        return delay

    def _pick(
        self, queue: list[_Candidate], now: float
    ) -> tuple[tuple[_Candidate, Reservation, Hold] | None, float | None, bool]:
        """The first candidate of a level that can be called now, with its reservation and
        budget hold; otherwise when the earliest could be, and whether one of them is only
        backing off for a retry."""
        d, request = self.d, self.request
        earliest: float | None = None
        backoff = False
        for candidate in list(queue):
            spec = candidate.spec
            ready = max(d.health.ready_at(spec.name), candidate.not_before)
            if ready > now:
                if candidate.backing_off and candidate.not_before >= ready:
                    backoff = True
                else:
                    why = d.health.why_waiting(spec.name, now)
                    if why is not None:
                        self.skipped[spec.name] = why
                self.soft[spec.name] = ready
                earliest = ready if earliest is None else min(earliest, ready)
                continue
            budget = d.budgets.blocking(spec.name, request.workflow_id)
            if budget is not None:
                self.skipped[spec.name] = f"{budget.label} is spent"
                self.soft.pop(spec.name, None)
                queue.remove(candidate)
                continue
            tokens = self.input_tokens + self.reply_tokens
            got = d.limiter.reserve(spec.name, spec.rpm, spec.tpm, tokens, now)
            if isinstance(got, Refusal):
                self.skipped[spec.name] = got.reason
                if got.retry_at is None:
                    self.soft.pop(spec.name, None)
                    queue.remove(candidate)
                    continue
                self.soft[spec.name] = got.retry_at
                earliest = got.retry_at if earliest is None else min(earliest, got.retry_at)
                continue
            hold = d.budgets.hold(spec.name, request.workflow_id, self.cost(spec))
            return (candidate, got, hold), None, False
        return None, earliest, backoff

    # -- what a call came to ----------------------------------------------------------
    def begin(self, pick: Pick) -> None:
        name = pick.candidate.spec.name
        self.skipped.pop(name, None)
        self.soft.pop(name, None)
        pick.candidate.backing_off = False
        self.d.health.state(name).in_flight += 1

    def end(self, pick: Pick) -> None:
        """After the call, whatever happened (also when cancelled)."""
        self.d.health.state(pick.candidate.spec.name).in_flight -= 1
        self.d.budgets.release(pick.hold)  # the actual cost is charged on success

    def failed(self, pick: Pick, error: ServiceError, latency: float) -> None:
        d = self.d
        candidate = pick.candidate
        name = candidate.spec.name
        queue = self.queues[pick.index]
        outcome = outcome_of(error)
        retry_after = error.details.get("retry_after")
        wait = float(retry_after) if isinstance(retry_after, int | float) else None
        self.attempts.append(
            Attempt(name, outcome, latency, error.details.get("status"), error.message, wait)
        )
        self.last_error = error
        d.meter.failed_attempt(name, outcome)
        if outcome in ("bad_request", "no_key"):  # the request or the keyring, not the server
            queue.remove(candidate)
            self.skipped[name] = error.message
            return
        cooled = d.health.failure(name, pick.level.policy, error.message, latency)
        now = d.clock()
        if cooled is not None and d.on_cooled is not None:
            d.on_cooled(name, cooled)
        if wait is not None:
            d.health.rate_limited(name, now + wait)
        candidate.tries += 1
        if retryable(error) and candidate.tries <= pick.level.policy.num_retries:
            backoff = d.retry.delay(candidate.tries, d.rng)
            candidate.not_before = now + max(backoff, wait or 0.0)
            # A provider that names a wait is busy, not broken: fall back meanwhile.
            candidate.backing_off = wait is None
        else:
            queue.remove(candidate)
            self.skipped[name] = f"failed: {outcome}"

    def served(self, pick: Pick, completion: Completion, latency: float, parsed: Any) -> Served:
        d = self.d
        spec = pick.candidate.spec
        name = spec.name
        usage = completion.usage
        pick.reservation.settle(usage.total_tokens)
        d.health.success(name, latency)
        cost = cost_of(spec, usage)
        d.budgets.charge(name, self.request.workflow_id, cost)
        self.attempts.append(Attempt(name, "ok", latency))
        reason = pick.reason
        if pick.index > 0:
            reason = (
                f"{pick.level.label}: {reason}, after {self.plan.levels[0].label} could not answer"
            )
        elif self.plan.policy is None:
            reason = f"asked for by name ({name})"
        decision = RoutingDecision(
            self.plan.policy, self.plan.strategy, name, reason, dict(self.skipped),
            tuple(self.attempts),
        )  # fmt: skip
        return Served(completion, spec, decision, latency, cost, parsed)

    # -- when nothing answered --------------------------------------------------------
    def with_decision(self, error: ServiceError, chosen: str | None = None) -> ServiceError:
        decision = RoutingDecision(
            self.plan.policy,
            self.plan.strategy,
            chosen,
            error.message,
            dict(self.skipped),
            tuple(self.attempts),
        )
        details = {**error.details, "policy": self.plan.policy, "decision": decision_dict(decision)}
        return ServiceError(error.code, error.message, details)

    def failure(self) -> ServiceError:
        plan = self.plan
        who = f"policy {plan.policy}" if plan.policy else f"deployment {self.request.deployment}"
        reasons = "; ".join(f"{n}: {why}" for n, why in self.skipped.items())
        if self.last_error is not None:
            error = self.last_error
            message = error.message
            if len(self.attempts) > 1:
                tried = sorted({a.deployment for a in self.attempts})
                message += f" (after {len(self.attempts)} attempts on {', '.join(tried)})"
            return self.with_decision(ServiceError(error.code, message, error.details))
        if self.soft:
            wait = max(0.0, min(self.soft.values()) - self.d.clock())
            return self.with_decision(
                ServiceError(
                    ErrorCode.RATE_LIMITED,
                    f"No deployment of {who} could take the request within its timeout: {reasons}",
                    {"retry_after": round(wait, 3), "reason": "busy"},
                )
            )
        spent = [why for why in self.skipped.values() if why.endswith(" is spent")]
        if spent and len(spent) == len(self.skipped):
            return self.with_decision(
                ServiceError(
                    ErrorCode.VALIDATION_ERROR,
                    f"Refused: {spent[0]} ({who})",
                    {"reason": "budget_exceeded"},
                )
            )
        if not self.skipped:
            return self.with_decision(
                ServiceError(
                    ErrorCode.VALIDATION_ERROR,
                    f"The {who} has no enabled deployments; add one on the AI page",
                    {"reason": "no_deployments"},
                )
            )
        return self.with_decision(
            ServiceError(
                ErrorCode.VALIDATION_ERROR,
                f"No deployment of {who} can serve this request: {reasons}",
                {"reason": "no_fit"},
            )
        )


class Dispatcher:
    """Makes the calls a ``Route`` decides on: ``serve`` for a whole reply, ``stream``
    for one that arrives in pieces."""

    def __init__(
        self,
        providers: dict[ProviderKind, Provider],
        health: HealthBook,
        limiter: RateLimiter,
        budgets: BudgetBook,
        meter: Meter,
        api_key: Callable[[DeploymentSpec], Awaitable[str | None]],
        *,
        default_timeout: float,
        retry: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
        on_cooled: Callable[[str, float], None] | None = None,
    ) -> None:
        self.providers = providers
        self.health = health
        self.limiter = limiter
        self.budgets = budgets
        self.meter = meter
        self.api_key = api_key
        self.default_timeout = default_timeout
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.on_cooled = on_cooled

    @staticmethod
    def unfit(
        spec: DeploymentSpec,
        catalogue: Catalogue,
        needed: frozenset[Capability],
        context: int,
    ) -> str | None:
        if not spec.enabled:
            return "disabled"
        if needs_key(spec) and not catalogue.key_refs.get(spec.name):
            return "no API key"
        missing = needed - spec.capabilities
        if missing:
            return "lacks " + ", ".join(sorted(c.value for c in missing))
        if context > spec.context_window:
            return f"context {spec.context_window:,} < needed {context:,}"
        return None

    async def _endpoint(self, spec: DeploymentSpec) -> Endpoint:
        return Endpoint(spec.name, spec.provider, spec.model, spec.api_base,
                        await self.api_key(spec), spec.max_output_tokens)  # fmt: skip

    async def serve(self, request: ModelRequest, catalogue: Catalogue, plan: Plan) -> Served:
        route = Route(self, request, catalogue, plan)
        while True:
            step = route.next()
            if step is None:
                raise route.failure()
            if not isinstance(step, Pick):
                await self.sleep(step)
                continue
            spec = step.candidate.spec
            route.begin(step)
            started = time.perf_counter()
            try:
                endpoint = await self._endpoint(spec)
                completion = await self.providers[spec.provider].complete(
                    endpoint, request, route.timeout
                )
                parsed = None
                if request.json_schema is not None:
                    parsed = parse_json(completion.text, request.json_schema, Failures(endpoint))
            except ServiceError as exc:
                route.failed(step, exc, time.perf_counter() - started)
                continue
            finally:
                route.end(step)
            return route.served(step, completion, time.perf_counter() - started, parsed)

    async def stream(
        self, request: ModelRequest, catalogue: Catalogue, plan: Plan
    ) -> AsyncGenerator[str | Served, None]:
        """Text pieces, then the ``Served``. A failure before the first piece moves on
        like ``serve``; after it, it ends the request."""
        route = Route(self, request, catalogue, plan)
        while True:
            step = route.next()
            if step is None:
                raise route.failure()
            if not isinstance(step, Pick):
                await self.sleep(step)
                continue
            spec = step.candidate.spec
            route.begin(step)
            started = time.perf_counter()
            sent = False
            completion: Completion | None = None
            try:
                endpoint = await self._endpoint(spec)
                pieces = self.providers[spec.provider].stream(endpoint, request, route.timeout)
                async with aclosing(pieces):
                    async for item in pieces:
                        if isinstance(item, str):
                            sent = True
                            yield item
                        else:
                            completion = item
                assert completion is not None
                parsed = None
                if request.json_schema is not None:
                    parsed = parse_json(completion.text, request.json_schema, Failures(endpoint))
            except ServiceError as exc:
                route.failed(step, exc, time.perf_counter() - started)
                if sent:
                    raise route.with_decision(exc, spec.name) from None
                continue
            finally:
                route.end(step)
            yield route.served(step, completion, time.perf_counter() - started, parsed)
            return
