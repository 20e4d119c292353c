"""The metric history: raw samples, rollups by the minute and the hour, and range queries.

Samples are written in batches (one per collection). Raw samples are kept for a day;
``roll_up`` turns every finished minute of raw samples into one row per series holding
their count, sum, smallest, largest and last value, and every finished hour of minute rows
into an hour row the same way — sums and counts add up, minimums and maximums carry over
and the last value is the latest one — so nothing a chart shows changes when the raw rows
go. Minute rows are kept for 30 days, hour rows for good (or ``hour_retention``). Rollups
run incrementally from where the last one stopped (``metric_rollup_state``); ``prune``
deletes only rows that a coarser level already holds.

``query`` picks the finest level that still holds the start of the range and gives no more
than a few times ``max_points`` rows, fills the part the level has not rolled up yet from
the finer ones, and merges rows into at most ``max_points`` buckets. Every function here
takes a synchronous connection; the service runs them in a worker thread or with
``run_sync``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import Connection

from auterity_desktop.services.monitoring.metrics_models import (
    MetricRollupRow,
    MetricRollupStateRow,
    MetricSampleRow,
    MetricSeriesRow,
)

RAW = 0
MINUTE = 60
HOUR = 3600
DAY = 86_400
RAW_RETENTION = DAY
MINUTE_RETENTION = 30 * DAY
DENSITY = 4  # a level is used while the range holds at most this many rows per point
KINDS = ("gauge", "counter")

SERIES = cast(Table, MetricSeriesRow.__table__)
SAMPLES = cast(Table, MetricSampleRow.__table__)
ROLLUPS = cast(Table, MetricRollupRow.__table__)
STATE = cast(Table, MetricRollupStateRow.__table__)


def labels_key(labels: Mapping[str, object] | None) -> str:
    """The canonical text of a label set: a JSON object with sorted keys."""
    return json.dumps({str(k): str(v) for k, v in sorted((labels or {}).items())}, sort_keys=True)


@dataclass(frozen=True)
class Sample:
    """One value to store: a gauge's value, or a counter's increase since the last one."""

    name: str
    labels: Mapping[str, str]
    kind: str
    value: float


@dataclass(frozen=True)
class SeriesInfo:
    name: str
    labels: dict[str, str]
    kind: str


@dataclass
class SeriesData:
    """Points of one series over a range. Each point summarises the samples of its bucket
    (``t`` is the bucket's start; with ``step`` 0 every point is one raw sample)."""

    metric: str
    labels: dict[str, str]
    kind: str  # "gauge" or "counter"; "" when the series has no stored data
    resolution: int  # the coarsest level read: RAW, MINUTE or HOUR
    step: float  # seconds per point; 0: one point per raw sample
    interval: float  # seconds between two collections
    t: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    sum: list[float] = field(default_factory=list)
    min: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)

    def values(self, now: float | None = None) -> list[float]:
        """What a chart draws: a gauge's average over each point; a counter's increase per
        minute (over the point's bucket, or since the sample before)."""
        if self.kind != "counter":
            return [s / c if c else math.nan for s, c in zip(self.sum, self.count, strict=True)]
        now = time.time() if now is None else now
        result: list[float] = []
        for i, (t, total) in enumerate(zip(self.t, self.sum, strict=True)):
            if self.step > 0:
                width = min(self.step, max(now - t, self.interval))
            else:  # a raw sample holds the increase since the sample before
                gap = t - self.t[i - 1] if i else 0.0
                width = gap if gap > 0 else self.interval
            result.append(total / width * 60.0 if width > 0 else math.nan)
        return result


def _insert_ignoring(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose key exists (another console wrote them)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)


def _floor(t: float, width: float) -> float:
    return math.floor(t / width) * width


Row = tuple[int, float, int, float, float, float, float]  # series, t, count, sum, min, max, last


