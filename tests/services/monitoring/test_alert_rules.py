"""Each kind of alert rule decided on fixed series, and the rule validation the service and
the rule editor share."""

from __future__ import annotations

import math
from typing import Any

import pytest

from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.services.monitoring.alert_rules import (
    RuleSpec,
    anomaly_score,
    describe_condition,
    duration,
    evaluate_rule,
    ewma_score,
    latest,
    mad_score,
    rate_per_minute,
    validate_rule,
)
from tests.fakes import FakeClock

T0 = 1_800_000_000.0


def spec(
    kind: str, metric: str = "m", labels: dict[str, str] | None = None, **params: Any
) -> RuleSpec:
    built, problems = validate_rule(
        {"name": "r", "kind": kind, "metric": metric, "labels": labels or {}, "params": params}
    )
    assert built is not None, problems
    return built


def recorded(
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]], kind: str = "gauge"
) -> MetricsCollector:
    """A real collector holding the given samples (timestamps from a hand-moved clock)."""
    clock = FakeClock(T0)
    collector = MetricsCollector(clock=clock)
    for key, samples in series.items():
        previous = 0.0
        for ts, value in samples:
            clock.now = ts
            if kind == "gauge":
                collector.gauge("m", value, dict(key))
            else:
                collector.increment("m", value - previous, dict(key))
                previous = value
    return collector


def decide(rule: RuleSpec, source: MetricsCollector, now: float, **kw: Any) -> list[Any]:
    kw.setdefault("stale_after", 300.0)
    kw.setdefault("watching_since", T0 - 10_000)
    return evaluate_rule(rule, source, now, **kw)


# -- threshold ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("comparator", "value", "active"),
    [(">", 0.96, True), (">", 0.95, False), (">=", 0.95, True), ("<", 0.1, True),
     ("<", 0.2, False), ("<=", 0.2, True)],
)  # fmt: skip
def test_threshold_compares_the_latest_sample(comparator: str, value: float, active: bool) -> None:
    threshold = 0.95 if ">" in comparator else 0.2
    source = recorded({(): [(T0, 0.1 if active else 0.99), (T0 + 60, value)]})
    rule = spec("threshold", comparator=comparator, threshold=threshold)
    (outcome,) = decide(rule, source, T0 + 90)
    assert outcome.active is active and outcome.value == value
    assert f"m is {value:.4g} ({comparator} {threshold:g})" == outcome.message


def test_threshold_ignores_stale_and_future_samples() -> None:
    source = recorded({(): [(T0, 0.99)]})
    rule = spec("threshold", threshold=0.95)
    assert decide(rule, source, T0 + 301) == []  # older than stale_after: no data
    assert decide(rule, source, T0 - 1) == []  # nothing at or before "now"
    assert latest([(T0, 1.0), (T0 + 10, 2.0)], T0 + 5, 60) == (T0, 1.0)


def test_threshold_per_series_and_label_matcher() -> None:
    source = recorded(
        {
            (("queue", "leads"),): [(T0, 900.0)],
            (("queue", "mail"),): [(T0, 3.0)],
            (("queue", "orders"),): [(T0, 2000.0)],
        }
    )
    rule = spec("threshold", threshold=500)
    outcomes = {o.labels["queue"]: o.active for o in decide(rule, source, T0 + 1)}
    assert outcomes == {"leads": True, "mail": False, "orders": True}
    only = spec("threshold", labels={"queue": "mail"}, threshold=500)
    assert [o.labels for o in decide(only, source, T0 + 1)] == [{"queue": "mail"}]


# -- rate of change -------------------------------------------------------------------------
def test_rate_of_a_counter_is_its_increase_per_minute() -> None:
    # 1 failure 15 min ago, then 6 in the last 10 minutes
    samples = [(T0, 1.0)] + [(T0 + 330 + 60 * i, 2.0 + i) for i in range(6)]
    assert rate_per_minute(samples, T0 + 900, 600, counter=True) == pytest.approx(0.6)
    # first seen inside the window: counted from zero
    assert rate_per_minute(samples[1:], T0 + 900, 600, counter=True) == pytest.approx(0.7)
    # a restart (reset to a lower value) counts its new total
    assert rate_per_minute([(T0 - 700, 10.0), (T0 + 60, 12.0), (T0 + 120, 1.0)], T0 + 150, 600,
                           counter=True) == pytest.approx(0.3)  # fmt: skip
    # quiet for longer than the window: 0/min; never seen: no data
    assert rate_per_minute([(T0, 5.0)], T0 + 1000, 600, counter=True) == 0.0
    assert rate_per_minute([], T0, 600, counter=True) is None


