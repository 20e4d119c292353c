"""Tables of the audit trail and the compliance engine.

An audit entry's ``body`` is its canonical encoding: the exact bytes that are hashed. The
columns the viewer filters and sorts on (time, actor, action, resource, outcome) are
*generated* from the body by the database itself, so they cannot be edited apart from it:
changing what an entry says means changing its body, which breaks its hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Computed,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base


class AuditEntryRow(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The migration writes the dialect's own expressions; these are SQLite's.
    ts_us: Mapped[int] = mapped_column(
        BigInteger,
        Computed("CAST(json_extract(body, '$.ts_us') AS INTEGER)", persisted=True),
        index=True,
    )
    actor: Mapped[str] = mapped_column(
        String(200), Computed("json_extract(body, '$.actor')", persisted=True)
    )
    action: Mapped[str] = mapped_column(
        String(100), Computed("json_extract(body, '$.action')", persisted=True)
    )
    resource: Mapped[str] = mapped_column(
        String(300), Computed("json_extract(body, '$.resource')", persisted=True)
    )
    outcome: Mapped[str] = mapped_column(
        String(20), Computed("json_extract(body, '$.outcome')", persisted=True)
    )

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
    through_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
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
