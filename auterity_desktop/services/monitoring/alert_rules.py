"""Alert rules as data, their validation, and the pure functions that decide them.

Four kinds of rule, each over the samples of one metric (every series whose labels include
the rule's ``labels``):

``threshold``  the latest sample compared with a number (``>``, ``>=``, ``<``, ``<=``);
               a sample older than the staleness limit counts as no data.
``rate``       change per minute over a window: for a counter, its increase (resets
               counted as restarts from zero; a counter first seen inside the window
               counts from zero); for a gauge, the slope from the value at the window's
               start to the latest one. Compared like a threshold.
``anomaly``    how far the latest sample lies from the samples before it in a trailing
               window, as a z-score: against an exponentially weighted mean and variance
               (``ewma``) or, robust to outliers, against the median and the median
               absolute deviation (``mad``: 0.6745 · (x − median) / MAD). Needs
               ``min_samples`` earlier samples; fires when the score passes ``threshold``
               above, below or either way.
``absence``    no sample of any matching series for ``seconds``.

Nothing here touches the database, the clock or the event loop: a rule, some samples and
"now" go in, an ``Outcome`` per series comes out. The service and the rule editor validate
with ``validate_rule``, so the dialog shows the same sentences the service refuses with.
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

KINDS = ("threshold", "rate", "anomaly", "absence")
KIND_TITLES = {
    "threshold": "Threshold",
    "rate": "Rate of change",
    "anomaly": "Anomaly",
    "absence": "Absence of data",
}
SEVERITIES = ("info", "warning", "critical")
COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
METHODS = ("ewma", "mad")
DIRECTIONS = ("above", "below", "both")
MAX_SECONDS = 30 * 86_400.0
MAX_NAME = 120
MAD_SCALE = 0.6745  # makes the MAD of normal data comparable with its standard deviation
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# The settings of each kind and their defaults (``None``: required).
PARAM_DEFAULTS: dict[str, dict[str, Any]] = {
    "threshold": {"comparator": ">", "threshold": None},
    "rate": {"comparator": ">", "threshold": None, "window": 600.0},
    "anomaly": {
        "method": "ewma",
        "threshold": 3.0,
        "direction": "both",
        "window": 3600.0,
        "min_samples": 10,
        "alpha": 0.3,
    },
    "absence": {"seconds": None},
}

Samples = Sequence[tuple[float, float]]
Problems = list[tuple[str, str]]


class MetricSource(Protocol):
    """Where samples come from: the platform's ``MetricsCollector`` fits; tests may pass
    their own."""

    def history(
        self, name: str, labels: Mapping[str, object] | None = None, since: float | None = None
    ) -> list[tuple[float, float]]: ...

    def series_labels(self, name: str) -> list[dict[str, str]]: ...

    def kind(self, name: str) -> Any: ...


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule: what ``validate_rule`` returns and the service stores."""

    name: str
    kind: str
    metric: str
    labels: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    for_seconds: float = 0.0
    severity: str = "warning"
    enabled: bool = True
    description: str = ""
    notify: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "metric": self.metric,
            "labels": dict(self.labels),
            "params": dict(self.params),
            "for_seconds": self.for_seconds,
            "severity": self.severity,
            "enabled": self.enabled,
            "description": self.description,
            "notify": dict(self.notify) if self.notify else None,
        }


@dataclass(frozen=True)
class Outcome:
    """The verdict of a rule on one series (for ``absence``: on all of them together)."""

    labels: dict[str, str]
    active: bool
    value: float | None
    message: str


