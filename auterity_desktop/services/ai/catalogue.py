"""The user-edited catalogue: deployments, routing policies and budgets, as checked specs.

Specs arrive as dicts from the GUI, the REST API and the CLI. Every problem of a form is
collected as (field, message) and refused at once with ``VALIDATION_ERROR`` (details:
``field`` of the first problem for the form to mark, and ``problems``); wrong types and
unknown keys are ``INVALID_INPUT``. Saving an existing name updates it: keys left out keep
their stored values. The routing path reads an immutable ``Catalogue`` snapshot, swapped
whole on every change, so a request never sees half an edit.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.types import Capability, ProviderKind, Strategy

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
DEFAULT_POLICY = "default"
DEFAULT_BASES = {
    ProviderKind.OPENAI: "https://api.openai.com/v1",
    ProviderKind.ANTHROPIC: "https://api.anthropic.com",
    ProviderKind.OLLAMA: "http://localhost:11434",
}
DEFAULT_CONTEXT = 8192
DEFAULT_MAX_OUTPUT = 1024
MAX_PRICE = 1000.0  # per 1k tokens; anything above is a typo
MAX_FALLBACKS = 4  # fallback levels tried after a policy's own deployments, at most
PERIODS = ("day", "month")
SCOPES = ("global", "deployment", "workflow")

DEPLOYMENT_FIELDS = (
    "name", "provider", "model", "api_base", "price_input_per_1k", "price_output_per_1k",
    "price_cached_input_per_1k", "context_window", "max_output_tokens", "capabilities", "rpm",
    "tpm", "weight", "enabled", "api_key",
)  # fmt: skip
POLICY_FIELDS = (
    "name", "strategy", "deployments", "fallbacks", "num_retries", "allowed_fails",
    "cooldown_seconds", "description",
)  # fmt: skip
BUDGET_FIELDS = ("id", "scope", "period", "limit")

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    provider: ProviderKind
    model: str
    api_base: str
    price_input_per_1k: float = 0.0
    price_output_per_1k: float = 0.0
    price_cached_input_per_1k: float | None = None  # None: the input price
    context_window: int = DEFAULT_CONTEXT
    max_output_tokens: int = DEFAULT_MAX_OUTPUT  # when a request sets no max_tokens
    capabilities: frozenset[Capability] = frozenset()
    rpm: int | None = None
    tpm: int | None = None
    weight: float = 1.0
    enabled: bool = True

    @property
    def cached_price(self) -> float:
        if self.price_cached_input_per_1k is None:
            return self.price_input_per_1k
        return self.price_cached_input_per_1k


@dataclass(frozen=True)
class PolicySpec:
    name: str
    strategy: Strategy = Strategy.ORDER
    deployments: tuple[str, ...] = ()  # () = every enabled deployment, by name
    fallbacks: tuple[str, ...] = ()  # policy or deployment names
    num_retries: int = 2
    allowed_fails: int = 3  # failures within a minute tolerated; one more cools it down
    cooldown_seconds: float = 30.0  # 0: never cooled down
    description: str = ""


@dataclass(frozen=True)
class BudgetSpec:
    id: str
    kind: str  # global | deployment | workflow
    target: str  # "" for global
    period: str  # day | month
    limit: float

    @property
    def scope(self) -> str:
        """As the GUI and the REST API write it: ``global``, ``deployment:<name>``,
        ``workflow:<id>``."""
        return "global" if self.kind == "global" else f"{self.kind}:{self.target}"

    @property
    def label(self) -> str:
        per = "daily" if self.period == "day" else "monthly"
        if self.kind == "global":
            return f"the global {per} budget"
        return f"the {per} budget of {self.kind} {self.target}"


@dataclass(frozen=True)
class Catalogue:
    deployments: dict[str, DeploymentSpec] = field(default_factory=dict)
    key_refs: dict[str, str | None] = field(default_factory=dict)
    policies: dict[str, PolicySpec] = field(default_factory=dict)
    budgets: tuple[BudgetSpec, ...] = ()

    def enabled(self) -> list[DeploymentSpec]:
        return [d for _, d in sorted(self.deployments.items()) if d.enabled]


# -- checks ------------------------------------------------------------------------------
def refuse(problems: Problems) -> ServiceError:
    return ServiceError(
        ErrorCode.VALIDATION_ERROR,
        "; ".join(message for _, message in problems[:3]),
        {"field": problems[0][0], "problems": [{"field": f, "message": m} for f, m in problems]},
    )


def check_mapping(spec: Any, known: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise ServiceError(ErrorCode.INVALID_INPUT, f"The {what} must be an object", {})
    unknown = sorted(str(k) for k in spec if k not in known)
    if unknown:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"Unknown {what} fields: {', '.join(unknown)}",
            {"field": unknown[0], "known": list(known)},
        )
    return dict(spec)


def check_name(value: Any, what: str) -> str | None:
    if not isinstance(value, str) or not NAME.match(value.strip()):
        return (
            f"The {what} name must be 1–60 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def _number(
    data: dict[str, Any], key: str, problems: Problems, low: float, high: float, label: str
) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append((key, f"{label} must be a number"))
        return None
    if not low <= value <= high:
        problems.append((key, f"{label} must be from {low:g} to {high:g}"))
        return None
    return float(value)


def _integer(
    data: dict[str, Any], key: str, problems: Problems, low: int, high: int, label: str
) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append((key, f"{label} must be a whole number"))
        return None
    if not low <= value <= high:
        problems.append((key, f"{label} must be from {low:,} to {high:,}"))
        return None
    return value


def check_url(value: Any) -> str | None:
    """An http(s) address without a trailing slash, or None."""
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        return None
    return text


def _names(value: Any, key: str, problems: Problems, label: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.append((key, f"{label} must be a list of names"))
        return ()
    names = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            problems.append((key, f"{label} must be a list of names"))
            return ()
        if item.strip() not in names:
            names.append(item.strip())
    return tuple(names)


def deployment_spec(data: Mapping[str, Any], existing: DeploymentSpec | None) -> DeploymentSpec:
    """A checked deployment from a form; ``existing`` supplies the keys left out."""
    problems: Problems = []
    given = dict(data)
    name = given.get("name")
    if reason := check_name(name, "deployment"):
        problems.append(("name", reason))
    provider = existing.provider if existing else None
    if "provider" in given or existing is None:
        try:
            provider = ProviderKind(str(given.get("provider")))
        except ValueError:
            kinds = ", ".join(k.value for k in ProviderKind)
            problems.append(("provider", f"The provider must be one of {kinds}"))
    model = given.get("model", existing.model if existing else None)
    if not isinstance(model, str) or not model.strip() or len(model.strip()) > 200:
        problems.append(("model", "Name the model (up to 200 characters)"))
    base_value = given.get("api_base") or (existing.api_base if existing else None)
    if base_value is None and provider is not None:
        base_value = DEFAULT_BASES[provider]
    api_base = check_url(base_value)
    if api_base is None or len(api_base) > 500:
        problems.append(("api_base", "The address must be an http:// or https:// URL"))
    prices = {
        key: _number(given, key, problems, 0.0, MAX_PRICE, label)
        for key, label in (
            ("price_input_per_1k", "The input price"),
            ("price_output_per_1k", "The output price"),
            ("price_cached_input_per_1k", "The cached input price"),
        )
    }
    context = _integer(given, "context_window", problems, 256, 100_000_000, "The context window")
    max_out = _integer(given, "max_output_tokens", problems, 1, 10_000_000, "Max output tokens")
    rpm = _integer(given, "rpm", problems, 0, 100_000_000, "Requests per minute")
    tpm = _integer(given, "tpm", problems, 0, 10_000_000_000, "Tokens per minute")
    weight = _number(given, "weight", problems, 0.0, 1_000_000.0, "The weight")
    capabilities = existing.capabilities if existing else frozenset()
    if "capabilities" in given:
        raw = given["capabilities"] or []
        known = {c.value for c in Capability}
        if isinstance(raw, str) or not isinstance(raw, list | tuple | set | frozenset):
            problems.append(("capabilities", "Capabilities must be a list"))
        elif unknown := sorted(str(c) for c in raw if c not in known):
            problems.append(
                (
                    "capabilities",
                    f"Unknown capabilities {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                )
            )
        else:
            capabilities = frozenset(Capability(c) for c in raw)
    enabled = given.get("enabled", existing.enabled if existing else True)
    if not isinstance(enabled, bool):
        problems.append(("enabled", "enabled must be true or false"))
    if problems:
        raise refuse(problems)
    assert provider is not None and isinstance(model, str) and api_base is not None
    base = existing or DeploymentSpec(str(name).strip(), provider, model, api_base)
    return replace(
        base,
        name=str(name).strip(),
        provider=provider,
        model=model.strip(),
        api_base=api_base,
        price_input_per_1k=_given(prices["price_input_per_1k"], given, "price_input_per_1k",
                                  base.price_input_per_1k, 0.0),
        price_output_per_1k=_given(prices["price_output_per_1k"], given, "price_output_per_1k",
                                   base.price_output_per_1k, 0.0),
        price_cached_input_per_1k=(
            prices["price_cached_input_per_1k"]
            if "price_cached_input_per_1k" in given
            else base.price_cached_input_per_1k
        ),
        context_window=_given(context, given, "context_window", base.context_window,
                              DEFAULT_CONTEXT),
        max_output_tokens=_given(max_out, given, "max_output_tokens", base.max_output_tokens,
                                 DEFAULT_MAX_OUTPUT),
        capabilities=capabilities,
        rpm=(rpm or None) if "rpm" in given else base.rpm,
        tpm=(tpm or None) if "tpm" in given else base.tpm,
        weight=_given(weight, given, "weight", base.weight, 1.0),
        enabled=bool(enabled),
    )  # fmt: skip


def _given(value: Any, given: dict[str, Any], key: str, kept: Any, default: Any) -> Any:
    """The checked value when the key was given (its default when given as None)."""
    if key not in given:
        return kept
    return default if value is None else type(default)(value)


def policy_spec(
    data: Mapping[str, Any],
    existing: PolicySpec | None,
    deployments: Mapping[str, DeploymentSpec],
    policies: Mapping[str, PolicySpec],
) -> PolicySpec:
    """A checked policy; every name it lists must be in the catalogue."""
    problems: Problems = []
    given = dict(data)
    name = given.get("name")
    if reason := check_name(name, "policy"):
        problems.append(("name", reason))
    name = str(name).strip() if isinstance(name, str) else ""
    base = existing or PolicySpec(name)
    strategy = base.strategy
    if "strategy" in given:
        try:
            strategy = Strategy(given["strategy"])
        except ValueError:
            kinds = ", ".join(s.value for s in Strategy)
            problems.append(("strategy", f"The strategy must be one of {kinds}"))
    chosen = base.deployments
    if "deployments" in given:
        chosen = _names(given["deployments"], "deployments", problems, "Deployments")
        if missing := [n for n in chosen if n not in deployments]:
            problems.append(("deployments", f"No deployment called {', '.join(missing)}"))
    fallbacks = base.fallbacks
    if "fallbacks" in given:
        fallbacks = _names(given["fallbacks"], "fallbacks", problems, "Fallbacks")
        if name in fallbacks:
            problems.append(("fallbacks", "A policy cannot fall back to itself"))
        if missing := [n for n in fallbacks if n not in deployments and n not in policies]:
            problems.append(("fallbacks", f"No policy or deployment called {', '.join(missing)}"))
        if len(fallbacks) > MAX_FALLBACKS:
            problems.append(("fallbacks", f"At most {MAX_FALLBACKS} fallbacks"))
    retries = _integer(given, "num_retries", problems, 0, 10, "Retries")
    fails = _integer(given, "allowed_fails", problems, 0, 1000, "Allowed fails")
    cooldown = _number(given, "cooldown_seconds", problems, 0.0, 86_400.0, "The cooldown")
    description = given.get("description", base.description)
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > 500:
        problems.append(("description", "The description must be a text of up to 500 characters"))
    if problems:
        raise refuse(problems)
    return PolicySpec(
        name=name,
        strategy=strategy,
        deployments=chosen,
        fallbacks=fallbacks,
        num_retries=base.num_retries if retries is None else retries,
        allowed_fails=base.allowed_fails if fails is None else fails,
        cooldown_seconds=base.cooldown_seconds if cooldown is None else cooldown,
        description=str(description).strip(),
    )


def parse_scope(value: Any) -> tuple[str, str] | None:
    """``global`` → ("global", ""); ``deployment:x`` / ``workflow:x`` → (kind, x)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == "global":
        return "global", ""
    kind, _, target = text.partition(":")
    target = target.strip()
    if kind not in ("deployment", "workflow") or not target or len(target) > 64:
        return None
    return kind, target


