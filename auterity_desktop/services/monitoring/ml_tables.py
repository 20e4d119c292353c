"""Tables of model monitoring: models, their reference sets, logged predictions (with
actual values once known) and drift reports.

A model is a (name, version) pair. Its reference set is one JSON text in a table of its own,
so listing models never reads it. A prediction's features are a JSON array in the model's
feature order; ``prediction``/``actual`` are JSON scalars (a label as text, or a number).
``predictions``/``labelled`` on the model count its rows, kept with every write so lists
need no count queries. Deleting a model deletes everything of it (foreign keys cascade).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base

RowId = BigInteger().with_variant(Integer, "sqlite")  # SQLite: an alias of the rowid
NULLABLE_JSON = JSON(none_as_null=True)


class MLModelRow(Base):
    __tablename__ = "ml_models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[str] = mapped_column(String(60))
    task: Mapped[str] = mapped_column(String(20))  # classification | regression
    features: Mapped[list[list[str]]] = mapped_column(JSON)  # [[name, kind], ...] in order
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    positive_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)  # the overrides given
    baseline: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    reference_rows: Mapped[int] = mapped_column(Integer)
    predictions: Mapped[int] = mapped_column(BigInteger, default=0)
    labelled: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    last_report_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_drift_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_drift_share: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_dataset_drift: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # The last metric check: {"checked_at", "labelled", "metrics", "degraded": [...]}
    metric_state: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)

    __table_args__ = (UniqueConstraint("name", "version"),)


class MLReferenceRow(Base):
    __tablename__ = "ml_reference_sets"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("ml_models.id", ondelete="CASCADE"), primary_key=True
    )
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)  # {"feature": [values...], ...}


class MLPredictionRow(Base):
    __tablename__ = "ml_predictions"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("ml_models.id", ondelete="CASCADE"))
    prediction_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[float] = mapped_column(Float)
    features: Mapped[str] = mapped_column(Text)  # JSON array in feature order
    prediction: Mapped[str] = mapped_column(Text)  # JSON scalar
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    actual: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON scalar
    actual_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (UniqueConstraint("model_id", "prediction_id"),)


Index("ix_ml_predictions_model_ts", MLPredictionRow.model_id, MLPredictionRow.ts)


class MLDriftReportRow(Base):
    __tablename__ = "ml_drift_reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("ml_models.id", ondelete="CASCADE"))
    created_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))  # auto | psi
    window_start: Mapped[float | None] = mapped_column(Float, nullable=True)
    window_end: Mapped[float] = mapped_column(Float)
    reference_rows: Mapped[int] = mapped_column(Integer)
    current_rows: Mapped[int] = mapped_column(Integer)
    tested: Mapped[int] = mapped_column(Integer)
    drifted: Mapped[int] = mapped_column(Integer)
    share: Mapped[float] = mapped_column(Float)
    drift_share: Mapped[float] = mapped_column(Float)  # the threshold applied
    dataset_drift: Mapped[bool] = mapped_column(Boolean)
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    distributions: Mapped[dict[str, Any]] = mapped_column(JSON)


Index("ix_ml_drift_reports_model_created", MLDriftReportRow.model_id, MLDriftReportRow.created_at)
