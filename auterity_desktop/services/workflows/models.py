"""Tables of saved workflows: one row per workflow, one per saved version.

Every save adds a version and never changes an old one, so a run can always say exactly
which document it ran.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base


class WorkflowRow(Base):
    __tablename__ = "workflows"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class WorkflowVersionRow(Base):
    __tablename__ = "workflow_versions"

    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[float] = mapped_column(Float)
    saved_by: Mapped[str] = mapped_column(String(64))


class RunRow(Base):
    """One execution of one workflow version."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # A sub-workflow's run points at the run and node that started it.
    parent_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    parent_node_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The process driving the run ("host:pid:token") and when it last said it is alive.
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    heartbeat: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Set by another process (CLI, another console) to ask the process running it to stop.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class NodeRunRow(Base):
    """The durable state of one node in one run, written at every transition."""

    __tablename__ = "node_runs"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    input: Mapped[Any] = mapped_column(JSON, nullable=True)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # port -> value
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    # What a long-lived node must not lose in a crash: a for-each's finished items, a
    # sub-workflow's child run, an approval's request and decision.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ScheduleStateRow(Base):
    """When each schedule trigger last fired, so fires missed while closed are known."""

    __tablename__ = "schedule_state"

    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_fire: Mapped[float] = mapped_column(Float)