def budget_spec(
    data: Mapping[str, Any],
    existing: BudgetSpec | None,
    new_id: str,
    deployments: Mapping[str, DeploymentSpec],
) -> BudgetSpec:
    problems: Problems = []
    given = dict(data)
    kind, target = (existing.kind, existing.target) if existing else ("", "")
    if "scope" in given or existing is None:
        scope = parse_scope(given.get("scope"))
        if scope is None:
            problems.append(
                ("scope", "The scope must be global, deployment:<name> or workflow:<id>")
            )
        else:
            kind, target = scope
            if kind == "deployment" and target not in deployments:
                problems.append(("scope", f"No deployment called {target}"))
    period = given.get("period", existing.period if existing else None)
    if period not in PERIODS:
        problems.append(("period", "The period must be day or month"))
    limit = _number(given, "limit", problems, 0.0, 1e12, "The limit")
    if limit is None and existing is None and not any(f == "limit" for f, _ in problems):
        problems.append(("limit", "Set a limit"))
    if limit is not None and limit <= 0:
        problems.append(("limit", "The limit must be above 0"))
    if problems:
        raise refuse(problems)
    return BudgetSpec(
        id=existing.id if existing else new_id,
        kind=kind,
        target=target,
        period=str(period),
        limit=limit if limit is not None else existing.limit if existing else 0.0,
    )


def needs_key(spec: DeploymentSpec) -> bool:
    """Anthropic always wants a key; an OpenAI-compatible server on this computer or the
    local network (vLLM, LM Studio, llama.cpp, Ollama's /v1) usually does not; Ollama's
    native API never does. (Asked on every request: remembered per provider and address.)"""
    return _needs_key(spec.provider, spec.api_base)


@functools.lru_cache(maxsize=1024)
def _needs_key(provider: ProviderKind, api_base: str) -> bool:
    spec = DeploymentSpec("", provider, "", api_base)
    if spec.provider is ProviderKind.ANTHROPIC:
        return True
    if spec.provider is ProviderKind.OLLAMA:
        return False
    host = (urlsplit(spec.api_base).hostname or "").lower()
    if host == "localhost" or host.endswith((".local", ".lan", ".internal")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return not (address.is_loopback or address.is_private or address.is_link_local)