# -- validation -----------------------------------------------------------------------------
def _number(
    problems: Problems,
    name: str,
    value: Any,
    *,
    title: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append((name, f"{title} must be a number"))
        return 0.0
    number = float(value)
    if low is not None and (number <= low if low_open else number < low):
        bound = f"above {low:g}" if low_open else f"at least {low:g}"
        problems.append((name, f"{title} must be {bound}"))
    elif high is not None and number > high:
        problems.append((name, f"{title} must be at most {high:g}"))
    return number


def _choice(problems: Problems, name: str, value: Any, allowed: Sequence[str], title: str) -> str:
    if value not in allowed:
        problems.append((name, f"{title} must be one of {', '.join(allowed)}"))
        return str(allowed[0])
    return str(value)


def parse_labels(value: Any, problems: Problems) -> dict[str, str]:
    """A mapping, or text like ``status=failed, queue=leads``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs: dict[str, Any] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            key, sep, label = part.partition("=")
            if not sep:
                problems.append(("labels", f"Write labels as name=value, not {part.strip()!r}"))
                return {}
            pairs[key.strip()] = label.strip()
        value = pairs
    if not isinstance(value, Mapping):
        problems.append(("labels", "Labels must be pairs of name and value"))
        return {}
    labels: dict[str, str] = {}
    for key, label in value.items():
        if not isinstance(key, str) or not LABEL_NAME.match(key) or key.startswith("__"):
            problems.append(("labels", f"{key!r} is not a valid label name"))
            continue
        if not isinstance(label, str | int | float) or isinstance(label, bool) or label == "":
            problems.append(("labels", f"The label {key} needs a value"))
            continue
        labels[key] = str(label)
    return labels


def parse_recipients(value: Any) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[,;\s]+", value)
    if not isinstance(value, list | tuple):
        return []
    return [str(v).strip() for v in value if str(v).strip()]


def _notify(value: Any, problems: Problems) -> dict[str, Any] | None:
    if value is None or value == {} or value == "":
        return None
    if not isinstance(value, Mapping):
        problems.append(("notify", "The notification must name an integration"))
        return None
    integration = value.get("integration")
    if integration is None or (isinstance(integration, str) and not integration.strip()):
        return None  # "no integration" in a form
    if not isinstance(integration, str):
        problems.append(("integration", "The integration must be given by its name"))
        return None
    notify: dict[str, Any] = {"integration": integration.strip()}
    if value.get("recipients") not in (None, "", []):
        recipients = parse_recipients(value.get("recipients"))
        bad = [r for r in recipients if "@" not in r or r.startswith("@") or r.endswith("@")]
        if bad:
            problems.append(("recipients", f"Not an e-mail address: {bad[0]}"))
        notify["recipients"] = recipients
    if value.get("path") not in (None, ""):
        path = value.get("path")
        if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
            problems.append(("path", "The path must start with / and have no spaces"))
        else:
            notify["path"] = path
    return notify


def validate_rule(data: Mapping[str, Any]) -> tuple[RuleSpec | None, Problems]:
    """Every problem of a rule as ``(field, message)``; the rule when there are none.

    ``data`` is ``{name, kind, metric, labels, params: {...}, for_seconds, severity,
    enabled, description, notify: {integration, recipients | path}}``; settings a kind
    does not use are dropped, missing optional ones take their defaults."""
    problems: Problems = []
    if not isinstance(data, Mapping):
        return None, [("rule", "A rule must be an object")]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(("name", "Give the rule a name"))
        name = ""
    elif len(name.strip()) > MAX_NAME:
        problems.append(("name", f"The name may have at most {MAX_NAME} characters"))
    name = name.strip()
    kind = _choice(problems, "kind", data.get("kind"), KINDS, "The kind")
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        problems.append(("metric", "Name the metric to watch"))
        metric = ""
    elif not METRIC_NAME.match(metric.strip()):
        problems.append(("metric", f"{metric.strip()!r} is not a valid metric name"))
    metric = metric.strip()
    labels = parse_labels(data.get("labels"), problems)
    raw_params = data.get("params") or {}
    if not isinstance(raw_params, Mapping):
        problems.append(("params", "The settings of the rule must be an object"))
        raw_params = {}
    params = _params(kind, raw_params, problems)
    for_seconds = _number(
        problems,
        "for_seconds",
        data.get("for_seconds", 0.0) or 0.0,
        title="The for-duration",
        low=0,
        high=MAX_SECONDS,
    )
    severity = _choice(
        problems, "severity", data.get("severity", "warning"), SEVERITIES, "The severity"
    )
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(("enabled", "Enabled must be true or false"))
    description = data.get("description") or ""
    if not isinstance(description, str):
        problems.append(("description", "The description must be text"))
        description = ""
    notify = _notify(data.get("notify"), problems)
    if problems:
        return None, problems
    spec = RuleSpec(
        name=name,
        kind=kind,
        metric=metric,
        labels=labels,
        params=params,
        for_seconds=for_seconds,
        severity=severity,
        enabled=bool(enabled),
        description=description.strip(),
        notify=notify,
    )
    return spec, []


def _params(kind: str, raw: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    defaults = PARAM_DEFAULTS.get(kind, {})
    given = {k: (raw[k] if raw.get(k) not in (None, "") else v) for k, v in defaults.items()}
    for key, value in given.items():
        if value is None:
            what = {"threshold": "a threshold", "seconds": "how many seconds without data"}
            problems.append((key, f"Give {what.get(key, key)}"))
    if any(value is None for value in given.values()):
        return {}
    params: dict[str, Any] = {}
    if kind in ("threshold", "rate"):
        params["comparator"] = _choice(
            problems, "comparator", given["comparator"], tuple(COMPARATORS), "The comparison"
        )
        params["threshold"] = _number(
            problems, "threshold", given["threshold"], title="The threshold"
        )
    if kind == "rate":
        params["window"] = _number(
            problems, "window", given["window"], title="The window", low=1, high=MAX_SECONDS
        )
    if kind == "anomaly":
        params["method"] = _choice(problems, "method", given["method"], METHODS, "The method")
        params["threshold"] = _number(
            problems,
            "threshold",
            given["threshold"],
            title="The score threshold",
            low=0,
            low_open=True,
        )
        params["direction"] = _choice(
            problems, "direction", given["direction"], DIRECTIONS, "The direction"
        )
        params["window"] = _number(
            problems, "window", given["window"], title="The window", low=1, high=MAX_SECONDS
        )
        samples = given["min_samples"]
        if (
            isinstance(samples, bool)
            or not isinstance(samples, int | float)
            or samples != int(samples)
        ):
            problems.append(("min_samples", "The minimum number of samples must be a whole number"))
        elif not 3 <= samples <= 100_000:
            problems.append(("min_samples", "The minimum number of samples must be 3 to 100000"))
        else:
            params["min_samples"] = int(samples)
        params["alpha"] = _number(
            problems,
            "alpha",
            given["alpha"],
            title="The smoothing factor",
            low=0,
            low_open=True,
            high=1,
        )
    if kind == "absence":
        params["seconds"] = _number(
            problems,
            "seconds",
            given["seconds"],
            title="The time without data",
            low=1,
            high=MAX_SECONDS,
        )
    return params


# -- the conditions -------------------------------------------------------------------------
def compare(value: float, comparator: str, threshold: float) -> bool:
    return COMPARATORS[comparator](value, threshold)


def latest(samples: Samples, now: float, stale_after: float) -> tuple[float, float] | None:
    """The newest sample at or before ``now``, unless it is older than ``stale_after``."""
    for ts, value in reversed(samples):
        if ts <= now:
            return (ts, value) if now - ts <= stale_after else None
    return None


def rate_per_minute(samples: Samples, now: float, window: float, *, counter: bool) -> float | None:
    """Change per minute over the ``window`` seconds before ``now``; None without data."""
    points = [(t, v) for t, v in samples if t <= now]
    start = now - window
    before = [(t, v) for t, v in points if t <= start]
    inside = [(t, v) for t, v in points if t > start]
    if counter:
        if not inside:
            return 0.0 if before else None
        previous = before[-1][1] if before else 0.0
        increase = 0.0
        for _, value in inside:
            increase += value - previous if value >= previous else value  # a reset
            previous = value
        return increase / (window / 60.0)
    first = before[-1] if before else (inside[0] if inside else None)
    last = inside[-1] if inside else None
    if first is None or last is None or last[0] <= first[0]:
        return None
    return (last[1] - first[1]) / ((last[0] - first[0]) / 60.0)


def ewma_score(values: Sequence[float], alpha: float) -> float:
    """z-score of the last value against the EWMA mean and variance of the ones before."""
    *history, current = values
    mean, variance = history[0], 0.0
    for x in history[1:]:
        diff = x - mean
        increment = alpha * diff
        mean += increment
        variance = (1 - alpha) * (variance + diff * increment)
    return _score(current - mean, math.sqrt(variance))


def mad_score(values: Sequence[float]) -> float:
    """Robust z-score of the last value: 0.6745 · (x − median) / MAD of the ones before.
    When more than half the values are equal (MAD 0), the mean absolute deviation stands in
    (scaled to match, as in Iglewicz and Hoaglin)."""
    *history, current = values
    median = statistics.median(history)
    deviations = [abs(x - median) for x in history]
    mad = statistics.median(deviations)
    if mad > 0:
        return MAD_SCALE * (current - median) / mad
    mean_ad = statistics.fmean(deviations)
    return _score(current - median, 1.2533 * mean_ad)


def _score(distance: float, spread: float) -> float:
    if spread > 1e-12:
        return distance / spread
    if abs(distance) <= 1e-12:
        return 0.0
    return math.copysign(math.inf, distance)


def anomaly_score(samples: Samples, now: float, params: Mapping[str, Any]) -> float | None:
    """The score of the latest sample in the window, None with too few samples before it."""
    window = [v for t, v in samples if now - params["window"] <= t <= now]
    if len(window) < int(params["min_samples"]) + 1:
        return None
    if params["method"] == "mad":
        return mad_score(window)
    return ewma_score(window, float(params["alpha"]))


def latest_value(samples: Samples, now: float) -> float | None:
    return next((v for t, v in reversed(samples) if t <= now), None)


def _anomalous(score: float, direction: str, threshold: float) -> bool:
    if direction == "above":
        return score > threshold
    if direction == "below":
        return score < -threshold
    return abs(score) > threshold


def matches(labels: Mapping[str, str], matcher: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in matcher.items())


def describe_condition(spec: RuleSpec) -> str:
    """One line: ``auterity_system_memory_ratio > 0.95 for 2 min``."""
    p = spec.params
    target = spec.metric + (
        "{" + ", ".join(f"{k}={v}" for k, v in sorted(spec.labels.items())) + "}"
        if spec.labels
        else ""
    )
    if spec.kind == "threshold":
        text = f"{target} {p['comparator']} {p['threshold']:g}"
    elif spec.kind == "rate":
        text = (
            f"rate of {target} {p['comparator']} {p['threshold']:g}/min "
            f"over {duration(p['window'])}"
        )
    elif spec.kind == "anomaly":
        sign = {"above": "z >", "below": "z < −", "both": "|z| >"}[p["direction"]]
        text = (
            f"{target} anomalous ({p['method'].upper()} {sign} {p['threshold']:g} "
            f"over {duration(p['window'])})"
        )
    else:
        text = f"no {target} for {duration(p['seconds'])}"
    if spec.for_seconds > 0:
        text += f" for {duration(spec.for_seconds)}"
    return text


def duration(seconds: float) -> str:
    """``45 s``, ``2 min``, ``1 h 30 min``, ``2 d``."""
    seconds = float(seconds)
    if seconds < 60 or seconds % 60:
        return f"{seconds:g} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48 or rest:
        return f"{hours} h" + (f" {rest} min" if rest else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.4g}"


def evaluate_rule(
    spec: RuleSpec,
    source: MetricSource,
    now: float,
    *,
    stale_after: float,
    watching_since: float,
) -> list[Outcome]:
    """The rule's verdict on every matching series at ``now``.

    ``stale_after``: a threshold rule ignores a latest sample older than this.
    ``watching_since``: when the service began to look, so that an absence rule does not
    fire for the minutes before it started (a metric nobody ever recorded counts as
    missing from then)."""
    series = [s for s in source.series_labels(spec.metric) if matches(s, spec.labels)]
    p = spec.params
    if spec.kind == "absence":
        last_seen = max(
            (t for s in series for t, _ in source.history(spec.metric, s) if t <= now),
            default=None,
        )
        reference = last_seen if last_seen is not None else watching_since
        silent = max(0.0, now - max(reference, watching_since))
        active = silent > p["seconds"]
        if last_seen is None:
            message = f"No sample of {spec.metric} yet ({duration(round(silent))} of watching)"
        else:
            message = f"Last sample of {spec.metric} {duration(round(silent))} ago"
        return [Outcome(dict(spec.labels), active, silent, message)]
    counter = str(source.kind(spec.metric) or "") == "counter"
    outcomes: list[Outcome] = []
    for labels in series:
        if spec.kind == "threshold":
            sample = latest(
                source.history(spec.metric, labels, now - stale_after), now, stale_after
            )
            if sample is None:
                continue
            value = sample[1]
            active = compare(value, p["comparator"], p["threshold"])
            message = f"{spec.metric} is {_fmt(value)} ({p['comparator']} {p['threshold']:g})"
        elif spec.kind == "rate":
            since = None if counter else now - 2 * p["window"]
            rate = rate_per_minute(
                source.history(spec.metric, labels, since), now, p["window"], counter=counter
            )
            if rate is None:
                continue
            value = rate
            active = compare(rate, p["comparator"], p["threshold"])
            message = (
                f"{spec.metric} changes by {_fmt(rate)}/min over {duration(p['window'])} "
                f"({p['comparator']} {p['threshold']:g}/min)"
            )
        else:
            samples = source.history(spec.metric, labels, now - p["window"])
            score = anomaly_score(samples, now, p)
            if score is None:
                continue
            value = score
            active = _anomalous(score, p["direction"], p["threshold"])
            current = latest_value(samples, now)
            message = (
                f"{spec.metric} is {_fmt(current or 0.0)}: score {_fmt(score)} "
                f"({p['method'].upper()}, limit {p['threshold']:g})"
            )
        outcomes.append(Outcome(dict(labels), active, value, message))
    return outcomes
