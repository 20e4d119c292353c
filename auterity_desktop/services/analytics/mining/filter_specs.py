"""Log filters as data: ``[{"kind": "case_duration", "max_seconds": 86400}, ...]``.

The Analysis page's filter dialog, the service and (later) the REST API pass filters as
plain JSON, so they can be shown, saved with a view and sent to a worker process. Every
problem in a list is reported at once (``details["problems"]``, each with the filter's
index), before any filter runs; the filters then apply in order, each narrowing what the
one before kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining import filters
from auterity_desktop.services.analytics.mining.event_log import EventLog

MAX_FILTERS = 50
TIME_MODES = ("events", "traces_contained", "traces_intersecting")
LEVELS = ("case", "event")

Check = Callable[[Any], str | None]


def _whole(low: int) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        return None if ok else f"must be a whole number of at least {low}"

    return check


def _share(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    return None if ok else "must be a number from 0 to 1"


def _seconds(value: Any) -> str | None:
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not math.isnan(value)
        and value >= 0
    )
    return None if ok else "must be a number of seconds, 0 or more"


def _names(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else "must be a list of activity names"


def _pairs(value: Any) -> str | None:
    ok = isinstance(value, list) and all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(a, str) for a in p)
        for p in value
    )
    return None if ok else "must be a list of [source, target] activity pairs"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty text"


def _instant(value: Any) -> str | None:
    ok = isinstance(value, str | int | float) and not isinstance(value, bool)
    return None if ok else "must be a date and time (ISO text or Unix seconds)"


def _values(value: Any) -> str | None:
    return None if isinstance(value, list) else "must be a list of values"


def _one_of(allowed: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


# kind -> (required parameters, optional parameters)
SCHEMA: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "time_range": ({"start": _instant, "end": _instant}, {"mode": _one_of(TIME_MODES)}),
    "variants_top_k": ({"k": _whole(1)}, {}),
    "variants_coverage": ({"min_coverage": _share}, {}),
    "start_activities": ({"activities": _names}, {"retain": _flag}),
    "end_activities": ({"activities": _names}, {"retain": _flag}),
    "attribute": (
        {"attribute": _text, "values": _values},
        {"level": _one_of(LEVELS), "retain": _flag},
    ),
    "case_size": ({}, {"min": _whole(1), "max": _whole(1)}),
    "case_duration": ({}, {"min_seconds": _seconds, "max_seconds": _seconds}),
    "directly_follows": ({"pairs": _pairs}, {"retain": _flag}),
    "activities_percentage": ({"percentage": _share}, {}),
}


def filter_problems(specs: Any) -> list[dict[str, Any]]:
    """Every problem in ``specs``: ``{"index", "field", "message"}`` (index None for the
    list itself)."""
    if not isinstance(specs, list):
        return [{"index": None, "field": None, "message": "filters must be a list"}]
    if len(specs) > MAX_FILTERS:
        return [{"index": None, "field": None, "message": f"at most {MAX_FILTERS} filters"}]
    problems: list[dict[str, Any]] = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, Mapping):
            problems.append({"index": index, "field": None, "message": "must be an object"})
            continue
        kind = spec.get("kind")
        if kind not in SCHEMA:
            problems.append({"index": index, "field": "kind",
                             "message": f"must be one of {', '.join(SCHEMA)}"})  # fmt: skip
            continue
        required, optional = SCHEMA[kind]
        for name, check in required.items():
            if name not in spec:
                problems.append({"index": index, "field": name, "message": "is required"})
            elif (reason := check(spec[name])) is not None:
                problems.append({"index": index, "field": name, "message": reason})
        for name, value in spec.items():
            if name == "kind" or name in required:
                continue
            if name not in optional:
                problems.append({"index": index, "field": name, "message": "is not a parameter"})
            elif value is not None and (reason := optional[name](value)) is not None:
                problems.append({"index": index, "field": name, "message": reason})
    return problems


def _one(log: EventLog, spec: Mapping[str, Any]) -> EventLog:
    kind = spec["kind"]
    retain = spec.get("retain", True) is not False
    if kind == "time_range":
        mode: Any = spec.get("mode") or "events"  # checked against TIME_MODES
        return filters.filter_time_range(log, spec["start"], spec["end"], mode)
    if kind == "variants_top_k":
        return filters.filter_variants_top_k(log, spec["k"])
    if kind == "variants_coverage":
        return filters.filter_variants_by_coverage_percentage(log, spec["min_coverage"])
    if kind == "start_activities":
        return filters.filter_start_activities(log, spec["activities"], retain=retain)
    if kind == "end_activities":
        return filters.filter_end_activities(log, spec["activities"], retain=retain)
    if kind == "attribute":
        level: Any = spec.get("level") or "case"  # checked against LEVELS
        return filters.filter_event_attribute_values(
            log, spec["attribute"], spec["values"], level=level, retain=retain
        )
    if kind == "case_size":
        return filters.filter_case_size(log, spec.get("min") or 1, spec.get("max"))
    if kind == "case_duration":
        high = spec.get("max_seconds")
        return filters.filter_case_performance(
            log, spec.get("min_seconds") or 0.0, math.inf if high is None else high
        )
    if kind == "directly_follows":
        pairs = [(a, b) for a, b in spec["pairs"]]
        return filters.filter_directly_follows_relation(log, pairs, retain=retain)
    return filters.filter_activities_percentage(log, spec["percentage"])


def apply_filters(log: EventLog, specs: Sequence[Mapping[str, Any]]) -> EventLog:
    """``log`` narrowed by each filter in turn; ``INVALID_INPUT`` listing every problem
    when the list is malformed, or naming the filter a value was refused by."""
    problems = filter_problems(specs)
    if problems:
        first = problems[0]
        where = f"filter {first['index'] + 1}" if first["index"] is not None else "filters"
        field = f" {first['field']}" if first["field"] else ""
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"{len(problems)} problem(s) in the filters; {where}{field} {first['message']}",
            {"problems": problems},
        )
    for index, spec in enumerate(specs):
        try:
            log = _one(log, spec)
        except ServiceError as exc:
            raise ServiceError(
                exc.code,
                f"Filter {index + 1} ({spec['kind']}): {exc.message}",
                {**exc.details, "index": index},
            ) from None
    return log
