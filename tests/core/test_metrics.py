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
    m.increment("runs_total")
    m.increment("runs_total")
    assert [v for _, v in m.history("runs_total")] == [1.0, 2.0]


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


def test_thread_safe_increments() -> None:
    m = MetricsCollector()

    def work() -> None:
        for _ in range(2000):
            m.increment("hits_total")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.value("hits_total") == 8000


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
