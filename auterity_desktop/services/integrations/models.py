"""Configured integrations. Secrets are not here: ``secret_refs`` names the keyring entries
that hold them, so a copy of the database gives away no password or token."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base


class IntegrationRow(Base):
    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # everything but the secrets
    secret_refs: Mapped[list[str]] = mapped_column(JSON)  # keyring entry names
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    last_status: Mapped[str] = mapped_column(String(20), default="never_tested")
    last_checked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_latency: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
