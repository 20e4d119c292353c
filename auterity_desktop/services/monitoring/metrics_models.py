"""Tables of the metric history: series, raw samples, rollups and how far rollups got.

A series is one metric with one set of labels; samples and rollups point at it by a small
integer id, so a row is a few numbers. Raw samples are kept for a day, one-minute rollups
for 30 days and hourly rollups after that (see ``metric_store``). A rollup keeps what a
chart of any range needs from the samples it replaces — how many, their sum, smallest,
largest and last value — so an average, a total, a rate, a peak or a current value read from
it equals the one read from the samples.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base


class MetricSeriesRow(Base):
    """One metric with one set of labels."""

    __tablename__ = "metric_series"
    __table_args__ = (UniqueConstraint("name", "labels"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    labels: Mapped[str] = mapped_column(String(1000))  # canonical JSON object, "{}" for none
    # "gauge": the value at the sample's time; "counter": the increase since the sample
    # before (a counter's total restarts with the process, its increases add up).
    kind: Mapped[str] = mapped_column(String(20))


class MetricSampleRow(Base):
    """One collected value (kept a day)."""

    __tablename__ = "metric_samples"
    __table_args__ = (Index("ix_metric_samples_ts", "ts"),)

    series_id: Mapped[int] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[float] = mapped_column(Float, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class MetricRollupRow(Base):
    """The samples of one series in one minute (resolution 60) or one hour (3600)."""

    __tablename__ = "metric_rollups"
    __table_args__ = (Index("ix_metric_rollups_resolution_bucket", "resolution", "bucket"),)

    series_id: Mapped[int] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True
    )
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)  # seconds
    bucket: Mapped[float] = mapped_column(Float, primary_key=True)  # start, a multiple of it
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)


class MetricRollupStateRow(Base):
    """Up to when each resolution has been rolled up (every earlier bucket is written)."""

    __tablename__ = "metric_rollup_state"

    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    done_until: Mapped[float] = mapped_column(Float)
