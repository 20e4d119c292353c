"""Tables of AI orchestration: the user-edited catalogue (deployments, routing policies,
budgets) and one row per served request.

API keys never appear here: a deployment keeps only the name of its keyring entry
(``key_ref``). A budget's ``target`` is "" for the global scope rather than NULL, so the
unique constraint over (scope, target, period) holds on SQLite and PostgreSQL alike (both
treat NULLs as distinct). Request rows carry their own deployment name, not a foreign key:
usage history outlives a deleted deployment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base

RowId = BigInteger().with_variant(Integer, "sqlite")  # SQLite: an alias of the rowid


class AIDeploymentRow(Base):
    __tablename__ = "ai_deployments"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200))
    api_base: Mapped[str] = mapped_column(String(500))
    price_input_per_1k: Mapped[float] = mapped_column(Float)
    price_output_per_1k: Mapped[float] = mapped_column(Float)
    price_cached_input_per_1k: Mapped[float | None] = mapped_column(Float, nullable=True)
    context_window: Mapped[int] = mapped_column(Integer)
    max_output_tokens: Mapped[int] = mapped_column(Integer)
    capabilities: Mapped[list[str]] = mapped_column(JSON)
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight: Mapped[float] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean)
    key_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class AIPolicyRow(Base):
    __tablename__ = "ai_policies"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(20))
    deployments: Mapped[list[str]] = mapped_column(JSON)  # in order; [] = every enabled one
    fallbacks: Mapped[list[str]] = mapped_column(JSON)  # policy or deployment names, in order
    num_retries: Mapped[int] = mapped_column(Integer)
    allowed_fails: Mapped[int] = mapped_column(Integer)
    cooldown_seconds: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class AIBudgetRow(Base):
    __tablename__ = "ai_budgets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))  # global | workflow | deployment
    target: Mapped[str] = mapped_column(String(200))  # "" for global
    period: Mapped[str] = mapped_column(String(10))  # day | month
    limit_amount: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("scope", "target", "period"),)


class AIRequestRow(Base):
    __tablename__ = "ai_requests"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)  # when the request arrived
    deployment: Mapped[str | None] = mapped_column(String(60), nullable=True)  # who answered
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    policy: Mapped[str | None] = mapped_column(String(60), nullable=True)
    workflow_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer)  # billed: 0 for cache hits
    output_tokens: Mapped[int] = mapped_column(Integer)
    cached_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float] = mapped_column(Float)
    latency_s: Mapped[float] = mapped_column(Float)
    ttft_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    tokens_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))  # ok | error | refused | cancelled
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cached: Mapped[bool] = mapped_column(Boolean)
    streamed: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)


Index("ix_ai_requests_ts", AIRequestRow.ts)
Index("ix_ai_requests_deployment_ts", AIRequestRow.deployment, AIRequestRow.ts)
Index("ix_ai_requests_workflow_ts", AIRequestRow.workflow_id, AIRequestRow.ts)
