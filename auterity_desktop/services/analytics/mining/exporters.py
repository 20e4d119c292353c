"""Writing event logs as CSV, XES (IEEE 1849-2016) and Parquet.

Column names follow pm4py's XES keys in CSV and XES (``case:concept:name``,
``concept:name``, ``time:timestamp``, ``org:resource``) so the files open in pm4py, ProM
and Disco as well as in our own importers. Files are written to a temporary name and then
renamed, so a failed or interrupted export never leaves half a log under the real name.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.event_log import (
    ACTIVITY,
    CASE,
    RESOURCE,
    ROW,
    TIMESTAMP,
    EventLog,
)

_PM4PY_NAMES = {
    CASE: "case:concept:name",
    ACTIVITY: "concept:name",
    TIMESTAMP: "time:timestamp",
    RESOURCE: "org:resource",
}
_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)


@contextmanager
def _replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` and move it over ``path`` on success."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.partial")
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as exc:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"Could not write {str(target)!r}: {exc.strerror or exc}",
            {"path": str(target)},
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def _export_frame(log: EventLog) -> pd.DataFrame:
    return log.frame.drop(columns=[ROW], errors="ignore").rename(columns=_PM4PY_NAMES)


def write_csv(log: EventLog, path: str | Path) -> None:
    """UTF-8 CSV with ISO 8601 UTC timestamps (microseconds kept)."""
    frame = _export_frame(log)
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    with _replacing(path) as temporary:
        frame.to_csv(temporary, index=False, encoding="utf-8")


def write_parquet(log: EventLog, path: str | Path) -> None:
    """Parquet keeps the types (UTC timestamps, categories as dictionaries) exactly."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    table = pa.Table.from_pandas(
        log.frame.drop(columns=[ROW], errors="ignore"), preserve_index=False
    )
    with _replacing(path) as temporary:
        pq.write_table(table, temporary)


def _xes_date(value: pd.Timestamp) -> str:
    stamp = value.tz_convert("UTC") if value.tzinfo else value.tz_localize("UTC")
    text: str = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")  # xs:dateTime: microseconds are valid
    return text + "+00:00"


def _xes_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "string"


def _attribute(kind: str, key: str, value: Any) -> str | None:
    """One XES attribute element, or None for a missing value (XES has no null)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA:
        return None
    if kind == "date":
        text = _xes_date(pd.Timestamp(value))
    elif kind == "boolean":
        text = "true" if bool(value) else "false"
    elif kind == "int":
        text = str(int(value))
    elif kind == "float":
        text = repr(float(value))
    else:
        text = str(value)
    return f"<{kind} key={quoteattr(key)} value={quoteattr(text)}/>"


def _objects(series: pd.Series, chunk: int = 10_000) -> np.ndarray:
    """``series`` as Python objects, boxed in slices: boxing 200k timestamps in one C call
    holds the GIL long enough to stall an event loop running beside the export thread."""
    if len(series) <= chunk:
        return np.asarray(series.to_numpy(dtype=object))
    parts = [
        series.iloc[i : i + chunk].to_numpy(dtype=object) for i in range(0, len(series), chunk)
    ]
    return np.concatenate(parts)


def write_xes(log: EventLog, path: str | Path) -> None:
    """An IEEE 1849-2016 XES document declaring the Concept, Time, Lifecycle and
    Organizational extensions; gzip-compressed when the name ends in ``.gz``. Columns named
    ``case:<key>`` become trace attributes (their first value per case); every event is a
    ``complete`` event, and its start time a ``start_timestamp`` date attribute (the form
    pm4py's interval logs use), which ``read_xes`` reads back."""
    frame = _export_frame(log)
    case_columns = [
        c for c in frame.columns if str(c).startswith("case:") and c != "case:concept:name"
    ]
    event_columns = [
        c
        for c in frame.columns
        if c not in case_columns and c not in ("case:concept:name", "lifecycle:transition")
    ]
    kinds = {c: _xes_kind(frame[c]) for c in frame.columns}
    kinds["concept:name"] = kinds["case:concept:name"] = "string"
    if "org:resource" in kinds:
        kinds["org:resource"] = "string"
    columns = {c: _objects(frame[c]) for c in frame.columns}
    starts, ends = log.case_starts(), log.case_ends()
    target = Path(path)
    with _replacing(target) as temporary:
        opener = gzip.open if target.name.lower().endswith(".gz") else open
        with opener(temporary, "wt", encoding="utf-8", newline="\n") as out:
            _write_xes_body(out, log, columns, kinds, case_columns, event_columns, starts, ends)


def _write_xes_body(
    out: IO[str],
    log: EventLog,
    columns: dict[str, np.ndarray],
    kinds: dict[str, str],
    case_columns: list[str],
    event_columns: list[str],
    starts: np.ndarray,
    ends: np.ndarray,
) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write('<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">\n')
    for name, prefix, uri in _EXTENSIONS:
        out.write(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    out.write('  <global scope="trace">\n')
    out.write('    <string key="concept:name" value="__INVALID__"/>\n  </global>\n')
    out.write('  <global scope="event">\n')
    out.write('    <string key="concept:name" value="__INVALID__"/>\n')
    out.write('    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>\n')
    out.write('    <string key="lifecycle:transition" value="complete"/>\n  </global>\n')
    out.write('  <classifier name="Activity" keys="concept:name"/>\n')
    if log.name:
        out.write(f'  <string key="concept:name" value={quoteattr(log.name)}/>\n')
    cases = columns["case:concept:name"]
    for start, end in zip(starts, ends, strict=True):
        out.write("  <trace>\n")
        out.write(f"    {_attribute('string', 'concept:name', cases[start])}\n")
        for column in case_columns:
            element = _attribute(kinds[column], column[5:], columns[column][start])
            if element:
                out.write(f"    {element}\n")
        for i in range(start, end):
            out.write("    <event>\n")
            for column in event_columns:
                element = _attribute(kinds[column], column, columns[column][i])
                if element:
                    out.write(f"      {element}\n")
            out.write('      <string key="lifecycle:transition" value="complete"/>\n')
            out.write("    </event>\n")
        out.write("  </trace>\n")
    out.write("</log>\n")
