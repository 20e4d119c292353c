"""Tables of the audit trail and the compliance engine.

An audit entry's ``body`` is its canonical encoding: the exact bytes that are hashed. The
other columns (time, actor, action, resource, outcome) duplicate fields of the body so the
viewer can filter and sort with indexes; ``verify`` checks they still agree with the body.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base


class AuditEntryRow(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ts_us: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    resource: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entries_actor_seq", "actor", "seq"),
        Index("ix_audit_entries_action_seq", "action", "seq"),
        Index("ix_audit_entries_resource_seq", "resource", "seq"),
        Index("ix_audit_entries_outcome_seq", "outcome", "seq"),
    )


class AuditAnchorRow(Base):
    """Written when retention prunes: the last pruned entry's seq and hash, so the remaining
    chain still verifies from there."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    through_seq: Mapped[int] = mapped_column(BigInteger)
    through_hash: Mapped[str] = mapped_column(String(64))
    pruned_count: Mapped[int] = mapped_column(BigInteger)


class CompliancePolicyRow(Base):
    __tablename__ = "compliance_policies"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition: Mapped[dict[str, object]] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)


class ComplianceCheckRow(Base):
    __tablename__ = "compliance_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(200))
    policies_checked: Mapped[int] = mapped_column(Integer)
    violations: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
