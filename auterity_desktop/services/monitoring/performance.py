"""``PerformanceService``: resource and product metrics, collected, kept and charted.

Every ``METRICS_COLLECTION_INTERVAL`` seconds ``collect_metrics`` reads

* the computer and this process with psutil — system CPU and memory use, the use of the
  disk holding the data folder, the process's CPU share, memory, open descriptors and
  threads (gauges ``auterity_system_cpu_ratio``, ``auterity_system_memory_ratio``,
  ``auterity_disk_usage_ratio``, ``auterity_process_cpu_ratio``,
  ``auterity_process_memory_bytes``, ``auterity_process_open_files``,
  ``auterity_process_threads``);
* the product — queue depths (``auterity_queue_depth{queue}`` and their total), integration
  health (``auterity_integration_up{integration}``: 1 healthy or degraded, 0 otherwise) and
  the duration of every workflow node finished since the last look
  (``auterity_node_duration_seconds``, a histogram);

puts them in the metrics collector (where alert rules and ``/metrics`` read them), then
stores every series of the collector in one transaction: a gauge's value, a counter's
increase since the last collection (runs by outcome, messages, integration errors, and
whatever later services count — AI requests and tokens included), a histogram as three
series: ``<name>_count`` (observations, a counter), ``<name>_mean`` and ``<name>_p95``
(gauges, over the observations since the last collection). The store keeps raw samples a
day, minute rollups 30 days and hourly ones after (``metric_store``).

The dashboard asks for ``kpis``, ``series`` over any range (the store picks the resolution)
and, while it shows the last minutes, ``live`` values: resources re-read at most every
second and product gauges every few seconds, without touching the history.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import psutil  # type: ignore[import-untyped]
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Engine

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MetricKind, MetricsCollector, SeriesSnapshot
from auterity_desktop.core.service import BaseService, Health, HealthState
from auterity_desktop.services.messaging.models import QueueRow
from auterity_desktop.services.monitoring.metric_store import (
    MetricStore,
    Sample,
    SeriesData,
    SeriesInfo,
    labels_key,
)
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

LIVE_RESOURCES_EVERY = 1.0  # seconds: psutil is read at most this often for live values
LIVE_PRODUCT_EVERY = 5.0  # seconds: queue depths and integration health, likewise
LIVE_WINDOW = 15.0  # seconds: live rates and histogram summaries are over this long
P95 = 0.95
UP_STATUSES = frozenset({"healthy", "degraded"})
FINISHED_NODE = ("succeeded", "failed")

RESOURCE_GAUGES = {
    "auterity_system_cpu_ratio": "CPU use of the whole computer (0-1)",
    "auterity_system_memory_ratio": "Memory use of the whole computer (0-1)",
    "auterity_disk_usage_ratio": "Use of the disk holding the data folder (0-1)",
    "auterity_process_cpu_ratio": "CPU used by this process, as a share of all cores (0-1)",
    "auterity_process_memory_bytes": "Resident memory of this process",
    "auterity_process_open_files": "Open file descriptors (files, sockets, pipes) of this process",
    "auterity_process_threads": "Threads of this process",
}
PRODUCT_GAUGES = {
    "auterity_queue_depth": "Messages a queue holds",
    "auterity_queue_depth_total": "Messages all queues hold",
    "auterity_integration_up": "1 when an integration is healthy or degraded, else 0",
    "auterity_metric_collection_seconds": "How long the last metric collection took",
}
NODE_DURATION = "auterity_node_duration_seconds"


class QueueSource(Protocol):
    async def queues(self) -> Sequence[Any]: ...  # items with .name and .depth


class IntegrationSource(Protocol):
    async def health_statuses(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Kpis:
    """Today's figures for the dashboard tiles ("today": since local midnight)."""

    runs_today: int
    succeeded_today: int
    failed_today: int
    success_rate: float | None  # succeeded ÷ (succeeded + failed); None before any ended
    p95_node_latency: float | None  # seconds, over nodes that finished today
    queue_depth: int
    firing_alerts: int
    at: float


@dataclass(frozen=True)
class LiveValues:
    """Chartable values now: (metric, labels key) → value (counters: increase per minute
    since the previous call; histogram parts: over the observations since then)."""

    at: float
    values: dict[tuple[str, str], float] = field(default_factory=dict)


def quantile(q: float, bounds: Sequence[float], counts: Sequence[int]) -> float | None:
    """The ``q`` quantile of histogram counts (the last count is above every bound),
    interpolated linearly inside its bucket as Prometheus does."""
    total = sum(counts)
    if total <= 0 or not bounds:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            if i >= len(bounds):
                return float(bounds[-1])
            low = bounds[i - 1] if i else 0.0
            return float(low + (bounds[i] - low) * (rank - seen) / n)
        seen += n
    return float(bounds[-1])


