"""The console's stored metrics as a data set, so custom metrics and reports can be defined
over them as over any table.

One row per series per time bucket (long form: ``metric`` and ``labels`` are columns), so
the group-by and pivot builder can put metrics side by side or per label without knowing
the series in advance. ``value`` is the bucket's mean; for counters the readings are
cumulative, so an increase over a period is ``max − min`` (or ``last`` of one bucket minus
``last`` of the one before).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.services.monitoring.metric_store import SeriesData

METRIC_COLUMNS = ["time", "metric", "labels", "kind", "samples", "value", "min", "max", "last"]


def metrics_frame(series: Sequence[SeriesData]) -> pd.DataFrame:
    """``series`` (as ``PerformanceService.series_many`` returns them) as one table,
    sorted by time, metric and labels."""
    parts: list[pd.DataFrame] = []
    for data in series:
        if not data.t:
            continue
        count = pd.Series(data.count, dtype="int64")
        total = pd.Series(data.sum, dtype="float64")
        parts.append(
            pd.DataFrame(
                {
                    "time": pd.to_datetime(pd.Series(data.t, dtype="float64"), unit="s", utc=True),
                    "metric": data.metric,
                    "labels": json.dumps(data.labels, sort_keys=True) if data.labels else "",
                    "kind": data.kind,
                    "samples": count,  # not "count": that is an aggregate in metrics
                    "value": total / count.where(count > 0),
                    "min": pd.Series(data.min, dtype="float64"),
                    "max": pd.Series(data.max, dtype="float64"),
                    "last": pd.Series(data.last, dtype="float64"),
                }
            )
        )
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in METRIC_COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values(["time", "metric", "labels"], kind="stable").reset_index(drop=True)
