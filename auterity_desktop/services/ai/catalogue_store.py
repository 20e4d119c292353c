"""Catalogue rows ↔ specs, and reading the whole catalogue in one go.

The catalogue is small (tens of rows) and read on every change and every sync, so it is
loaded whole into an immutable ``Catalogue`` rather than queried per request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auterity_desktop.services.ai.catalogue import (
    DEFAULT_POLICY,
    BudgetSpec,
    Catalogue,
    DeploymentSpec,
    PolicySpec,
)
from auterity_desktop.services.ai.models import AIBudgetRow, AIDeploymentRow, AIPolicyRow
from auterity_desktop.services.ai.types import Capability, ProviderKind, Strategy

DEFAULT_POLICY_SPEC = PolicySpec(
    DEFAULT_POLICY,
    Strategy.COST,
    description="Every enabled deployment; the cheapest that can answer goes first.",
)


def key_ref(deployment: str) -> str:
    return f"ai/{deployment}/api_key"


def deployment_of(row: AIDeploymentRow) -> DeploymentSpec:
    return DeploymentSpec(
        name=row.name,
        provider=ProviderKind(row.provider),
        model=row.model,
        api_base=row.api_base,
        price_input_per_1k=row.price_input_per_1k,
        price_output_per_1k=row.price_output_per_1k,
        price_cached_input_per_1k=row.price_cached_input_per_1k,
        context_window=row.context_window,
        max_output_tokens=row.max_output_tokens,
        capabilities=frozenset(Capability(c) for c in row.capabilities or ()),
        rpm=row.rpm,
        tpm=row.tpm,
        weight=row.weight,
        enabled=row.enabled,
    )


def deployment_values(spec: DeploymentSpec) -> dict[str, Any]:
    return {
        "provider": spec.provider.value,
        "model": spec.model,
        "api_base": spec.api_base,
        "price_input_per_1k": spec.price_input_per_1k,
        "price_output_per_1k": spec.price_output_per_1k,
        "price_cached_input_per_1k": spec.price_cached_input_per_1k,
        "context_window": spec.context_window,
        "max_output_tokens": spec.max_output_tokens,
        "capabilities": sorted(c.value for c in spec.capabilities),
        "rpm": spec.rpm,
        "tpm": spec.tpm,
        "weight": spec.weight,
        "enabled": spec.enabled,
    }


def policy_of(row: AIPolicyRow) -> PolicySpec:
    return PolicySpec(
        name=row.name,
        strategy=Strategy(row.strategy),
        deployments=tuple(row.deployments or ()),
        fallbacks=tuple(row.fallbacks or ()),
        num_retries=row.num_retries,
        allowed_fails=row.allowed_fails,
        cooldown_seconds=row.cooldown_seconds,
        description=row.description or "",
    )


def policy_values(spec: PolicySpec) -> dict[str, Any]:
    return {
        "strategy": spec.strategy.value,
        "deployments": list(spec.deployments),
        "fallbacks": list(spec.fallbacks),
        "num_retries": spec.num_retries,
        "allowed_fails": spec.allowed_fails,
        "cooldown_seconds": spec.cooldown_seconds,
        "description": spec.description,
    }


def budget_of(row: AIBudgetRow) -> BudgetSpec:
    return BudgetSpec(row.id, row.scope, row.target, row.period, row.limit_amount)


async def load(db: AsyncSession) -> tuple[Catalogue, dict[str, float]]:
    """The catalogue and when each entry changed (``deployment:<name>`` etc. → time)."""
    deployments = list((await db.execute(select(AIDeploymentRow))).scalars())
    policies = list((await db.execute(select(AIPolicyRow))).scalars())
    budgets = list((await db.execute(select(AIBudgetRow).order_by(AIBudgetRow.id))).scalars())
    updated = {f"deployment:{r.name}": r.updated_at for r in deployments}
    updated.update({f"policy:{r.name}": r.updated_at for r in policies})
    updated.update({f"budget:{r.id}": r.updated_at for r in budgets})
    catalogue = Catalogue(
        deployments={r.name: deployment_of(r) for r in deployments},
        key_refs={r.name: r.key_ref for r in deployments},
        policies={r.name: policy_of(r) for r in policies},
        budgets=tuple(budget_of(r) for r in budgets),
    )
    return catalogue, updated