Totals = dict[tuple[str, str], tuple[float, tuple[int, ...]]]  # series → total, buckets


def changes(
    snapshot: Iterable[SeriesSnapshot], before: Totals | None, since: float | None
) -> tuple[list[Sample], Totals]:
    """Chartable samples of a collector snapshot relative to an earlier one's ``before``
    totals: a counter becomes its increase, a histogram its observations since then
    (``<name>_count``, ``_mean``, ``_p95``); a gauge is its value, left out when it was not
    recorded after ``since`` (``None``: every gauge). Also returns this snapshot's totals."""
    samples: list[Sample] = []
    totals: Totals = {}
    before = before or {}
    for s in snapshot:
        if s.kind is MetricKind.GAUGE:
            if since is None or (s.updated_at is not None and s.updated_at > since):
                samples.append(Sample(s.name, s.labels, "gauge", s.value))
            continue
        key = (s.name, labels_key(s.labels))
        then = before.get(key)
        totals[key] = (s.value, s.bucket_counts)
        if s.kind is MetricKind.COUNTER:
            # A total below the last one means the counter restarted (a new process).
            grown = s.value - then[0] if then and s.value >= then[0] else s.value
            samples.append(Sample(s.name, s.labels, "counter", grown))
            continue
        if then and len(then[1]) == len(s.bucket_counts) and s.count >= sum(then[1]):
            counts = [a - b for a, b in zip(s.bucket_counts, then[1], strict=True)]
            total = s.value - then[0]
        else:
            counts, total = list(s.bucket_counts), s.value
        observed = sum(counts)
        samples.append(Sample(f"{s.name}_count", s.labels, "counter", float(observed)))
        if observed > 0:
            samples.append(Sample(f"{s.name}_mean", s.labels, "gauge", total / observed))
            p95 = quantile(P95, s.buckets, counts)
            if p95 is not None:
                samples.append(Sample(f"{s.name}_p95", s.labels, "gauge", p95))
    return samples, totals


class Deriver:
    """``changes`` since the previous call (the first call: since the process started)."""

    def __init__(self) -> None:
        self._totals: Totals | None = None

    def derive(self, snapshot: Iterable[SeriesSnapshot], since: float | None) -> list[Sample]:
        samples, self._totals = changes(snapshot, self._totals, since)
        return samples


def chartable(snapshot: Iterable[SeriesSnapshot]) -> list[SeriesInfo]:
    """The series a collector snapshot gives charts (histograms as their three parts)."""
    found: list[SeriesInfo] = []
    for s in snapshot:
        if s.kind is MetricKind.HISTOGRAM:
            found.append(SeriesInfo(f"{s.name}_count", s.labels, "counter"))
            found.append(SeriesInfo(f"{s.name}_mean", s.labels, "gauge"))
            found.append(SeriesInfo(f"{s.name}_p95", s.labels, "gauge"))
        else:
            found.append(SeriesInfo(s.name, s.labels, s.kind.value))
    return found