def test_rate_of_a_gauge_is_its_slope() -> None:
    samples = [(T0, 0.50), (T0 + 300, 0.60), (T0 + 600, 0.80)]
    # from the value at the window's start (T0 + 300) to the latest
    assert rate_per_minute(samples, T0 + 600, 300, counter=False) == pytest.approx(0.04)
    assert rate_per_minute(samples, T0 + 600, 900, counter=False) == pytest.approx(0.03)
    assert rate_per_minute(samples[:1], T0 + 10, 300, counter=False) is None  # one point


def test_rate_rule_on_the_failed_runs_counter() -> None:
    failures = [(T0 + 60 * i, float(i + 1)) for i in range(7)]
    source = recorded(
        {(("status", "failed"),): failures, (("status", "succeeded"),): [(T0, 40.0)]}, "counter"
    )
    rule = spec("rate", "m", {"status": "failed"}, comparator=">", threshold=0.5, window=600)
    (outcome,) = decide(rule, source, T0 + 400)
    assert outcome.active and outcome.value == pytest.approx(0.7)
    assert outcome.labels == {"status": "failed"}
    (later,) = decide(rule, source, T0 + 1300)  # no failure for 15 minutes
    assert not later.active and later.value == 0.0


# -- anomaly --------------------------------------------------------------------------------
STEADY = [10.0, 10.5, 9.5, 10.2, 9.8, 10.1, 9.9, 10.3, 9.7, 10.0, 10.4, 9.6]


def test_ewma_score() -> None:
    assert abs(ewma_score([*STEADY, 10.1], 0.3)) < 1
    assert ewma_score([*STEADY, 14.0], 0.3) > 5
    assert ewma_score([*STEADY, 6.0], 0.3) < -5
    assert ewma_score([5.0] * 5 + [5.0], 0.3) == 0.0  # no spread, no change
    assert ewma_score([5.0] * 5 + [6.0], 0.3) == math.inf


def test_mad_score_is_robust_to_outliers() -> None:
    with_outliers = [*STEADY, 50.0, 48.0]  # two earlier spikes do not hide a third
    assert mad_score([*with_outliers, 14.0]) > 3.5
    assert abs(mad_score([*with_outliers, 10.2])) < 1
    # median 10, MAD 0.3 → robust z = 0.6745 · 2 / 0.3
    assert mad_score([9.7, 10.0, 10.3, 10.0, 9.7, 10.3, 12.0]) == pytest.approx(0.6745 * 2 / 0.3)
    # more than half equal: the mean absolute deviation stands in; all equal: 0 or infinite
    assert mad_score([1.0, 1.0, 1.0, 1.0, 3.0, 2.0]) == pytest.approx(1 / (1.2533 * 0.4))
    assert mad_score([1.0, 1.0, 1.0, 1.0]) == 0.0
    assert mad_score([1.0, 1.0, 1.0, 2.0]) == math.inf


@pytest.mark.parametrize("method", ["ewma", "mad"])
def test_anomaly_rule_needs_min_samples_and_honours_direction(method: str) -> None:
    samples = [(T0 + 60 * i, v) for i, v in enumerate(STEADY)]
    spike = [*samples, (T0 + 60 * len(STEADY), 14.0)]
    now = T0 + 60 * len(STEADY) + 1
    params = {"method": method, "threshold": 3, "window": 3600, "min_samples": 10}
    (outcome,) = decide(spec("anomaly", **params), recorded({(): spike}), now)
    assert outcome.active and outcome.value > 3
    assert method.upper() in outcome.message and "m is 14" in outcome.message
    below = spec("anomaly", **{**params, "direction": "below"})
    assert not decide(below, recorded({(): spike}), now)[0].active
    # too few samples before the latest: no verdict
    few = spec("anomaly", **{**params, "min_samples": 20})
    assert decide(few, recorded({(): spike}), now) == []
    assert anomaly_score(spike, now, {**params, "alpha": 0.3, "window": 120}) is None