def aggregate(
    rows: Iterable[Row], width: float, origin: float = 0.0
) -> dict[tuple[int, float], list[Any]]:
    """Merge rows (in time order per series) into buckets of ``width`` seconds aligned on
    ``origin``: counts and sums add up, min and max carry over, the last row's last wins."""
    buckets: dict[tuple[int, float], list[Any]] = {}
    for series_id, t, count, total, low, high, last in rows:
        key = (series_id, origin + _floor(t - origin, width))
        into = buckets.get(key)
        if into is None:
            buckets[key] = [count, total, low, high, last]
        else:
            into[0] += count
            into[1] += total
            if low < into[2]:
                into[2] = low
            if high > into[3]:
                into[3] = high
            into[4] = last
    return buckets


class MetricStore:
    def __init__(
        self,
        *,
        interval: float = 60.0,
        raw_retention: float = RAW_RETENTION,
        minute_retention: float = MINUTE_RETENTION,
        hour_retention: float | None = None,
        rollup_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``interval``: seconds between two collections (how dense raw samples are);
        ``rollup_delay``: a minute is rolled up only this long after it ended."""
        self.interval = interval
        self.rollup_delay = rollup_delay
        self.raw_retention = raw_retention
        self.minute_retention = minute_retention
        self.hour_retention = hour_retention
        self.clock = clock
        self._ids: dict[tuple[str, str], int] = {}

    # -- writing ------------------------------------------------------------------------
    def series_ids(self, conn: Connection, wanted: Iterable[tuple[str, str, str]]) -> list[int]:
        """Ids of (name, labels key, kind), creating the series that are new."""
        wanted = list(wanted)
        missing = {(n, k): kind for n, k, kind in wanted if (n, k) not in self._ids}
        if missing:
            _insert_ignoring(
                conn,
                SERIES,
                [{"name": n, "labels": k, "kind": kind} for (n, k), kind in missing.items()],
            )
            names = sorted({n for n, _ in missing})
            for chunk in range(0, len(names), 500):
                query = select(SERIES.c.id, SERIES.c.name, SERIES.c.labels).where(
                    SERIES.c.name.in_(names[chunk : chunk + 500])
                )
                for series_id, name, key in conn.execute(query):
                    self._ids[(name, key)] = series_id
        return [self._ids[(n, k)] for n, k, _ in wanted]

    def write(self, conn: Connection, ts: float, samples: Sequence[Sample]) -> int:
        """Store one collection's samples, all taken at ``ts``; returns how many."""
        if not samples:
            return 0
        ids = self.series_ids(conn, ((s.name, labels_key(s.labels), s.kind) for s in samples))
        rows = [
            {"series_id": series_id, "ts": ts, "value": float(s.value)}
            for series_id, s in zip(ids, samples, strict=True)
        ]
        _insert_ignoring(conn, SAMPLES, rows)
        return len(rows)

    # -- rolling up and pruning ---------------------------------------------------------
    @staticmethod
    def done_until(conn: Connection, resolution: int) -> float | None:
        found = conn.execute(
            select(STATE.c.done_until).where(STATE.c.resolution == resolution)
        ).scalar()
        return None if found is None else float(found)

    @staticmethod
    def _set_done(conn: Connection, resolution: int, until: float, known: bool) -> None:
        if known:
            conn.execute(
                update(STATE).where(STATE.c.resolution == resolution).values(done_until=until)
            )
        else:
            _insert_ignoring(conn, STATE, [{"resolution": resolution, "done_until": until}])

    def roll_up(self, conn: Connection, now: float | None = None) -> dict[int, int]:
        """Roll every finished minute into minute rows and every finished hour into hour
        rows; returns the rows written per resolution."""
        now = self.clock() if now is None else now
        written = {MINUTE: 0, HOUR: 0}

        minute_done = self.done_until(conn, MINUTE)
        target = _floor(now - self.rollup_delay, MINUTE)
        start = minute_done
        if start is None:
            first = conn.execute(select(func.min(SAMPLES.c.ts))).scalar()
            start = target if first is None else _floor(float(first), MINUTE)
        if target > start:
            raw = conn.execute(
                select(SAMPLES.c.series_id, SAMPLES.c.ts, SAMPLES.c.value)
                .where(SAMPLES.c.ts >= start, SAMPLES.c.ts < target)
                .order_by(SAMPLES.c.series_id, SAMPLES.c.ts)
            )
            buckets = aggregate(((s, t, 1, v, v, v, v) for s, t, v in raw), MINUTE)
            written[MINUTE] = self._write_rollups(conn, MINUTE, buckets)
            self._set_done(conn, MINUTE, target, minute_done is not None)
            minute_done = target
        elif minute_done is None:
            self._set_done(conn, MINUTE, start, False)
            minute_done = start

        hour_done = self.done_until(conn, HOUR)
        target = _floor(minute_done, HOUR)
        start = hour_done
        if start is None:
            first = conn.execute(
                select(func.min(ROLLUPS.c.bucket)).where(ROLLUPS.c.resolution == MINUTE)
            ).scalar()
            start = target if first is None else _floor(float(first), HOUR)
        if target > start:
            minutes = conn.execute(
                select(
                    ROLLUPS.c.series_id,
                    ROLLUPS.c.bucket,
                    ROLLUPS.c.count,
                    ROLLUPS.c.sum,
                    ROLLUPS.c.min,
                    ROLLUPS.c.max,
                    ROLLUPS.c.last,
                )
                .where(
                    ROLLUPS.c.resolution == MINUTE,
                    ROLLUPS.c.bucket >= start,
                    ROLLUPS.c.bucket < target,
                )
                .order_by(ROLLUPS.c.series_id, ROLLUPS.c.bucket)
            )
            buckets = aggregate(minutes, HOUR)
            written[HOUR] = self._write_rollups(conn, HOUR, buckets)
            self._set_done(conn, HOUR, target, hour_done is not None)
        elif hour_done is None:
            self._set_done(conn, HOUR, start, False)
        return written

    @staticmethod
    def _write_rollups(
        conn: Connection, resolution: int, buckets: Mapping[tuple[int, float], list[Any]]
    ) -> int:
        rows = [
            {
                "series_id": series_id,
                "resolution": resolution,
                "bucket": bucket,
                "count": count,
                "sum": total,
                "min": low,
                "max": high,
                "last": last,
            }
            for (series_id, bucket), (count, total, low, high, last) in buckets.items()
        ]
        _insert_ignoring(conn, ROLLUPS, rows)
        return len(rows)

    def prune(self, conn: Connection, now: float | None = None) -> dict[int, int]:
        """Delete raw samples older than a day and minute rows older than 30 days (hour rows
        after ``hour_retention``), but only what the next level already holds."""
        now = self.clock() if now is None else now
        deleted = {RAW: 0, MINUTE: 0, HOUR: 0}
        minute_done = self.done_until(conn, MINUTE)
        if minute_done is not None:
            cut = min(now - self.raw_retention, minute_done)
            deleted[RAW] = conn.execute(delete(SAMPLES).where(SAMPLES.c.ts < cut)).rowcount
        hour_done = self.done_until(conn, HOUR)
        if hour_done is not None:
            cut = min(now - self.minute_retention - MINUTE, hour_done - MINUTE)
            deleted[MINUTE] = conn.execute(
                delete(ROLLUPS).where(ROLLUPS.c.resolution == MINUTE, ROLLUPS.c.bucket <= cut)
            ).rowcount
        if self.hour_retention is not None:
            cut = now - self.hour_retention - HOUR
            deleted[HOUR] = conn.execute(
                delete(ROLLUPS).where(ROLLUPS.c.resolution == HOUR, ROLLUPS.c.bucket <= cut)
            ).rowcount
        return deleted

    # -- reading ------------------------------------------------------------------------
    def stored_series(self, conn: Connection, name: str | None = None) -> list[SeriesInfo]:
        query = select(SERIES.c.name, SERIES.c.labels, SERIES.c.kind).order_by(
            SERIES.c.name, SERIES.c.labels
        )
        if name is not None:
            query = query.where(SERIES.c.name == name)
        return [SeriesInfo(n, json.loads(k), kind) for n, k, kind in conn.execute(query)]

    def choose_level(self, start: float, end: float, max_points: int, now: float) -> int:
        span = max(end - start, 1e-9)
        if start >= now - self.raw_retention and span / self.interval <= DENSITY * max_points:
            return RAW
        if start >= now - self.minute_retention and span / MINUTE <= DENSITY * max_points:
            return MINUTE
        return HOUR

    def query(
        self,
        conn: Connection,
        metric: str,
        labels: Mapping[str, object] | None,
        start: float,
        end: float,
        max_points: int = 1000,
        now: float | None = None,
    ) -> SeriesData:
        """The series over [start, end) in at most ``max_points`` points."""
        now = self.clock() if now is None else now
        max_points = max(1, int(max_points))
        key = labels_key(labels)
        found = conn.execute(
            select(SERIES.c.id, SERIES.c.kind).where(
                SERIES.c.name == metric, SERIES.c.labels == key
            )
        ).first()
        level = self.choose_level(start, end, max_points, now)
        span = max(end - start, 1e-9)
        if level == RAW:  # merged raw buckets hold a whole number of collections
            per_point = math.ceil(span / max_points / self.interval)
            step = 0.0 if per_point <= 1 else float(self.interval * per_point)
        else:
            step = float(level * math.ceil(span / max_points / level))
        data = SeriesData(metric, json.loads(key), "", level, step, self.interval)
        if found is None or end <= start:
            return data
        series_id, data.kind = int(found[0]), str(found[1])

        minute_done = self.done_until(conn, MINUTE)
        hour_done = self.done_until(conn, HOUR)
        rows: list[Row] = []
        raw_from = start
        if level >= MINUTE:
            minute_from = start
            if level == HOUR and hour_done is not None:
                rows += self._rollups(conn, series_id, HOUR, start, min(end, hour_done))
                minute_from = max(start, hour_done)
            if minute_done is not None:
                rows += self._rollups(conn, series_id, MINUTE, minute_from, min(end, minute_done))
                raw_from = max(minute_from, minute_done)
            else:
                raw_from = minute_from
        raw = conn.execute(
            select(SAMPLES.c.ts, SAMPLES.c.value)
            .where(SAMPLES.c.series_id == series_id, SAMPLES.c.ts >= raw_from, SAMPLES.c.ts < end)
            .order_by(SAMPLES.c.ts)
        )
        rows += ((series_id, t, 1, v, v, v, v) for t, v in raw)

        if step == 0:
            points: Iterable[tuple[float, list[Any]]] = (
                (t, [count, total, low, high, last]) for _, t, count, total, low, high, last in rows
            )
        else:
            origin = _floor(start, step)
            points = ((t, b) for (_, t), b in aggregate(rows, step, origin).items())
        for t, (count, total, low, high, last) in points:
            data.t.append(t)
            data.count.append(count)
            data.sum.append(total)
            data.min.append(low)
            data.max.append(high)
            data.last.append(last)
        return data

    @staticmethod
    def _rollups(
        conn: Connection, series_id: int, resolution: int, start: float, end: float
    ) -> list[Row]:
        if end <= start:
            return []
        query = (
            select(
                ROLLUPS.c.series_id,
                ROLLUPS.c.bucket,
                ROLLUPS.c.count,
                ROLLUPS.c.sum,
                ROLLUPS.c.min,
                ROLLUPS.c.max,
                ROLLUPS.c.last,
            )
            .where(
                ROLLUPS.c.series_id == series_id,
                ROLLUPS.c.resolution == resolution,
                ROLLUPS.c.bucket > start - resolution,  # a bucket that overlaps the start
                ROLLUPS.c.bucket < end,
            )
            .order_by(ROLLUPS.c.bucket)
        )
        return [tuple(row) for row in conn.execute(query)]