def _served(
    method: Callable[Concatenate[PerformanceService, P], Awaitable[R]],
) -> Callable[Concatenate[PerformanceService, P], Awaitable[R]]:
    """A call the dashboard makes: refused while stopping, waited for by ``cleanup``."""

    async def served(self: PerformanceService, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._serving():
            return await method(self, *args, **kwargs)

    functools.update_wrapper(served, method)
    return served


def local_midnight(now: float) -> float:
    day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


class PerformanceService(BaseService):
    name = "performance"
    dependencies = ("database",)

    def __init__(
        self,
        database: Database,
        metrics: MetricsCollector,
        *,
        data_dir: Path,
        interval: float = 60.0,
        background: bool = True,
        messages: QueueSource | None = None,
        integrations: IntegrationSource | None = None,
        firing_alerts: Callable[[], Awaitable[int]] | None = None,
        store: MetricStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``background`` False (one-shot CLI commands) collects only when asked.
        ``firing_alerts`` tells how many alerts fire now (0 without it)."""
        super().__init__()
        self.database = database
        self.metrics = metrics
        self.data_dir = Path(data_dir)
        self.interval = interval
        self.background = background
        self.messages = messages
        self.integrations = integrations
        self.firing_alerts = firing_alerts
        self.clock = clock
        # rolled up one interval late, so samples another console writes late still count
        self.store = store or MetricStore(
            interval=interval, rollup_delay=min(interval, 300.0), clock=clock
        )
        self.last_collection: float | None = None
        self.last_error: str | None = None
        self._process = psutil.Process()
        self._cpu_count = psutil.cpu_count() or 1
        self._cpu_before: tuple[float, float] | None = None  # (wall, process cpu seconds)
        self._resources_at = -math.inf
        self._product_at = -math.inf
        self._nodes_since: float | None = None
        self._persisted = Deriver()
        self._looks: deque[tuple[float, Totals]] = deque()  # live(): recent totals
        self._task: asyncio.Task[None] | None = None
        self._collecting = asyncio.Lock()
        self._sampling = asyncio.Lock()
        self._engine: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._closing = False
        self._calls = 0  # dashboard calls in flight; ``cleanup`` lets them finish
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle ----------------------------------------------------------------------
    async def initialize(self) -> None:
        for name, text in (*RESOURCE_GAUGES.items(), *PRODUCT_GAUGES.items()):
            self.metrics.describe(name, MetricKind.GAUGE, text)
        self.metrics.describe(
            NODE_DURATION, MetricKind.HISTOGRAM, "Duration of finished workflow nodes"
        )
        self._engine = self.database.thread_engine()
        if self._engine is not None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="metrics")
        psutil.cpu_percent(None)  # the first reading only starts the measurement
        self._cpu_before = self._process_cpu()
        self._nodes_since = self.clock()
        self._closing = False
        if self.background:
            self._task = asyncio.create_task(self._collect_forever())

    async def cleanup(self) -> None:
        self._closing = True
        if self._calls:  # a chart asking just as the platform stops gets its answer first
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=5.0)
            except TimeoutError:
                logger.warning("dashboard calls still running at shutdown")
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        async with self._collecting:  # a collection started by hand finishes first
            pass
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def health(self) -> Health:
        if not self.started:
            return await super().health()
        if self.last_error is not None:
            return Health(HealthState.DEGRADED, f"metric collection failed: {self.last_error}")
        return Health(HealthState.OK, "collecting metrics", {"last": self.last_collection})

    async def _collect_forever(self) -> None:
        while True:
            try:
                await self.collect_metrics()
            except Exception as exc:  # a bad collection must not stop the next ones
                self.last_error = str(exc) or type(exc).__name__
                logger.exception("metric collection failed")
            # Short naps rather than one long sleep: a cancelled sleep leaves its timer with
            # the event loop until it would have ended, and the loop may be gone by then.
            naps = max(1, math.ceil(self.interval))
            for _ in range(naps):
                await asyncio.sleep(self.interval / naps)

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[None]:
        """Count a caller's request, refused once the service is stopping."""
        if self._closing:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, "The performance monitor is stopping", {}
            )
        self._calls += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._calls -= 1
            if self._calls == 0:
                self._idle.set()

    # -- database access ----------------------------------------------------------------
    async def _read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a connection off the event loop where SQLite allows it."""
        if self._engine is not None and self._thread is not None:
            engine = self._engine

            def run() -> T:
                with engine.connect() as conn:
                    return work(conn)

            return await asyncio.get_running_loop().run_in_executor(self._thread, run)
        async with self.database.engine.connect() as conn:
            return await conn.run_sync(work)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, queued with this process's writers."""
        if self._engine is not None and self._thread is not None:
            engine = self._engine

            def run() -> T:
                with engine.connect() as conn:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    try:
                        result = work(conn)
                    except BaseException:
                        conn.rollback()
                        raise
                    conn.commit()
                    return result

            async with self.database.write_lock:
                return await asyncio.get_running_loop().run_in_executor(self._thread, run)
        async with self.database.begin() as conn:
            return await conn.run_sync(work)

    # -- sampling -----------------------------------------------------------------------
    def _process_cpu(self) -> tuple[float, float]:
        times = self._process.cpu_times()
        return time.monotonic(), times.user + times.system

    def sample_resources(self) -> dict[str, float]:
        """Read the computer and this process now; set and return the resource gauges."""
        process = self._process
        with process.oneshot():
            wall, cpu = self._process_cpu()
            memory = float(process.memory_info().rss)
            threads = float(process.num_threads())
            if hasattr(process, "num_fds"):
                files = float(process.num_fds())
            else:  # pragma: no cover - Windows
                files = float(process.num_handles())
        before = self._cpu_before
        self._cpu_before = (wall, cpu)
        process_ratio = 0.0
        if before is not None and wall > before[0]:
            process_ratio = max(0.0, (cpu - before[1]) / ((wall - before[0]) * self._cpu_count))
        try:
            disk = psutil.disk_usage(str(self._existing(self.data_dir))).percent / 100.0
        except OSError:
            disk = math.nan
        values = {
            "auterity_system_cpu_ratio": psutil.cpu_percent(None) / 100.0,
            "auterity_system_memory_ratio": psutil.virtual_memory().percent / 100.0,
            "auterity_disk_usage_ratio": disk,
            "auterity_process_cpu_ratio": min(process_ratio, 1.0),
            "auterity_process_memory_bytes": memory,
            "auterity_process_open_files": files,
            "auterity_process_threads": threads,
        }
        for name, value in values.items():
            if not math.isnan(value):
                self.metrics.gauge(name, value)
        self._resources_at = self.clock()
        return values

    @staticmethod
    def _existing(path: Path) -> Path:
        while not path.exists() and path.parent != path:
            path = path.parent
        return path

    async def sample_product(self) -> None:
        """Queue depths, integration health and the nodes finished since the last look."""
        async with self._sampling:
            await self._sample_product()

    async def _sample_product(self) -> None:
        now = self.clock()
        if self.messages is not None:
            queues = await self.messages.queues()
            for queue in queues:
                self.metrics.gauge("auterity_queue_depth", queue.depth, {"queue": queue.name})
            self.metrics.gauge("auterity_queue_depth_total", float(sum(q.depth for q in queues)))
        if self.integrations is not None:
            for name, status in (await self.integrations.health_statuses()).items():
                up = 1.0 if status in UP_STATUSES else 0.0
                self.metrics.gauge("auterity_integration_up", up, {"integration": name})
        since = self._nodes_since if self._nodes_since is not None else now - self.interval
        for seconds in await self._read(lambda conn: _node_durations(conn, since, now)):
            self.metrics.observe(NODE_DURATION, max(0.0, seconds))
        self._nodes_since = now
        self._product_at = self.clock()

    async def collect_metrics(self) -> int:
        """Sample resources and the product, then store every series of the collector in
        one transaction (and roll up and prune the history). Returns the samples stored."""
        async with self._collecting:
            began = time.perf_counter()
            self.sample_resources()
            await self.sample_product()
            now = self.clock()
            samples = self._persisted.derive(self.metrics.snapshot(), self.last_collection)
            store = self.store

            def save(conn: Connection) -> int:
                written = store.write(conn, now, samples)
                store.roll_up(conn, now)
                store.prune(conn, now)
                return written

            written = await self._write(save)
            self.last_collection = now
            self.last_error = None
            self.metrics.gauge("auterity_metric_collection_seconds", time.perf_counter() - began)
            return written

    @_served
    async def live(self) -> LiveValues:
        """Every chartable value now (see ``LiveValues``); cheap enough to call each second.
        Counters are rates and histograms summaries over the last ``LIVE_WINDOW`` seconds
        (or since the first call, when that was later)."""
        now = self.clock()
        if now - self._resources_at >= LIVE_RESOURCES_EVERY:
            self.sample_resources()
        if now - self._product_at >= LIVE_PRODUCT_EVERY and not self._sampling.locked():
            await self.sample_product()
        now = self.clock()
        looks = self._looks
        while len(looks) > 1 and looks[1][0] <= now - LIVE_WINDOW:
            looks.popleft()
        then, before = looks[0] if looks else (None, None)
        # gauges nobody set for a while (a deleted queue's depth) are not live any more
        fresh = now - max(30.0, 2 * self.interval)
        samples, totals = changes(self.metrics.snapshot(), before, fresh)
        looks.append((now, totals))
        elapsed = now - then if then is not None else 0.0
        values: dict[tuple[str, str], float] = {}
        for s in samples:
            if s.kind == "counter":
                if elapsed <= 0:
                    continue  # a rate needs two looks
                values[(s.name, labels_key(s.labels))] = s.value / elapsed * 60.0
            elif before is not None or not s.name.endswith(("_mean", "_p95")):
                values[(s.name, labels_key(s.labels))] = s.value
        return LiveValues(now, values)

    # -- reading the history ------------------------------------------------------------
    @_served
    async def series(
        self,
        metric: str,
        labels: Mapping[str, object] | None = None,
        start: float | None = None,
        end: float | None = None,
        max_points: int = 1000,
    ) -> SeriesData:
        """One stored series over [start, end) (default: the last hour)."""
        now = self.clock()
        end = now if end is None else end
        start = end - 3600.0 if start is None else start
        store = self.store
        return await self._read(
            lambda conn: store.query(conn, metric, labels, start, end, max_points, now)
        )

    @_served
    async def series_many(
        self,
        wanted: Sequence[tuple[str, Mapping[str, object] | None]],
        start: float,
        end: float,
        max_points: int = 1000,
    ) -> list[SeriesData]:
        """Several series in one read; labels ``None`` stands for every stored label set of
        the metric (one ``SeriesData`` each)."""
        now = self.clock()
        store = self.store

        def work(conn: Connection) -> list[SeriesData]:
            found: list[SeriesData] = []
            for metric, labels in wanted:
                sets: list[Mapping[str, object] | None]
                if labels is None:
                    sets = [s.labels for s in store.stored_series(conn, metric)]
                else:
                    sets = [labels]
                for label_set in sets:
                    found.append(store.query(conn, metric, label_set, start, end, max_points, now))
            return found

        return await self._read(work)

    @_served
    async def available_series(self) -> list[SeriesInfo]:
        """Every series a chart can show: stored ones and those only in memory so far."""
        store = self.store
        stored = await self._read(lambda conn: store.stored_series(conn))
        seen = {(s.name, labels_key(s.labels)) for s in stored}
        for info in chartable(self.metrics.snapshot()):
            if (info.name, labels_key(info.labels)) not in seen:
                stored.append(info)
                seen.add((info.name, labels_key(info.labels)))
        return sorted(stored, key=lambda s: (s.name, labels_key(s.labels)))

    async def metric_names(self) -> list[str]:
        return sorted({s.name for s in await self.available_series()})

    @_served
    async def kpis(self) -> Kpis:
        now = self.clock()
        midnight = local_midnight(now)
        runs, durations, depth = await self._read(lambda conn: _today(conn, midnight))
        succeeded, failed = runs.get("succeeded", 0), runs.get("failed", 0)
        ended = succeeded + failed
        firing = 0
        if self.firing_alerts is not None:
            try:
                firing = int(await self.firing_alerts())
            except Exception:  # the tiles show the rest; the alerts page says what is wrong
                logger.exception("counting firing alerts failed")
        return Kpis(
            runs_today=sum(runs.values()),
            succeeded_today=succeeded,
            failed_today=failed,
            success_rate=succeeded / ended if ended else None,
            p95_node_latency=durations,
            queue_depth=depth,
            firing_alerts=firing,
            at=now,
        )


def _node_durations(conn: Connection, since: float, until: float) -> list[float]:
    """Durations of the nodes that finished in (since, until], of runs that started in the
    last hour or still run — the runs' indexes keep this a short read however long the
    history (a node that ends a run started earlier is not counted)."""
    query = (
        select(NodeRunRow.finished_at - NodeRunRow.started_at)
        .join(RunRow, RunRow.id == NodeRunRow.run_id)
        .where(
            or_(RunRow.created_at >= since - 3600, RunRow.status.in_(("running", "waiting"))),
            NodeRunRow.finished_at > since,
            NodeRunRow.finished_at <= until,
            NodeRunRow.started_at.is_not(None),
            NodeRunRow.status.in_(FINISHED_NODE),
        )
    )
    return [float(d) for d in conn.execute(query).scalars() if d is not None]


def _today(conn: Connection, midnight: float) -> tuple[dict[str, int], float | None, int]:
    """Runs created since ``midnight`` by status, the 95th percentile (nearest rank) of
    their nodes' durations, and the messages all queues hold."""
    runs = {
        str(status): int(n)
        for status, n in conn.execute(
            select(RunRow.status, func.count())
            .where(RunRow.created_at >= midnight)
            .group_by(RunRow.status)
        )
    }
    duration = NodeRunRow.finished_at - NodeRunRow.started_at
    nodes = (
        select(duration.label("d"))
        .join(RunRow, RunRow.id == NodeRunRow.run_id)
        .where(
            RunRow.created_at >= midnight,
            NodeRunRow.finished_at.is_not(None),
            NodeRunRow.started_at.is_not(None),
            NodeRunRow.status.in_(FINISHED_NODE),
        )
    )
    total = conn.execute(select(func.count()).select_from(nodes.subquery())).scalar() or 0
    p95: float | None = None
    if total:
        rank = max(0, math.ceil(P95 * total) - 1)
        found = conn.execute(nodes.order_by(duration).offset(rank).limit(1)).scalar()
        p95 = None if found is None else max(0.0, float(found))
    depth = conn.execute(select(func.coalesce(func.sum(QueueRow.depth), 0))).scalar()
    return runs, p95, int(depth or 0)
