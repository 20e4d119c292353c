"""Small event logs with known answers, shared by the discovery and performance tests.

Only pandas here, so the same logs can be fed to pm4py in a throwaway venv to produce the
hard-coded expected values (pm4py is AGPL and never a project dependency)."""

from __future__ import annotations

import pandas as pd

# pm4py's tests/input_data/running-example.csv: case -> (activity, completion time, +01:00)
RUNNING_EXAMPLE: dict[str, list[tuple[str, str]]] = {
    "3": [
        ("register request", "2010-12-30 14:32"), ("examine casually", "2010-12-30 15:06"),
        ("check ticket", "2010-12-30 16:34"), ("decide", "2011-01-06 09:18"),
        ("reinitiate request", "2011-01-06 12:18"), ("examine thoroughly", "2011-01-06 13:06"),
        ("check ticket", "2011-01-08 11:43"), ("decide", "2011-01-09 09:55"),
        ("pay compensation", "2011-01-15 10:45"),
    ],
    "2": [
        ("register request", "2010-12-30 11:32"), ("check ticket", "2010-12-30 12:12"),
        ("examine casually", "2010-12-30 14:16"), ("decide", "2011-01-05 11:22"),
        ("pay compensation", "2011-01-08 12:05"),
    ],
    "1": [
        ("register request", "2010-12-30 11:02"), ("examine thoroughly", "2010-12-31 10:06"),
        ("check ticket", "2011-01-05 15:12"), ("decide", "2011-01-06 11:18"),
        ("reject request", "2011-01-07 14:24"),
    ],
    "6": [
        ("register request", "2011-01-06 15:02"), ("examine casually", "2011-01-06 16:06"),
        ("check ticket", "2011-01-07 16:22"), ("decide", "2011-01-07 16:52"),
        ("pay compensation", "2011-01-16 11:47"),
    ],
    "5": [
        ("register request", "2011-01-06 09:02"), ("examine casually", "2011-01-07 10:16"),
        ("check ticket", "2011-01-08 11:22"), ("decide", "2011-01-10 13:28"),
        ("reinitiate request", "2011-01-11 16:18"), ("check ticket", "2011-01-14 14:33"),
        ("examine casually", "2011-01-16 15:50"), ("decide", "2011-01-19 11:18"),
        ("reinitiate request", "2011-01-20 12:48"), ("examine casually", "2011-01-21 09:06"),
        ("check ticket", "2011-01-21 11:34"), ("decide", "2011-01-23 13:12"),
        ("reject request", "2011-01-24 14:56"),
    ],
    "4": [
        ("register request", "2011-01-06 15:02"), ("check ticket", "2011-01-07 12:06"),
        ("examine thoroughly", "2011-01-08 14:43"), ("decide", "2011-01-09 12:02"),
        ("reject request", "2011-01-12 15:44"),
    ],
}  # fmt: skip


def running_example_frame() -> pd.DataFrame:
    rows = [
        {"case": case, "activity": activity, "timestamp": pd.Timestamp(when + "+01:00")}
        for case, events in RUNNING_EXAMPLE.items()
        for activity, when in events
    ]
    return pd.DataFrame(rows)


def traces_frame(traces: list[tuple[str, str]], step_minutes: int = 1) -> pd.DataFrame:
    """(case id, "a b c") pairs -> one event per activity, ``step_minutes`` apart within a
    case; every case starts on 2026-01-05 (a Monday) at 08:00 plus its index in hours."""
    rows = []
    for index, (case, trace) in enumerate(traces):
        begin = pd.Timestamp("2026-01-05 08:00", tz="UTC") + pd.Timedelta(hours=index)
        for step, activity in enumerate(trace.split()):
            when = begin + pd.Timedelta(minutes=step * step_minutes * (step + 1))
            rows.append({"case": case, "activity": activity, "timestamp": when})
    return pd.DataFrame(rows)


# An AND split after "a" (b and c in both orders, joined at d) and a length-two loop e f e.
HEURISTICS_TRACES: list[tuple[str, str]] = (
    [(f"p{i}", "a b c d") for i in range(5)]
    + [(f"q{i}", "a c b d") for i in range(4)]
    + [(f"r{i}", "x e f e f e y") for i in range(3)]
)

# Start and completion times for service and waiting time: case -> (activity, start, end)
INTERVALS: dict[str, list[tuple[str, str, str]]] = {
    "A": [("a", "2026-01-05 08:00", "2026-01-05 08:30"),
          ("b", "2026-01-05 09:00", "2026-01-05 10:00"),
          ("c", "2026-01-05 09:30", "2026-01-05 11:00")],
    "B": [("a", "2026-01-06 08:00", "2026-01-06 08:10"),
          ("a", "2026-01-06 08:20", "2026-01-06 08:40"),
          ("c", "2026-01-12 08:00", "2026-01-12 09:00")],
}  # fmt: skip


def intervals_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"case": case, "activity": a, "start_timestamp": pd.Timestamp(s, tz="UTC"),
             "timestamp": pd.Timestamp(e, tz="UTC")}
            for case, events in INTERVALS.items()
            for a, s, e in events
        ]
    )  # fmt: skip
