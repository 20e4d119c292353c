"""Reading event logs from CSV, XES, Parquet and the product's own workflow runs.

Every reader ends in ``EventLog.from_frame`` so all sources share one canonical shape and
pm4py's event order. Readers are meant to run in a worker thread: they report progress in
bytes, stop when a ``threading.Event`` is set, and turn every malformed input into a
``ServiceError`` that names the column, row or line, because the import dialog shows that
message to the person who picked the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import threading
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.event_log import (
    ACTIVITY,
    CASE,
    RESOURCE,
    START,
    TIMESTAMP,
    EventLog,
    to_utc,
)

Progress = Callable[[int, int], None]

EPOCH_SECONDS = "epoch:s"  # detect_date_format's answer for Unix seconds
EPOCH_MILLIS = "epoch:ms"  # ... and for Unix milliseconds
ISO8601 = "ISO8601"  # pandas' own fast ISO parser
ROLES = (CASE, ACTIVITY, TIMESTAMP, START, RESOURCE)
_SAMPLE_BYTES = 256 * 1024
_SAMPLE_ROWS = 2000
_NA_SPELLINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                 "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
                 "null"]  # pandas' default NA strings, so both readers agree  # fmt: skip


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ServiceError(ErrorCode.CANCELLED, "The import was cancelled", {})


def _existing(path: str | Path) -> Path:
    file = Path(path)
    if not file.is_file():
        raise ServiceError(ErrorCode.NOT_FOUND, f"No file {str(file)!r}", {"path": str(file)})
    if file.stat().st_size == 0:
        raise _invalid(f"The file {file.name!r} is empty", path=str(file))
    return file


# -- column and date detection ----------------------------------------------------------
@dataclass(frozen=True)
class ColumnGuess:
    """Which source column plays which role; ``None`` where nothing fitted. The import
    dialog shows it as the pre-filled mapping the user confirms or corrects."""

    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    start_timestamp: str | None = None
    resource: str | None = None
    date_format: str | None = None

    def as_mapping(self) -> dict[str, str | None]:
        return {
            CASE: self.case,
            ACTIVITY: self.activity,
            TIMESTAMP: self.timestamp,
            START: self.start_timestamp,
            RESOURCE: self.resource,
        }


# Header names per role, best first, after _normal() (lower case, separators as spaces).
_NAMES: dict[str, tuple[str, ...]] = {
    CASE: (
        "case concept name", "case id", "caseid", "case", "ro number", "ro", "repair order",
        "repair order number", "trace id", "process instance", "instance id", "ticket id",
        "order id", "case number", "case key",
    ),
    ACTIVITY: (
        "concept name", "activity", "activity name", "event", "event name", "task", "step",
        "action", "operation", "activity id",
    ),
    TIMESTAMP: (
        "time timestamp", "timestamp", "complete timestamp", "end timestamp", "end time",
        "completed at", "finished at", "end", "completed", "time", "datetime", "date",
        "event time",
    ),
    START: (
        "start timestamp", "start time", "started at", "start", "begin", "begin time",
    ),
    RESOURCE: (
        "org resource", "resource", "technician", "tech", "user", "agent", "performer",
        "employee", "advisor", "worker", "org role",
    ),
}  # fmt: skip


def _normal(name: object) -> str:
    return " ".join(re.split(r"[\s_:.\-/]+", str(name).strip().lower())).strip()


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    if sample.empty:
        return False
    if detect_date_format(sample) is not None:
        return True
    if pd.api.types.is_numeric_dtype(values):
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def detect_columns(frame: pd.DataFrame) -> ColumnGuess:
    """Guess the column roles from header names first (English variants and the XES
    keys), then from content: date-like columns for the timestamps, a repeated id with
    many values for the case and a repeated label with few values for the activity."""
    columns = list(frame.columns)
    normal = {c: _normal(c) for c in columns}
    chosen: dict[str, str] = {}
    for role in (CASE, ACTIVITY, START, TIMESTAMP, RESOURCE):
        for wanted in _NAMES[role]:
            hit = next(
                (c for c in columns if normal[c] == wanted and c not in chosen.values()), None
            )
            if hit is not None:
                chosen[role] = str(hit)
                break
    sample = frame.head(_SAMPLE_ROWS)
    dates = [str(c) for c in columns if c not in chosen.values() and _looks_like_dates(sample[c])]
    if TIMESTAMP not in chosen and dates:
        chosen[TIMESTAMP] = dates.pop(0)
    texts = [
        str(c)
        for c in columns
        if c not in chosen.values() and str(c) not in dates and not sample[c].dropna().empty
    ]
    unique = {c: sample[c].nunique(dropna=True) for c in texts}
    rows = {c: int(sample[c].notna().sum()) for c in texts}
    repeated = [c for c in texts if 1 < unique[c] < rows[c]]
    if CASE not in chosen and repeated:
        chosen[CASE] = max(repeated, key=lambda c: unique[c])
        repeated.remove(chosen[CASE])
    if ACTIVITY not in chosen and repeated:
        labels = [c for c in repeated if not pd.api.types.is_numeric_dtype(sample[c])]
        if labels:
            chosen[ACTIVITY] = min(labels, key=lambda c: unique[c])
    date_format = None
    if TIMESTAMP in chosen:
        date_format = detect_date_format(sample[chosen[TIMESTAMP]].dropna().astype(str))
    return ColumnGuess(
        case=chosen.get(CASE),
        activity=chosen.get(ACTIVITY),
        timestamp=chosen.get(TIMESTAMP),
        start_timestamp=chosen.get(START),
        resource=chosen.get(RESOURCE),
        date_format=date_format,
    )


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NUMERIC_DATE = re.compile(
    r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?$"
)
_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")


def detect_date_format(values: Iterable[str], *, prefer_day_first: bool = False) -> str | None:
    """The one format all values share: ``"ISO8601"``, a strftime pattern such as
    ``"%d/%m/%Y %H:%M"``, ``"epoch:s"`` / ``"epoch:ms"``, or None when the values are mixed
    or not dates (pandas then infers per value). Day-first versus month-first is decided
    by a part greater than 12; when no value decides it, ``prefer_day_first`` does."""
    items = [str(v).strip() for v in values if str(v).strip()][:5000]
    if not items:
        return None
    if all(_EPOCH.match(v) for v in items):
        numbers = np.array([float(v) for v in items])
        if np.all((numbers >= 1e11) & (numbers < 1e14)):
            return EPOCH_MILLIS
        if np.all((numbers >= 1e8) & (numbers < 1e11)):
            return EPOCH_SECONDS
        return None
    if all(_ISO.match(v) for v in items):
        return ISO8601
    matches = [_NUMERIC_DATE.match(v) for v in items]
    if not all(matches):
        return None
    parts = [m.groups() for m in matches if m is not None]
    separators = {p[1] for p in parts}
    with_time = {p[4] is not None for p in parts}
    with_seconds = {p[6] is not None for p in parts}
    with_fraction = {p[7] is not None for p in parts}
    if len(separators) != 1 or len(with_time) != 1 or len(with_seconds) != 1:
        return None
    if len(with_fraction) != 1:
        return None
    sep = separators.pop()
    if all(len(p[0]) == 4 for p in parts):
        date = f"%Y{sep}%m{sep}%d"
    elif all(len(p[3]) == 4 for p in parts):
        first = [int(p[0]) for p in parts]
        second = [int(p[2]) for p in parts]
        day_first = any(v > 12 for v in first)
        month_first = any(v > 12 for v in second)
        if day_first and month_first:
            return None
        if not day_first and not month_first:
            day_first = prefer_day_first
        date = f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"
    else:
        return None
    if not with_time.pop():
        return date
    time = "%H:%M:%S" if with_seconds.pop() else "%H:%M"
    if with_fraction.pop():
        time += ".%f"
    return f"{date} {time}"


def _parse_times(values: pd.Series, column: str, date_format: str | None) -> pd.Series:
    """``to_utc`` plus Unix epochs, which pandas cannot read through a format string."""
    if date_format in (EPOCH_SECONDS, EPOCH_MILLIS) and not pd.api.types.is_datetime64_any_dtype(
        values
    ):
        numbers = pd.to_numeric(values, errors="coerce")
        unit = "s" if date_format == EPOCH_SECONDS else "ms"
        parsed = pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")
        bad = parsed.isna() & values.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _invalid(
                f"Column {column!r} has a value that is not a Unix time: "
                f"{str(values.iloc[row])[:80]!r} (row {row + 1})",
                column=column,
                row=row + 1,
                value=str(values.iloc[row])[:200],
            )
        return parsed
    return to_utc(values, column, date_format)


def _resolve_mapping(
    frame: pd.DataFrame, mapping: ColumnGuess | Mapping[str, str | None] | None
) -> tuple[dict[str, str | None], str | None]:
    """A complete role → column mapping, or an error naming the role nobody could fill."""
    if mapping is None:
        guess = detect_columns(frame)
        roles, date_format = guess.as_mapping(), guess.date_format
    elif isinstance(mapping, ColumnGuess):
        roles, date_format = mapping.as_mapping(), mapping.date_format
    else:
        unknown = sorted(set(mapping) - set(ROLES) - {"date_format"})
        if unknown:
            raise _invalid(f"Unknown column role {unknown[0]!r}", roles=list(ROLES))
        roles = {role: mapping.get(role) for role in ROLES}
        date_format = mapping.get("date_format")
    for role in (CASE, ACTIVITY, TIMESTAMP):
        if not roles.get(role):
            raise _invalid(
                f"No column was found for the {role}; choose it in the column mapping",
                role=role,
                columns=[str(c) for c in frame.columns][:200],
            )
    missing = [c for c in roles.values() if c and c not in frame.columns]
    if missing:
        raise _invalid(
            f"The file has no column {missing[0]!r}",
            missing=missing,
            columns=[str(c) for c in frame.columns][:200],
        )
    return roles, date_format


def _build(
    frame: pd.DataFrame,
    roles: Mapping[str, str | None],
    date_format: str | None,
    *,
    name: str,
    source: dict[str, Any],
) -> EventLog:
    case, activity, timestamp = roles[CASE], roles[ACTIVITY], roles[TIMESTAMP]
    assert case and activity and timestamp  # _resolve_mapping checked
    return EventLog.from_frame(
        frame,
        case=case,
        activity=activity,
        timestamp=timestamp,
        start=roles.get(START) or None,
        resource=roles.get(RESOURCE) or None,
        date_format=None if date_format in (EPOCH_SECONDS, EPOCH_MILLIS) else date_format,
        name=name,
        source=source,
    )


# -- CSV --------------------------------------------------------------------------------
class _CountingReader(io.RawIOBase):
    """Counts the bytes pandas has pulled, which is the honest progress of a chunked read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


