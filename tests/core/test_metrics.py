from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MAX_SERIES_PER_METRIC, MetricKind, MetricsCollector
from tests.fakes import FakeClock


def test_counters_gauges_histograms_with_labels() -> None:
    m = MetricsCollector()
    m.increment("api_requests_total")
    m.increment("api_requests_total", 2, {"route": "/x"})
    m.increment("api_requests_total", labels={"route": "/x"})
    m.gauge("queue_depth", 7, {"topic": "leads"})
    m.gauge("queue_depth", 3, {"topic": "leads"})
    m.observe("request_duration_seconds", 0.1)
    m.observe("request_duration_seconds", 0.3)
    assert m.value("api_requests_total") == 1
    assert m.value("api_requests_total", {"route": "/x"}) == 3
    assert m.value("queue_depth", {"topic": "leads"}) == 3
    assert m.value("request_duration_seconds") == pytest.approx(0.4)
    assert m.count("request_duration_seconds") == 2
    assert m.kind("queue_depth") is MetricKind.GAUGE
    assert m.value("never_seen") is None
    assert m.series_labels("api_requests_total") == [{}, {"route": "/x"}]


def test_history_is_a_ring_buffer_with_timestamps() -> None:
    clock = FakeClock(1000.0)
    m = MetricsCollector(history_size=3, clock=clock)
    for value in range(5):
        clock.now += 1
        m.gauge("cpu_ratio", value / 10)
    assert m.history("cpu_ratio") == [(1003.0, 0.2), (1004.0, 0.3), (1005.0, 0.4)]
    assert m.history("cpu_ratio", since=1004.5) == [(1005.0, 0.4)]
    # a counter's history has a sample per read that found new increments, stamped then
    m.increment("runs_total")
    clock.now = 1010.0
    assert m.history("runs_total") == [(1010.0, 1.0)]
    m.increment("runs_total")
    m.increment("runs_total")
    clock.now = 1020.0
    assert m.value("runs_total") == 3.0
    clock.now = 1030.0
    assert m.history("runs_total") == [(1010.0, 1.0), (1020.0, 3.0)]


def test_prometheus_exposition() -> None:
    m = MetricsCollector()
    m.describe("request_duration_seconds", "histogram", "Request latency", buckets=[0.1, 1])
    m.increment("api_requests_total", labels={"route": '/a"b', "method": "GET"})
    m.gauge("temperature", -1.5)
    m.observe("request_duration_seconds", 0.05)
    m.observe("request_duration_seconds", 0.5)
    m.observe("request_duration_seconds", 5)
    text = m.render_prometheus()
    assert "# TYPE api_requests_total counter" in text
    assert 'api_requests_total{method="GET",route="/a\\"b"} 1' in text
    assert "temperature -1.5" in text
    assert "# HELP request_duration_seconds Request latency" in text
    assert 'request_duration_seconds_bucket{le="0.1"} 1' in text
    assert 'request_duration_seconds_bucket{le="1"} 2' in text
    assert 'request_duration_seconds_bucket{le="+Inf"} 3' in text
    assert "request_duration_seconds_sum 5.55" in text
    assert "request_duration_seconds_count 3" in text
    assert text.endswith("\n")


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.increment("bad name"),
        lambda m: m.increment("ok_total", -1),
        lambda m: m.gauge("g", "7"),
        lambda m: m.gauge("g", float("nan")),
        lambda m: m.gauge("g", True),
        lambda m: m.increment("c_total", labels={"bad-label": 1}),
        lambda m: m.increment("c_total", labels={"__reserved": 1}),
    ],
)
def test_bad_input_is_a_service_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as info:
        call(MetricsCollector())
    assert info.value.code is ErrorCode.INVALID_INPUT


def test_kind_is_fixed_by_first_use() -> None:
    m = MetricsCollector()
    m.increment("things_total")
    with pytest.raises(ServiceError, match="is a counter"):
        m.gauge("things_total", 1)


def test_label_cardinality_is_capped() -> None:
    m = MetricsCollector()
    for i in range(MAX_SERIES_PER_METRIC + 50):
        m.increment("per_id_total", labels={"id": i})
    assert len(m.series_labels("per_id_total")) == MAX_SERIES_PER_METRIC