# -- absence --------------------------------------------------------------------------------
def test_absence_counts_from_the_last_sample_or_from_when_watching_began() -> None:
    rule = spec("absence", seconds=300)
    source = recorded({(): [(T0, 0.5), (T0 + 60, 0.5)]})
    (quiet,) = decide(rule, source, T0 + 300)
    assert not quiet.active and quiet.value == 240
    (gone,) = decide(rule, source, T0 + 361)
    assert gone.active and gone.message == "Last sample of m 301 s ago"
    empty = MetricsCollector()
    (fresh,) = decide(rule, empty, T0 + 200, watching_since=T0)
    assert not fresh.active  # nobody could have recorded anything yet
    (never,) = decide(rule, empty, T0 + 400, watching_since=T0)
    assert never.active and never.message.startswith("No sample of m yet")
    (before,) = decide(rule, source, T0 + 400, watching_since=T0 + 390)
    assert not before.active  # silence before the service started does not count


# -- validation -----------------------------------------------------------------------------
def test_validation_fills_defaults_and_drops_foreign_settings() -> None:
    rule, problems = validate_rule(
        {"name": " Busy ", "kind": "anomaly", "metric": "auterity_system_cpu_ratio",
         "labels": "host=a, zone = b", "params": {"method": "mad", "seconds": 5}},
    )  # fmt: skip
    assert problems == [] and rule is not None
    assert rule.name == "Busy" and rule.labels == {"host": "a", "zone": "b"}
    assert rule.params == {"method": "mad", "threshold": 3.0, "direction": "both",
                           "window": 3600.0, "min_samples": 10, "alpha": 0.3}  # fmt: skip
    assert rule.severity == "warning" and rule.for_seconds == 0 and rule.notify is None


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"name": ""}, "name", "Give the rule a name"),
        ({"kind": "median"}, "kind", "The kind must be one of threshold, rate, anomaly, absence"),
        ({"metric": "cpu load"}, "metric", "'cpu load' is not a valid metric name"),
        ({"labels": "status"}, "labels", "Write labels as name=value"),
        ({"params": {}}, "threshold", "Give a threshold"),
        ({"params": {"threshold": "high"}}, "threshold", "The threshold must be a number"),
        ({"params": {"threshold": 1, "comparator": "=="}}, "comparator", "The comparison must be"),
        ({"for_seconds": -5}, "for_seconds", "The for-duration must be at least 0"),
        ({"severity": "fatal"}, "severity", "The severity must be one of info, warning, critical"),
        ({"notify": {"integration": "Mail", "recipients": "ops, x@y.z"}}, "recipients",
         "Not an e-mail address: ops"),
        ({"notify": {"integration": "Hook", "path": "alerts"}}, "path", "must start with /"),
        ({"kind": "absence", "params": {}}, "seconds", "Give how many seconds without data"),
        ({"kind": "anomaly", "params": {"min_samples": 2}}, "min_samples", "must be 3 to 100000"),
        ({"kind": "anomaly", "params": {"alpha": 1.5}}, "alpha", "must be at most 1"),
        ({"kind": "rate", "params": {"threshold": 1, "window": 0}}, "window", "at least 1"),
    ],
)  # fmt: skip
def test_validation_names_the_field_and_says_what_is_wrong(
    data: dict[str, Any], field: str, text: str
) -> None:
    base = {"name": "r", "kind": "threshold", "metric": "m", "params": {"threshold": 1}}
    rule, problems = validate_rule({**base, **data})
    assert rule is None
    assert any(f == field and text in message for f, message in problems), problems


def test_descriptions() -> None:
    assert (
        describe_condition(spec("threshold", "auterity_system_memory_ratio", threshold=0.95))
        == "auterity_system_memory_ratio > 0.95"
    )
    rate = spec("rate", "runs", {"status": "failed"}, threshold=0.5, window=600)
    assert describe_condition(rate) == "rate of runs{status=failed} > 0.5/min over 10 min"
    anomaly = spec("anomaly", direction="above", window=7200)
    assert describe_condition(anomaly) == "m anomalous (EWMA z > 3 over 2 h)"
    absence = RuleSpec("a", "absence", "m", params={"seconds": 300.0}, for_seconds=90)
    assert describe_condition(absence) == "no m for 5 min for 90 s"
    assert [duration(s) for s in (45, 120, 5400, 86400 * 3)] == [
        "45 s",
        "2 min",
        "1 h 30 min",
        "3 d",
    ]