def _first_bad_byte(file: Path, encoding: str) -> UnicodeDecodeError:
    """The decode error pandas would have raised, found by decoding the file in blocks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with file.open("rb") as raw:
        while block := raw.read(1024 * 1024):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return exc
    return UnicodeDecodeError(encoding, b"\x00", 0, 1, "invalid data")


def _arrow_chunks(
    stream: IO[bytes],
    file: Path,
    sep: str,
    encoding: str,
    columns: list[str],
    as_text: Mapping[str, Any],
    block: int,
) -> Iterable[pd.DataFrame]:
    """The CSV body as pandas frames of about ``block`` bytes each, parsed by
    pyarrow's multithreaded reader (several times faster than pandas' with text columns).
    The header names come from pandas' sample read, so duplicate names are mangled the same
    way; role columns stay text, empty cells and pandas' NA spellings become missing."""
    options = pa_csv.ReadOptions(
        encoding=encoding, column_names=columns, skip_rows=1, block_size=block
    )
    convert = pa_csv.ConvertOptions(
        column_types={c: pa.string() for c in as_text},
        strings_can_be_null=True,
        null_values=_NA_SPELLINGS,
    )
    parse = pa_csv.ParseOptions(delimiter=sep, newlines_in_values=True)
    try:
        reader = pa_csv.open_csv(stream, options, parse, convert)
        for batch in reader:
            if any(pa.types.is_binary(field.type) for field in batch.schema):
                raise _first_bad_byte(file, encoding)
            yield batch.to_pandas()
    except StopIteration:
        return
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "invalid UTF8" in text or "UTF-8" in text:
            raise _first_bad_byte(file, encoding) from None
        if "Empty CSV file" in text:
            return
        raise _invalid(
            f"The file {file.name!r} is not valid CSV: {text.splitlines()[0][:300]}",
            path=str(file),
        ) from None


