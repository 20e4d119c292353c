"""The metric history: rollups keep count, sum, min, max and last exactly; queries read the
right resolution and fill what is not rolled up yet from finer rows; pruning deletes only
what a coarser level holds. On SQLite, and on PostgreSQL where it matters."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Connection

from auterity_desktop.core.db import Database
from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models
from auterity_desktop.services.monitoring.metric_store import (
    DAY,
    HOUR,
    MINUTE,
    RAW,
    ROLLUPS,
    SAMPLES,
    MetricStore,
    Sample,
    aggregate,
)

T0 = 1_800_000_000.0  # a multiple of 3600: hour and minute buckets start on it
STEP = 10.0  # seconds between two samples in these tests


def _differences(conn: Any) -> list[Any]:
    import_all_models()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "target_metadata": Base.metadata,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, Base.metadata)


def _table_of(difference: Any) -> str:
    item = difference[0] if isinstance(difference, list) else difference
    if item[0] in ("add_table", "remove_table"):
        return str(item[1].name)
    if item[0] in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        return str(item[1].table.name)
    if item[0] in ("add_fk", "remove_fk"):
        return str(item[1].parent.name)
    return str(item[2])  # (operation, schema, table, ...)


async def test_migration_matches_the_models(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        ours = [d for d in differences if _table_of(d).startswith("metric_")]
        assert ours == []
    finally:
        await database.cleanup()


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    """A migrated SQLite file and a synchronous connection to it (as the service uses)."""
    import asyncio

    url = f"sqlite:///{tmp_path / 'metrics.db'}"

    async def migrate() -> None:
        database = Database(url)
        await database.initialize()
        await database.cleanup()

    asyncio.run(migrate())
    engine = create_engine(url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def truth(samples: list[tuple[float, float]], start: float, end: float) -> dict[str, float]:
    inside = [v for t, v in samples if start <= t < end]
    return {
        "count": len(inside),
        "sum": sum(inside),
        "min": min(inside),
        "max": max(inside),
        "last": inside[-1],
    }


def write_series(
    store: MetricStore, conn: Connection, seconds: float, seed: int = 7
) -> dict[str, list[tuple[float, float]]]:
    """A gauge and a counter sampled every STEP seconds from T0 for ``seconds``."""
    rng = random.Random(seed)
    written: dict[str, list[tuple[float, float]]] = {"cpu": [], "runs": []}
    t = T0
    while t < T0 + seconds:
        cpu, runs = round(rng.uniform(0, 1), 6), float(rng.randint(0, 5))
        store.write(
            conn,
            t,
            [
                Sample("cpu", {}, "gauge", cpu),
                Sample("runs", {"status": "failed"}, "counter", runs),
            ],
        )
        written["cpu"].append((t, cpu))
        written["runs"].append((t, runs))
        t += STEP
    conn.commit()
    return written


def rollup_rows(conn: Connection, resolution: int) -> dict[float, dict[str, float]]:
    rows = conn.execute(
        select(ROLLUPS).where(ROLLUPS.c.resolution == resolution, ROLLUPS.c.series_id == 1)
    ).mappings()
    return {r["bucket"]: {k: r[k] for k in ("count", "sum", "min", "max", "last")} for r in rows}


def test_rollups_keep_count_sum_min_max_and_last(conn: Connection) -> None:
    store = MetricStore(interval=STEP)
    samples = write_series(store, conn, 3 * HOUR + 25 * MINUTE)
    cpu = samples["cpu"]
    end = T0 + 3 * HOUR + 25 * MINUTE
    written = store.roll_up(conn, end)
    conn.commit()
    assert written == {MINUTE: 2 * (3 * 60 + 25), HOUR: 2 * 3}  # two series

    minutes = rollup_rows(conn, MINUTE)
    assert len(minutes) == 3 * 60 + 25
    for bucket, row in minutes.items():
        assert row == pytest.approx(truth(cpu, bucket, bucket + MINUTE))
    hours = rollup_rows(conn, HOUR)
    assert sorted(hours) == [T0, T0 + HOUR, T0 + 2 * HOUR]  # the fourth hour is not over
    for bucket, row in hours.items():
        assert row == pytest.approx(truth(cpu, bucket, bucket + HOUR))
    assert store.done_until(conn, MINUTE) == end
    assert store.done_until(conn, HOUR) == T0 + 3 * HOUR

    # incremental: nothing twice, and the next minute and hour are added when they end
    assert store.roll_up(conn, end + 30) == {MINUTE: 0, HOUR: 0}
    assert store.roll_up(conn, T0 + 4 * HOUR) == {MINUTE: 0, HOUR: 2}


def test_pruning_keeps_every_total_and_extreme(conn: Connection) -> None:
    store = MetricStore(interval=STEP, hour_retention=None)
    samples = write_series(store, conn, 2 * HOUR)
    runs = samples["runs"]
    much_later = T0 + 40 * DAY  # raw and minute rows are past their retention
    store.roll_up(conn, T0 + 2 * HOUR)
    deleted = store.prune(conn, much_later)
    conn.commit()
    assert deleted[RAW] == 2 * len(runs)
    assert deleted[MINUTE] == 2 * 120
    assert conn.execute(select(func.count()).select_from(SAMPLES)).scalar() == 0

    data = store.query(conn, "runs", {"status": "failed"}, T0, T0 + 2 * HOUR, 10, much_later)
    assert data.resolution == HOUR
    assert data.kind == "counter"
    assert data.t == [T0, T0 + HOUR]
    for i, start in enumerate((T0, T0 + HOUR)):
        expected = truth(runs, start, start + HOUR)
        assert data.count[i] == expected["count"]
        assert data.sum[i] == pytest.approx(expected["sum"])
        assert data.min[i] == expected["min"]
        assert data.max[i] == expected["max"]
        assert data.last[i] == expected["last"]
    # a counter's points are increases per minute: the hour's total over 60 minutes
    assert data.values(much_later)[0] == pytest.approx(truth(runs, T0, T0 + HOUR)["sum"] / 60)


def test_pruning_never_deletes_what_is_not_rolled_up(conn: Connection) -> None:
    store = MetricStore(interval=STEP)
    samples = write_series(store, conn, 10 * MINUTE)
    assert store.prune(conn, T0 + 5 * DAY) == {RAW: 0, MINUTE: 0, HOUR: 0}  # no rollup yet
    store.roll_up(conn, T0 + 5 * MINUTE)  # only the first five minutes
    store.prune(conn, T0 + 5 * DAY)
    left = conn.execute(select(func.count()).select_from(SAMPLES)).scalar()
    assert left == 2 * sum(1 for t, _ in samples["cpu"] if t >= T0 + 5 * MINUTE)


def test_query_picks_the_resolution_for_the_range(conn: Connection) -> None:
    store = MetricStore(interval=60.0)
    now = T0 + 40 * DAY
    cases = {
        (5 * MINUTE, 0.0): RAW,  # live: every sample
        (HOUR, 0.0): RAW,
        (DAY, 0.0): RAW,  # 1440 samples: merged two by two into 720 points
        (2 * DAY, 0.0): MINUTE,  # raw samples are gone after a day
        (7 * DAY, 0.0): HOUR,  # 10,080 minutes would be too many rows for 1000 points
        (2 * DAY, 10 * DAY): MINUTE,
        (3 * DAY, 35 * DAY): HOUR,  # minute rows are gone after 30 days
    }
    for (span, ago), level in cases.items():
        end = now - ago
        assert store.choose_level(end - span, end, 1000, now) == level, (span, ago)
    day = store.query(conn, "cpu", None, now - DAY, now, 1000, now)
    assert (day.resolution, day.step) == (RAW, 120.0)
    week = store.query(conn, "cpu", None, now - 7 * DAY, now, 1000, now)
    assert (week.resolution, week.step) == (HOUR, 3600.0)
    month = store.query(conn, "cpu", None, now - 30 * DAY, now, 100, now)
    assert (month.resolution, month.step) == (HOUR, 8 * 3600.0)  # multiples of an hour
    assert len(week) == 0 and week.kind == ""  # never stored: empty, not an error


def test_query_reads_coarse_rows_then_finer_ones_for_the_rest(conn: Connection) -> None:
    """An hourly query of a range whose last hour and minute are not rolled up yet gives the
    same totals as the raw samples: hour rows, then minute rows, then raw samples."""
    store = MetricStore(interval=STEP, raw_retention=30 * DAY)
    samples = write_series(store, conn, 5 * HOUR)
    cpu = samples["cpu"]
    store.roll_up(conn, T0 + 2 * HOUR + 30 * MINUTE + 25)  # hours 0-1, minutes to 2:30
    conn.commit()
    end = T0 + 5 * HOUR
    for max_points, level in ((5, HOUR), (100, MINUTE), (10_000, RAW)):
        data = store.query(conn, "cpu", {}, T0, end, max_points, end)
        assert data.resolution == level
        assert sum(data.count) == len(cpu)
        assert sum(data.sum) == pytest.approx(sum(v for _, v in cpu))
        assert min(data.min) == min(v for _, v in cpu)
        assert max(data.max) == max(v for _, v in cpu)
        assert data.last[-1] == cpu[-1][1]
        assert len(data) <= max_points
    hourly = store.query(conn, "cpu", {}, T0, end, 5, end)
    for i, start in enumerate(hourly.t):
        assert hourly.t[i] == T0 + i * HOUR
        assert hourly.sum[i] == pytest.approx(truth(cpu, start, start + HOUR)["sum"])
    # a range starting inside an hour bucket still sees that bucket, not a hole
    part = store.query(conn, "cpu", {}, T0 + 20 * MINUTE, T0 + 2 * HOUR, 1, end)
    assert part.count == [2 * HOUR / STEP]


def test_raw_counter_points_are_rates_per_minute(conn: Connection) -> None:
    store = MetricStore(interval=30.0)
    for i, grown in enumerate((3.0, 0.0, 6.0)):
        store.write(conn, T0 + 30 * i, [Sample("runs", {"status": "ok"}, "counter", grown)])
    data = store.query(conn, "runs", {"status": "ok"}, T0, T0 + 90, 100, T0 + 90)
    assert data.step == 0 and data.t == [T0, T0 + 30, T0 + 60]
    assert data.values(T0 + 90) == [6.0, 0.0, 12.0]  # 3 in 30 s is 6 per minute


def test_labels_are_canonical_and_series_are_listed(conn: Connection) -> None:
    store = MetricStore(interval=60.0)
    store.write(conn, T0, [Sample("depth", {"queue": "a", "b": "1"}, "gauge", 4.0)])
    store.write(conn, T0 + 60, [Sample("depth", {"b": "1", "queue": "a"}, "gauge", 6.0)])
    again = MetricStore(interval=60.0)  # another process: finds the same series
    again.write(conn, T0 + 120, [Sample("depth", {"queue": "b"}, "gauge", 1.0)])
    listed = again.stored_series(conn, "depth")
    assert [s.labels for s in listed] == [{"b": "1", "queue": "a"}, {"queue": "b"}]
    data = again.query(conn, "depth", {"queue": "a", "b": 1}, T0, T0 + 180, 10, T0 + 180)
    assert data.values() == [4.0, 6.0]


def _rows(
    points: list[tuple[float, float]],
) -> list[tuple[int, float, int, float, float, float, float]]:
    return [(1, t, 1, v, v, v, v) for t, v in sorted(points)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=T0, max_value=T0 + 6 * HOUR, allow_nan=False),
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        ),
        min_size=1,
        max_size=200,
        unique_by=lambda p: p[0],
    )
)
def test_minute_then_hour_equals_raw_straight_to_hour(points: list[tuple[float, float]]) -> None:
    minutes = aggregate(_rows(points), MINUTE)
    via_minutes = aggregate([(s, t, *values) for (s, t), values in sorted(minutes.items())], HOUR)
    direct = aggregate(_rows(points), HOUR)
    assert via_minutes.keys() == direct.keys()
    for key, (count, total, low, high, last) in direct.items():
        c, s, lo, hi, la = via_minutes[key]
        assert c == count
        assert math.isclose(s, total, rel_tol=1e-9, abs_tol=1e-6)
        assert (lo, hi, la) == (low, high, last)


async def test_rollup_and_query_on_any_database(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    store = MetricStore(interval=STEP)
    try:
        async with database.begin() as conn:
            for i in range(3 * 60 // int(STEP) * 60):  # three hours
                await conn.run_sync(
                    lambda c, i=i: store.write(
                        c, T0 + i * STEP, [Sample("cpu", {"host": "a"}, "gauge", float(i % 7))]
                    )
                )
            await conn.run_sync(lambda c: store.roll_up(c, T0 + 3 * HOUR))
            await conn.run_sync(lambda c: store.prune(c, T0 + 3 * HOUR + 2 * DAY))
        async with database.engine.connect() as conn:
            data = await conn.run_sync(
                lambda c: store.query(c, "cpu", {"host": "a"}, T0, T0 + 3 * HOUR, 3, T0 + 2 * DAY)
            )
        assert data.resolution == HOUR
        assert data.count == [360, 360, 360]
        assert data.min == [0.0, 0.0, 0.0] and data.max == [6.0, 6.0, 6.0]
        assert sum(data.sum) == sum(float(i % 7) for i in range(1080))
    finally:
        await database.cleanup()


def test_a_minute_is_rolled_up_only_after_the_delay(conn: Connection) -> None:
    """Another console's samples may arrive up to an interval late; they still count."""
    store = MetricStore(interval=STEP, rollup_delay=30.0)
    write_series(store, conn, 3 * MINUTE)
    assert store.roll_up(conn, T0 + 3 * MINUTE)[MINUTE] == 2 * 2  # the third is too recent
    late = [Sample("cpu", {}, "gauge", 9.0)]
    store.write(conn, T0 + 2 * MINUTE + 55, late)  # written late, into the third minute
    store.roll_up(conn, T0 + 3 * MINUTE + 30)
    assert rollup_rows(conn, MINUTE)[T0 + 2 * MINUTE]["max"] == 9.0