def test_thread_safe_increments_and_observations_while_read() -> None:
    """Writers take no lock; readers settling concurrently must lose nothing."""
    m = MetricsCollector()
    m.describe("wait_seconds", "histogram", buckets=[1.0])
    stop = threading.Event()

    def work() -> None:
        for i in range(20_000):
            m.increment("hits_total")
            m.observe("wait_seconds", float(i % 2) * 2)

    def read() -> None:
        while not stop.is_set():
            m.value("hits_total")
            m.snapshot()

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()
    assert m.value("hits_total") == 80_000
    assert m.count("wait_seconds") == 80_000
    assert m.value("wait_seconds") == 80_000.0
    (_, histogram) = sorted(m.snapshot(), key=lambda s: s.name)
    assert histogram.bucket_counts == (40_000, 40_000)
    totals = [v for _, v in m.history("hits_total")]
    assert totals == sorted(totals) and totals[-1] == 80_000


@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=50))
def test_histogram_buckets_are_cumulative_and_end_at_count(values: list[float]) -> None:
    m = MetricsCollector()
    for v in values:
        m.observe("h_seconds", v)
    counts = [
        int(line.rsplit(" ", 1)[1])
        for line in m.render_prometheus().splitlines()
        if line.startswith("h_seconds_bucket")
    ]
    assert counts == sorted(counts)
    assert counts[-1] == len(values)


def test_the_fast_path_finds_the_right_series() -> None:
    m = MetricsCollector()
    labels = {"status": "ok"}
    m.increment("runs_total", labels=labels)
    labels["status"] = "failed"  # the caller reuses its dict: a different series now
    m.increment("runs_total", labels=labels)
    m.increment("runs_total", labels={"status": "ok"})  # an equal, fresh dict
    m.increment("runs_total", labels={"status": 1})  # not a string: the slow path
    m.increment("runs_total", labels={"status": "1"})
    m.increment("runs_total", labels={"a": "x", "b": "y"})
    m.increment("runs_total", labels={"b": "y", "a": "x"})  # same set, another order
    assert m.value("runs_total", {"status": "ok"}) == 2
    assert m.value("runs_total", {"status": "failed"}) == 1
    assert m.value("runs_total", {"status": "1"}) == 2
    assert m.value("runs_total", {"a": "x", "b": "y"}) == 2
    m.gauge("depth", 3, {"queue": ["not", "hashable"]})  # converted with str() each time
    m.gauge("depth", 4, {"queue": ["not", "hashable"]})
    assert m.value("depth", {"queue": "['not', 'hashable']"}) == 4


def test_histograms_count_batches_of_observations_exactly() -> None:
    m = MetricsCollector(history_size=10)
    m.describe("wait_seconds", "histogram", buckets=[1, 2, 4])
    values = [(i % 50) / 10 for i in range(5000)]  # 0.0 … 4.9, many batches
    for value in values:
        m.observe("wait_seconds", value)
    assert m.count("wait_seconds") == 5000
    assert m.value("wait_seconds") == sum(values)  # added in the same order
    (snapshot,) = m.snapshot()
    expected = [
        sum(v <= 1 for v in values),
        sum(1 < v <= 2 for v in values),
        sum(2 < v <= 4 for v in values),
        sum(v > 4 for v in values),
    ]
    assert list(snapshot.bucket_counts) == expected
    assert snapshot.count == 5000 and snapshot.buckets == (1.0, 2.0, 4.0)
    assert len(m.history("wait_seconds")) == 10


def test_snapshot_has_every_series_with_its_last_update() -> None:
    clock = FakeClock(50.0)
    m = MetricsCollector(clock=clock)
    m.gauge("depth", 2, {"queue": "a"})
    clock.now = 60.0
    m.increment("runs_total")
    found = {(s.name, tuple(s.labels.items())): s for s in m.snapshot()}
    assert found[("depth", (("queue", "a"),))].updated_at == 50.0
    assert found[("depth", (("queue", "a"),))].kind is MetricKind.GAUGE
    assert found[("runs_total", ())].value == 1 and found[("runs_total", ())].updated_at == 60.0