def _choose_encoding(head: bytes, encoding: str | None) -> list[str]:
    if encoding:
        return [encoding]
    if head.startswith(b"\xef\xbb\xbf"):
        return ["utf-8-sig"]  # a BOM: plain utf-8 would leave \ufeff in the first header
    return ["utf-8", "cp1252"]


def _sniff_delimiter(text: str) -> str:
    lines = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(lines, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(
    path: str | Path,
    mapping: ColumnGuess | Mapping[str, str | None] | None = None,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    chunk_bytes: int = 8 * 1024 * 1024,
) -> EventLog:
    """A CSV file as an event log. The delimiter is sniffed and the encoding tried as
    UTF-8 (with or without BOM) then Windows-1252 unless given; the file is read in blocks
    of about ``chunk_bytes`` so a large export reports progress and can be cancelled between
    blocks. ``mapping`` maps roles (case, activity, timestamp, start_timestamp, resource,
    date_format) to columns; without it the columns are detected."""
    file = _existing(path)
    if chunk_bytes < 64:
        raise _invalid("chunk_bytes must be at least 64", chunk_bytes=chunk_bytes)
    total = file.stat().st_size
    with file.open("rb") as raw:
        head = raw.read(_SAMPLE_BYTES)
    if not head.strip():
        raise _invalid(f"The file {file.name!r} is empty", path=str(file))
    errors: list[str] = []
    for candidate in _choose_encoding(head, encoding):
        try:
            return _read_csv_as(
                file, candidate, head, mapping, delimiter, progress, cancel, chunk_bytes, total
            )
        except UnicodeDecodeError as exc:
            errors.append(f"{candidate}: byte 0x{exc.object[exc.start]:02x}")
        except LookupError:
            raise _invalid(f"Unknown text encoding {candidate!r}", encoding=candidate) from None
    raise _invalid(
        f"The file {file.name!r} is not text in a known encoding ({'; '.join(errors)}); "
        "save it as UTF-8 or choose its encoding",
        path=str(file),
        tried=errors,
    )


def _read_csv_as(
    file: Path,
    encoding: str,
    head: bytes,
    mapping: ColumnGuess | Mapping[str, str | None] | None,
    delimiter: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    chunk_bytes: int,
    total: int,
) -> EventLog:
    _check_cancel(cancel)
    text = head.decode(encoding, errors="ignore" if len(head) == _SAMPLE_BYTES else "strict")
    if len(head) == _SAMPLE_BYTES:  # the sample may end inside a line or a character
        text = text[: text.rfind("\n") + 1] or text
    sep = delimiter or _sniff_delimiter(text)
    try:
        sample = pd.read_csv(io.StringIO(text), sep=sep, nrows=_SAMPLE_ROWS, dtype=str)
    except pd.errors.EmptyDataError:
        raise _invalid(f"The file {file.name!r} is empty", path=str(file)) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise _invalid(f"The file {file.name!r} is not valid CSV: {exc}", path=str(file)) from None
    roles, date_format = _resolve_mapping(sample, mapping)
    if date_format is None and roles[TIMESTAMP]:
        date_format = detect_date_format(sample[roles[TIMESTAMP]].dropna().astype(str))
    as_text = {c: str for c in roles.values() if c}
    times = [c for c in (roles[TIMESTAMP], roles.get(START)) if c]
    chunks: list[pd.DataFrame] = []
    done_rows = 0
    with file.open("rb") as raw:
        counter = _CountingReader(raw)
        stream = io.BufferedReader(counter, buffer_size=1024 * 1024)
        for chunk in _arrow_chunks(
            stream, file, sep, encoding, list(sample.columns), as_text, chunk_bytes
        ):
            _check_cancel(cancel)
            for column in times:
                try:
                    chunk[column] = _parse_times(chunk[column], column, date_format)
                except ServiceError as exc:
                    row = done_rows + int(exc.details["row"])
                    raise _invalid(
                        f"Column {column!r} has a value that is not a date and time: "
                        f"{exc.details['value'][:80]!r} (row {row}, line {row + 1})",
                        column=column,
                        row=row,
                        line=row + 1,
                        value=exc.details["value"],
                    ) from None
            done_rows += len(chunk)
            chunks.append(chunk)
            if progress is not None:
                progress(min(counter.done, total), total)
    frame = pd.concat(chunks, ignore_index=True) if chunks else sample.iloc[:0]
    if frame.empty:
        raise _invalid(f"The file {file.name!r} has a header but no events", path=str(file))
    log = _build(
        frame,
        roles,
        date_format,
        name=file.stem,
        source={
            "path": str(file),
            "format": "csv",
            "delimiter": sep,
            "encoding": encoding,
            "mapping": dict(roles),
            "date_format": date_format,
        },
    )
    if progress is not None:
        progress(total, total)
    return log


# -- XES --------------------------------------------------------------------------------
_XES_TYPES = {"string", "date", "int", "float", "boolean", "id"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _typed(kind: str, value: str) -> Any:
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "boolean":
        return value.strip().lower() == "true"
    if kind == "date":
        return pd.Timestamp(value)
    return value


class _Columns:
    """Events as growing column lists; a key first seen at event n is padded with None."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {}
        self.n = 0

    def append(self, values: Mapping[str, Any]) -> None:
        for key in values:
            if key not in self.data:
                self.data[key] = [None] * self.n
        for key, column in self.data.items():
            column.append(values.get(key))
        self.n += 1

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data)


def read_xes(
    path: str | Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> EventLog:
    """An XES file (``.xes`` or ``.xes.gz``) as an event log, parsed as a stream: each
    trace is cleared once read, so memory holds the events, never the XML tree.

    The trace's ``concept:name`` is the case; its other attributes become ``case:<key>``
    columns. Events keep ``concept:name``, ``time:timestamp``, ``org:resource`` and their
    other typed attributes. With ``lifecycle:transition`` only ``complete`` events stay
    (as pm4py's interval logs do) and a ``start`` event gives the start timestamp of the
    next ``complete`` event of the same activity in the trace; a ``start_timestamp`` date
    attribute is taken as the start as well."""
    file = _existing(path)
    total = file.stat().st_size
    _check_cancel(cancel)
    columns = _Columns()
    log_name = ""
    with file.open("rb") as raw:
        stream: IO[bytes] | gzip.GzipFile = raw
        if file.name.lower().endswith(".gz"):
            stream = gzip.GzipFile(fileobj=raw)
        depth = 0
        path_tags: list[str] = []
        trace_attrs: dict[str, Any] = {}
        trace_events: list[dict[str, Any]] = []
        event: dict[str, Any] | None = None
        n_traces = 0
        root: ET.Element | None = None
        try:
            for kind, element in ET.iterparse(stream, events=("start", "end")):
                tag = _local(element.tag)
                if kind == "start":
                    if root is None:
                        root = element
                        if tag != "log":
                            raise _invalid(
                                f"{file.name!r} is not an XES log (it starts with <{tag}>)",
                                path=str(file),
                            )
                    depth += 1
                    path_tags.append(tag)
                    if tag == "event" and path_tags[-2:-1] == ["trace"]:
                        event = {}
                    continue
                depth -= 1
                path_tags.pop()
                parent = path_tags[-1] if path_tags else ""
                if tag in _XES_TYPES and "key" in element.attrib:
                    key, value = element.attrib["key"], element.attrib.get("value")
                    if value is None:
                        continue
                    try:
                        typed = _typed(tag, value)
                    except ValueError:
                        raise _invalid(
                            f"Attribute {key!r} has a value that is not a {tag}: {value[:80]!r}"
                            f" (trace {n_traces + 1})",
                            attribute=key,
                            value=value[:200],
                            trace=n_traces + 1,
                        ) from None
                    if parent == "event" and event is not None and len(path_tags) == 3:
                        event[key] = typed
                    elif parent == "trace" and len(path_tags) == 2:
                        trace_attrs[key] = typed
                    elif parent == "log" and len(path_tags) == 1 and key == "concept:name":
                        log_name = str(typed)
                elif tag == "event" and event is not None:
                    trace_events.append(event)
                    event = None
                    element.clear()
                elif tag == "trace":
                    n_traces += 1
                    _flush_trace(columns, trace_attrs, trace_events, n_traces)
                    trace_attrs, trace_events = {}, []
                    element.clear()
                    if root is not None:
                        root.clear()  # drop the cleared traces the root still holds
                    if n_traces % 1000 == 0:
                        _check_cancel(cancel)
                        if progress is not None:
                            progress(min(raw.tell(), total), total)
        except ET.ParseError as exc:
            line, column = exc.position
            raise _invalid(
                f"{file.name!r} is not well-formed XML at line {line}, column {column}"
                " (the file may be truncated)",
                path=str(file),
                line=line,
                column=column,
            ) from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise _invalid(
                f"{file.name!r} is not a complete gzip file: {exc}", path=str(file)
            ) from None
    frame = columns.frame()
    if frame.empty:
        raise _invalid(f"{file.name!r} contains no events", path=str(file))
    for key in list(frame.columns):
        if frame[key].map(lambda v: isinstance(v, pd.Timestamp)).any():
            frame[key] = pd.to_datetime(frame[key], utc=True)
    has_start = START in frame and frame[START].notna().any()
    log = EventLog.from_frame(
        frame,
        case=CASE,
        activity="concept:name",
        timestamp="time:timestamp",
        start=START if has_start else None,
        resource="org:resource" if "org:resource" in frame else None,
        name=log_name or file.name.split(".")[0],
        source={"path": str(file), "format": "xes"},
    )
    if progress is not None:
        progress(total, total)
    return log


def _flush_trace(
    columns: _Columns,
    trace_attrs: Mapping[str, Any],
    events: list[dict[str, Any]],
    number: int,
) -> None:
    """Add one trace's complete events, pairing its start events with them."""
    case = str(trace_attrs.get("concept:name", number - 1))
    extra = {f"case:{k}": v for k, v in trace_attrs.items() if k != "concept:name"}
    open_starts: dict[Any, deque[Any]] = defaultdict(deque)
    for position, event in enumerate(events, start=1):
        activity = event.get("concept:name")
        stamp = event.get("time:timestamp")
        if activity is None or stamp is None:
            missing = "concept:name" if activity is None else "time:timestamp"
            raise _invalid(
                f"Event {position} of case {case!r} has no {missing}",
                case=case,
                event=position,
                attribute=missing,
            )
        transition = str(event.get("lifecycle:transition", "complete")).lower()
        if transition == "start":
            open_starts[activity].append(stamp)
            continue
        if transition != "complete":
            continue
        row = {k: v for k, v in event.items() if k != "start_timestamp"}
        start = event.get("start_timestamp")
        if open_starts[activity]:
            start = open_starts[activity].popleft()
        row[CASE] = case
        row[START] = start
        row.update(extra)
        columns.append(row)


# -- Parquet ----------------------------------------------------------------------------
def read_parquet(
    path: str | Path,
    mapping: ColumnGuess | Mapping[str, str | None] | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    batch_rows: int = 256 * 1024,
) -> EventLog:
    """A Parquet file as an event log; its columns keep their types (timestamps stay
    timestamps), and the roles are detected as for CSV when no mapping is given. Read in
    batches of ``batch_rows`` so a large file reports progress (rows read, total rows) and
    can be cancelled between batches."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    file = _existing(path)
    if batch_rows < 1:
        raise _invalid("batch_rows must be at least 1", batch_rows=batch_rows)
    try:
        source = pq.ParquetFile(file)
        total = int(source.metadata.num_rows)
        batches = []
        done = 0
        for batch in source.iter_batches(batch_size=batch_rows):
            _check_cancel(cancel)
            batches.append(batch)
            done += batch.num_rows
            if progress is not None:
                progress(done, total)
        table = pa.Table.from_batches(batches, schema=source.schema_arrow)
        frame = table.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise _invalid(
            f"{file.name!r} is not a readable Parquet file: {exc}", path=str(file)
        ) from None
    if frame.empty:
        raise _invalid(f"{file.name!r} contains no events", path=str(file))
    roles, date_format = _resolve_mapping(frame, mapping)
    for column in (roles[TIMESTAMP], roles.get(START)):
        if column:
            frame[column] = _parse_times(frame[column], column, date_format)
    return _build(
        frame,
        roles,
        date_format,
        name=file.stem,
        source={"path": str(file), "format": "parquet", "mapping": dict(roles)},
    )


# -- the product's own runs -------------------------------------------------------------
async def runs_as_event_log(
    database: Any,
    *,
    since: float | None = None,
    until: float | None = None,
    workflow_id: str | None = None,
) -> EventLog:
    """Workflow runs as an event log, so the product can mine its own automations: a run
    is a case, each finished node an event (activity = node name, timestamp = finished,
    start = started, resource = node type). ``since``/``until`` (Unix seconds) select runs
    by creation time, ``until`` exclusive. Case attributes: workflow, workflow_id, version
    and status (of the run); the node's id and status stay as event attributes."""
    from sqlalchemy import select

    from auterity_desktop.services.workflows.models import (
        NodeRunRow,
        RunRow,
        WorkflowRow,
        WorkflowVersionRow,
    )

    query = (
        select(
            RunRow.id,
            RunRow.workflow_id,
            RunRow.version,
            RunRow.status,
            WorkflowRow.name,
            NodeRunRow.node_id,
            NodeRunRow.status,
            NodeRunRow.started_at,
            NodeRunRow.finished_at,
        )
        .join(NodeRunRow, NodeRunRow.run_id == RunRow.id)
        .join(WorkflowRow, WorkflowRow.id == RunRow.workflow_id)
        .where(NodeRunRow.finished_at.is_not(None), NodeRunRow.status != "skipped")
    )
    if since is not None:
        query = query.where(RunRow.created_at >= since)
    if until is not None:
        query = query.where(RunRow.created_at < until)
    if workflow_id is not None:
        query = query.where(RunRow.workflow_id == workflow_id)
    async with database.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        versions = sorted({(r[1], r[2]) for r in rows})
        documents: dict[tuple[str, int], dict[str, Any]] = {}
        for wf, version in versions:
            document = (
                await conn.execute(
                    select(WorkflowVersionRow.document).where(
                        WorkflowVersionRow.workflow_id == wf, WorkflowVersionRow.version == version
                    )
                )
            ).scalar()
            documents[(wf, version)] = document or {}
    nodes: dict[tuple[str, int], dict[str, tuple[str, str]]] = {}
    for key, document in documents.items():
        nodes[key] = {
            str(n.get("id")): (str(n.get("name") or n.get("id")), str(n.get("type") or ""))
            for n in document.get("nodes", [])
            if isinstance(n, dict)
        }
    records = []
    for run, wf, version, run_status, wf_name, node, status, started, finished in rows:
        name, kind = nodes.get((wf, version), {}).get(node, (node, ""))
        records.append(
            {
                CASE: run,
                ACTIVITY: name,
                TIMESTAMP: finished,
                START: started,
                RESOURCE: kind,
                "node_id": node,
                "status": status,
                "case:workflow": wf_name,
                "case:workflow_id": wf,
                "case:version": version,
                "case:status": run_status,
            }
        )
    frame = pd.DataFrame.from_records(
        records, columns=[CASE, ACTIVITY, TIMESTAMP, START, RESOURCE, "node_id", "status",
                          "case:workflow", "case:workflow_id", "case:version", "case:status"]
    )  # fmt: skip
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP].astype(float), unit="s", utc=True)
    frame[START] = pd.to_datetime(frame[START].astype(float), unit="s", utc=True)
    return EventLog.from_frame(
        frame,
        start=START,
        resource=RESOURCE,
        name="workflow runs",
        source={"format": "runs", "workflow_id": workflow_id, "since": since, "until": until},
    )
