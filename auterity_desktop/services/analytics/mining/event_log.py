"""The event log every mining algorithm reads: one pandas frame in a canonical shape.

Events are sorted by case, timestamp, then original row order (pm4py's ``format_dataframe``
order, so both libraries see the same traces); case and activity are categoricals, so the
algorithms work on integer codes with numpy instead of on strings. ``case_starts`` gives
where each case's events begin in that order, which is all most algorithms need to find
the directly-follows pairs without a Python loop over events.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError

CASE = "case"
ACTIVITY = "activity"
TIMESTAMP = "timestamp"
START = "start_timestamp"  # optional: when the activity started (service and waiting time)
RESOURCE = "resource"  # optional
ROW = "row"  # the event's position in the source, the last sort key
CANONICAL = (CASE, ACTIVITY, TIMESTAMP, START, RESOURCE)


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def to_utc(values: pd.Series, column: str, date_format: str | None = None) -> pd.Series:
    """Timestamps as UTC datetimes; naive ones are taken as UTC. Unparseable values are a
    clear error naming the first bad row, never a silent NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values, errors="coerce", format=date_format, utc=False)
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize("UTC")
    else:
        parsed = parsed.dt.tz_convert("UTC")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise _invalid(
            f"Column {column!r} has a value that is not a date and time: "
            f"{str(values.iloc[row])[:80]!r} (row {row + 1})",
            column=column,
            row=row + 1,
            value=str(values.iloc[row])[:200],
        )
    return parsed


@dataclass
class EventLog:
    """Use ``from_frame`` to build one; ``frame`` is then sorted and typed as described."""

    frame: pd.DataFrame
    name: str = ""
    source: dict[str, Any] = field(default_factory=dict)  # file, column mapping, format

    # -- building -----------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        *,
        case: str = CASE,
        activity: str = ACTIVITY,
        timestamp: str = TIMESTAMP,
        start: str | None = None,
        resource: str | None = None,
        date_format: str | None = None,
        name: str = "",
        source: dict[str, Any] | None = None,
    ) -> EventLog:
        """Rename the mapped columns to the canonical names, type and sort them. Rows with
        no case, activity or timestamp are dropped (as pm4py does); other columns stay as
        event attributes."""
        mapping = {case: CASE, activity: ACTIVITY, timestamp: TIMESTAMP}
        if start:
            mapping[start] = START
        if resource:
            mapping[resource] = RESOURCE
        missing = [column for column in mapping if column not in data.columns]
        if missing:
            raise _invalid(
                f"The data has no column {missing[0]!r}",
                missing=missing,
                columns=[str(c) for c in data.columns][:200],
            )
        if len(set(mapping)) != len(mapping):
            raise _invalid("One column is mapped to two roles", mapping=mapping)
        taken = [c for c in data.columns if c in CANONICAL and c not in mapping]
        frame = data.drop(columns=taken).rename(columns=mapping)
        frame = frame.dropna(subset=[CASE, ACTIVITY, TIMESTAMP])
        frame[TIMESTAMP] = to_utc(frame[TIMESTAMP], timestamp, date_format)
        if START in frame:
            frame[START] = to_utc(frame[START], start or START, date_format)
        frame[CASE] = frame[CASE].astype(str).astype("category")
        frame[ACTIVITY] = frame[ACTIVITY].astype(str).astype("category")
        if RESOURCE in frame:
            frame[RESOURCE] = frame[RESOURCE].astype("string")
        frame[ROW] = np.arange(len(frame), dtype=np.int64)
        # case order as strings, like pm4py's sort on the string-typed case column
        case_rank = frame[CASE].cat.codes.to_numpy()
        categories = frame[CASE].cat.categories
        order_of_category = np.argsort(np.argsort(categories.astype(str).to_numpy()))
        # by case, then time, then original row: lexsort is stable and the rows are in
        # original order already (and sorts integers; sort_values would factorize each key)
        stamps = pd.DatetimeIndex(frame[TIMESTAMP]).asi8
        order = np.lexsort((stamps, order_of_category[case_rank]))
        frame = frame.take(order).reset_index(drop=True)
        return cls(frame, name, dict(source or {}))

    # -- shape --------------------------------------------------------------------------
    @property
    def n_events(self) -> int:
        return len(self.frame)

    @property
    def n_cases(self) -> int:
        return len(self.case_starts())

    @property
    def has_start(self) -> bool:
        return START in self.frame

    def activities(self) -> list[str]:
        """Activity names; ``activity_codes`` index into this list."""
        return [str(a) for a in self.frame[ACTIVITY].cat.categories]

    def activity_codes(self) -> np.ndarray:
        codes: np.ndarray = self.frame[ACTIVITY].cat.codes.to_numpy(dtype=np.int32)
        return codes

    def case_ids(self) -> list[str]:
        """The case id of each case, in log order (aligned with ``case_starts``)."""
        codes = self.frame[CASE].cat.codes.to_numpy()
        categories = self.frame[CASE].cat.categories
        # one vectorised take: indexing the categories once per case costs ~1 s per 100k cases
        return [str(c) for c in categories.to_numpy()[codes[self.case_starts()]]]

    def case_starts(self) -> np.ndarray:
        """Row where each case begins (the log is sorted by case, so cases are runs)."""
        codes = self.frame[CASE].cat.codes.to_numpy()
        if len(codes) == 0:
            return np.zeros(0, dtype=np.int64)
        change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        return np.concatenate(([0], change)).astype(np.int64)

    def case_ends(self) -> np.ndarray:
        """One past the last row of each case."""
        starts = self.case_starts()
        if len(starts) == 0:
            return starts
        return np.append(starts[1:], self.n_events).astype(np.int64)

    def timestamps_ns(self) -> np.ndarray:
        stamps: np.ndarray = self.frame[TIMESTAMP].to_numpy(dtype="datetime64[ns]")
        return stamps.view(np.int64)

    # -- traces -------------------------------------------------------------------------
    def traces(self) -> list[tuple[str, ...]]:
        """Each case's activities in order (for algorithms that work per variant)."""
        names = self.activities()
        codes = self.activity_codes()
        return [
            tuple(names[c] for c in codes[s:e])
            for s, e in zip(self.case_starts(), self.case_ends(), strict=True)
        ]

    def variants(self) -> Counter[tuple[str, ...]]:
        return Counter(self.traces())
