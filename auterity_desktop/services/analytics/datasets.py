"""Data sets for the Analysis page: load a CSV, Parquet, Excel or XES file into a pandas
frame, describe its columns, sort it and group or pivot it. Qt-free and blocking: the GUI
calls everything here from a worker thread.

Why one loader for four formats: the Data sets tab shows any of them in the same table and
builder, so they must all end in a plain frame with string column labels, and every way a
file can be wrong must end in a ``ServiceError`` whose message the panel can show as is:

* ``NOT_FOUND`` — no such file;
* ``INVALID_INPUT`` — unknown suffix, empty file, header without rows, malformed content,
  text in an unknown encoding, a binary file posing as CSV, an unreadable workbook;
* ``PAYLOAD_TOO_LARGE`` — more than ``max_cells`` cells (checked before reading where the
  format says its size up front, and per chunk for CSV, so a huge file fails early);
* ``CANCELLED`` — the ``cancel`` event was set.

``group_and_pivot`` answers ``VALIDATION_ERROR`` for fields or aggregates that do not fit
the frame, with the offending field in ``details``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining import importers

Progress = Callable[[int, int], None]

MAX_CELLS = 50_000_000
MAX_RESULT_CELLS = 1_000_000
CSV_CHUNK_ROWS = 100_000
SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm", ".xls", ".xes", ".xes.gz")
AGGREGATES = ("sum", "mean", "median", "min", "max", "count", "nunique")
NUMERIC_AGGREGATES = ("sum", "mean", "median")
FILE_FILTER = (
    "Data sets (*.csv *.tsv *.txt *.parquet *.xlsx *.xlsm *.xls *.xes *.xes.gz);;"
    "CSV (*.csv *.tsv *.txt);;Parquet (*.parquet);;Excel (*.xlsx *.xlsm *.xls);;"
    "XES event logs (*.xes *.xes.gz);;All files (*)"
)
_SAMPLE_BYTES = 256 * 1024


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def _invalid_field(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.VALIDATION_ERROR, message, details)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ServiceError(ErrorCode.CANCELLED, "Loading the data set was cancelled", {})


def _check_cells(name: str, rows: int, columns: int, max_cells: int) -> None:
    cells = rows * columns
    if cells > max_cells:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"{name!r} has more than {max_cells:,} cells ({rows:,} rows × {columns:,} "
            "columns so far); filter or split it before opening it here",
            {"rows": rows, "columns": columns, "cells": cells, "limit": max_cells},
        )


def dataset_kind(path: str | Path) -> str:
    """The format by suffix (``csv``, ``parquet``, ``excel``, ``xes``); ``INVALID_INPUT``
    for anything else, so the panel can refuse a file before starting a worker."""
    name = Path(path).name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return "xes"
    suffix = Path(name).suffix
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    raise _invalid(
        f"{Path(path).name!r} is not a data set this app reads; use one of {', '.join(SUFFIXES)}",
        path=str(path),
        allowed=list(SUFFIXES),
    )


def _existing(path: str | Path) -> Path:
    file = Path(path)
    if not file.is_file():
        raise ServiceError(ErrorCode.NOT_FOUND, f"No file {str(file)!r}", {"path": str(file)})
    if file.stat().st_size == 0:
        raise _invalid(f"The file {file.name!r} is empty", path=str(file))
    return file


def _string_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """String, unique column labels: the table header, the builder's field lists and the
    report expressions all name columns by text, and Excel happily yields ``1`` or two
    ``Unnamed`` columns."""
    seen: dict[str, int] = {}
    labels: list[str] = []
    for raw in frame.columns:
        label = str(raw).strip() or "column"
        if label in seen:
            seen[label] += 1
            label = f"{label}.{seen[label]}"
        seen.setdefault(label, 0)
        labels.append(label)
    frame.columns = labels
    return frame


def load_dataset(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_cells: int = MAX_CELLS,
) -> pd.DataFrame:
    """The file at ``path`` as a frame; the format comes from the suffix. ``sheet`` picks an
    Excel sheet by name or position (the first one by default). ``progress(done, total)``
    is called from the calling thread with a format-specific unit (bytes, row groups)."""
    kind = dataset_kind(path)
    file = _existing(path)
    _check_cancel(cancel)
    if kind == "csv":
        frame = _read_csv(file, encoding, delimiter, progress, cancel, max_cells)
    elif kind == "parquet":
        frame = _read_parquet(file, progress, cancel, max_cells)
    elif kind == "excel":
        frame = _read_excel(file, sheet, progress, cancel, max_cells)
    else:
        frame = _event_table(importers.read_xes(file, progress=progress, cancel=cancel).frame)
        _check_cells(file.name, len(frame), len(frame.columns), max_cells)
    _check_cancel(cancel)
    if frame.empty:
        raise _invalid(f"The file {file.name!r} has no rows", path=str(file))
    return _string_labels(frame)


def _event_table(events: pd.DataFrame) -> pd.DataFrame:
    """An event log as people read it: case, activity, times and resource first, without
    the log's internal row-order column."""
    from auterity_desktop.services.analytics.mining.event_log import CANONICAL, ROW

    first = [c for c in CANONICAL if c in events.columns]
    rest = [c for c in events.columns if c not in first and c != ROW]
    return events[first + rest].reset_index(drop=True)


# -- CSV -------------------------------------------------------------------------------------
def _read_csv(
    file: Path,
    encoding: str | None,
    delimiter: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    max_cells: int,
) -> pd.DataFrame:
    with file.open("rb") as raw:
        head = raw.read(_SAMPLE_BYTES)
    if not head.strip():
        raise _invalid(f"The file {file.name!r} is empty", path=str(file))
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not utf16 and encoding is None:
        raise _invalid(
            f"The file {file.name!r} is not a text file (it holds binary data)", path=str(file)
        )
    candidates = ["utf-16"] if utf16 and encoding is None else []
    candidates = candidates or importers._choose_encoding(head, encoding)
    errors: list[str] = []
    for candidate in candidates:
        try:
            return _read_csv_as(file, candidate, head, delimiter, progress, cancel, max_cells)
        except UnicodeDecodeError as exc:
            errors.append(f"{candidate}: byte 0x{exc.object[exc.start]:02x} at {exc.start}")
        except UnicodeError as exc:
            errors.append(f"{candidate}: {exc}")
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
    delimiter: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    max_cells: int,
) -> pd.DataFrame:
    truncated = len(head) == _SAMPLE_BYTES
    text = head.decode(encoding, errors="ignore" if truncated else "strict")
    if truncated:  # the sample may end inside a line or a character
        text = text[: text.rfind("\n") + 1] or text
    sep = delimiter or importers._sniff_delimiter(text)
    total = file.stat().st_size
    chunks: list[pd.DataFrame] = []
    rows = 0
    with file.open("rb") as raw:
        counter = importers._CountingReader(raw)
        stream = io.BufferedReader(counter, buffer_size=1024 * 1024)
        try:
            reader = pd.read_csv(
                stream,
                sep=sep,
                encoding=encoding,
                chunksize=CSV_CHUNK_ROWS,
                low_memory=False,
            )
            for chunk in reader:
                _check_cancel(cancel)
                rows += len(chunk)
                _check_cells(file.name, rows, len(chunk.columns), max_cells)
                chunks.append(chunk)
                if progress is not None:
                    progress(min(counter.done, total), total)
        except pd.errors.EmptyDataError:
            raise _invalid(f"The file {file.name!r} is empty", path=str(file)) from None
        except pd.errors.ParserError as exc:
            raise _invalid(
                f"The file {file.name!r} is not valid CSV: {str(exc).strip()}", path=str(file)
            ) from None
    if not chunks or rows == 0:
        raise _invalid(f"The file {file.name!r} has a header but no rows", path=str(file))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    if progress is not None:
        progress(total, total)
    return frame


# -- Parquet ---------------------------------------------------------------------------------
def _read_parquet(
    file: Path, progress: Progress | None, cancel: threading.Event | None, max_cells: int
) -> pd.DataFrame:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        parquet = pq.ParquetFile(file)
        meta = parquet.metadata
        _check_cells(file.name, int(meta.num_rows), int(meta.num_columns), max_cells)
        groups = int(parquet.num_row_groups)
        tables = []
        for index in range(groups):
            _check_cancel(cancel)
            tables.append(parquet.read_row_group(index))
            if progress is not None:
                progress(index + 1, groups)
        table = pa.concat_tables(tables) if tables else parquet.schema_arrow.empty_table()
        return table.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise _invalid(
            f"{file.name!r} is not a readable Parquet file: {exc}", path=str(file)
        ) from None


# -- Excel -----------------------------------------------------------------------------------
def _read_excel(
    file: Path,
    sheet: str | int | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    max_cells: int,
) -> pd.DataFrame:
    if file.suffix.lower() == ".xls":
        try:
            import xlrd  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
        except ImportError:
            raise _invalid(
                f"{file.name!r} is an old Excel 97-2003 workbook, which this installation "
                "cannot read; save it as .xlsx or CSV",
                path=str(file),
            ) from None
        frame = _read_sheet(file, sheet, None)
        _check_cells(file.name, len(frame), len(frame.columns), max_cells)
        return frame
    import openpyxl  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException...
        raise _invalid(
            f"{file.name!r} is not a readable Excel workbook: {exc}", path=str(file)
        ) from None
    try:
        names = list(book.sheetnames)
        name = _sheet_name(file, names, sheet)
        worksheet = book[name]
        rows, columns = worksheet.max_row or 0, worksheet.max_column or 0
    finally:
        book.close()
    _check_cells(file.name, rows, columns, max_cells)
    _check_cancel(cancel)
    if progress is not None:
        progress(0, 1)
    frame = _read_sheet(file, name, "openpyxl")
    if progress is not None:
        progress(1, 1)
    return frame


def _sheet_name(file: Path, names: list[str], sheet: str | int | None) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
        return names[sheet]
    if isinstance(sheet, str) and sheet in names:
        return sheet
    raise _invalid(
        f"{file.name!r} has no sheet {sheet!r}; it has {', '.join(names)}",
        path=str(file),
        sheet=sheet,
        sheets=names,
    )


def _read_sheet(file: Path, sheet: str | int | None, engine: str | None) -> pd.DataFrame:
    try:
        frame = pd.read_excel(file, sheet_name=0 if sheet is None else sheet, engine=engine)
    except ValueError as exc:
        raise _invalid(f"{file.name!r} could not be read: {exc}", path=str(file)) from None
    except Exception as exc:  # corrupt workbooks surface as many library-specific types
        raise _invalid(
            f"{file.name!r} is not a readable Excel workbook: {exc}", path=str(file)
        ) from None
    if not isinstance(frame, pd.DataFrame):
        raise _invalid(f"{file.name!r} could not be read as one sheet", path=str(file))
    return frame.dropna(how="all").reset_index(drop=True)


def excel_sheets(path: str | Path) -> list[str]:
    """The sheet names of an ``.xlsx`` workbook, for a sheet picker."""
    import openpyxl

    file = _existing(path)
    try:
        book = openpyxl.load_workbook(file, read_only=True)
    except Exception as exc:
        raise _invalid(
            f"{file.name!r} is not a readable Excel workbook: {exc}", path=str(file)
        ) from None
    try:
        return list(book.sheetnames)
    finally:
        book.close()


# -- describing and sorting ------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnInfo:
    name: str
    dtype: str
    missing: int
    distinct: int
    rows: int

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


def describe_columns(frame: pd.DataFrame) -> list[ColumnInfo]:
    """Type, missing and distinct counts per column; distinct values of unhashable cells
    (lists from Parquet) are counted by their text."""
    rows = len(frame)
    out: list[ColumnInfo] = []
    missing = frame.isna().sum()
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        try:
            distinct = int(series.nunique(dropna=True))
        except TypeError:
            distinct = int(series.astype(str).nunique(dropna=True))
        out.append(ColumnInfo(str(name), str(series.dtype), int(missing.iloc[position]),
                              distinct, rows))  # fmt: skip
    return out


def sort_order(frame: pd.DataFrame, column: str, ascending: bool = True) -> np.ndarray:
    """Row positions of ``frame`` sorted by ``column``, missing values last and ties in file
    order (a stable sort, so sorting twice by different columns behaves as people expect).
    Columns mixing numbers and text sort by their text."""
    if column not in frame.columns:
        raise _invalid_field(f"No column {column!r}", column=column)
    series = frame[column].reset_index(drop=True)
    try:
        ordered = series.sort_values(ascending=ascending, kind="stable", na_position="last")
    except TypeError:
        text = series.astype(str).where(series.notna())
        ordered = text.sort_values(ascending=ascending, kind="stable", na_position="last")
    return np.asarray(ordered.index.to_numpy(), dtype=np.int64)


# -- group by and pivot ----------------------------------------------------------------------
def _field_list(frame: pd.DataFrame, fields: Sequence[str] | None, role: str) -> list[str]:
    if fields is None:
        return []
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise _invalid_field(f"{role} must be a list of column names", role=role)
    out: list[str] = []
    for name in fields:
        if not isinstance(name, str) or name not in frame.columns:
            raise _invalid_field(f"{role} field {name!r} is not a column", role=role, field=name)
        if name in out:
            raise _invalid_field(f"{role} field {name!r} is given twice", role=role, field=name)
        out.append(name)
    return out


def result_label(values: str | None, aggregate: str) -> str:
    """The result column's name, e.g. ``mean(labor_hours)`` or ``count`` for row counts."""
    return f"{aggregate}({values})" if values else "count"


def _check_group_inputs(
    frame: Any, rows: Sequence[str], columns: Sequence[str] | None, values: str | None,
    aggregate: str,
) -> tuple[list[str], list[str]]:  # fmt: skip
    if not isinstance(frame, pd.DataFrame):
        raise _invalid(f"a DataFrame is needed, not {type(frame).__name__}")
    if aggregate not in AGGREGATES:
        raise _invalid_field(
            f"Unknown aggregate {aggregate!r}; use one of {', '.join(AGGREGATES)}",
            aggregate=aggregate,
            allowed=list(AGGREGATES),
        )
    row_fields = _field_list(frame, rows, "Row")
    if not row_fields:
        raise _invalid_field("Choose at least one row field to group by", role="Row")
    column_fields = _field_list(frame, columns, "Column")
    both = sorted(set(row_fields) & set(column_fields))
    if both:
        raise _invalid_field(f"{both[0]!r} cannot be both a row and a column field", field=both[0])
    if values is None:
        if aggregate != "count":
            raise _invalid_field(
                f"Choose a value field to {aggregate}; only count works without one",
                aggregate=aggregate,
            )
    elif not isinstance(values, str) or values not in frame.columns:
        raise _invalid_field(f"Value field {values!r} is not a column", field=values)
    elif values in row_fields or values in column_fields:
        raise _invalid_field(
            f"{values!r} is a grouping field; choose another value field", field=values
        )
    elif aggregate in NUMERIC_AGGREGATES and not _numeric(frame[values]):
        raise _invalid_field(
            f"{aggregate} needs a numeric value field; {values!r} holds "
            f"{frame[values].dtype} values (use count, nunique, min or max)",
            field=values,
            aggregate=aggregate,
            dtype=str(frame[values].dtype),
        )
    return row_fields, column_fields


def _numeric(series: pd.Series) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series)
    )


def _flat_label(key: Any) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return " / ".join("(empty)" if _missing(p) else str(p) for p in parts)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def group_and_pivot(
    frame: pd.DataFrame,
    rows: list[str],
    columns: list[str] | None,
    values: str | None,
    aggregate: str,
) -> pd.DataFrame:
    """``frame`` grouped by ``rows`` with ``aggregate`` of ``values`` per group, one row per
    group sorted by the keys (empty keys kept, last). With ``columns`` the result is a
    pivot: one result column per combination of the column fields, labelled
    ``"a / b"``, and ``count`` of a missing combination reads 0 rather than empty.

    ``count`` counts non-missing ``values`` (rows when ``values`` is None); ``nunique``
    counts distinct non-missing values."""
    row_fields, column_fields = _check_group_inputs(frame, rows, columns, values, aggregate)
    keys = row_fields + column_fields
    grouped = frame.groupby(keys, dropna=False, sort=True, observed=True)
    groups = int(grouped.ngroups)
    if groups > MAX_RESULT_CELLS:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"The grouping gives {groups:,} groups, more than {MAX_RESULT_CELLS:,}; "
            "group by fewer or coarser fields",
            {"groups": groups, "limit": MAX_RESULT_CELLS},
        )
    label = result_label(values, aggregate)
    result = grouped.size() if values is None else grouped[values].agg(aggregate)
    result = result.rename(label)
    if not column_fields:
        return result.reset_index()
    table = result.unstack(column_fields)
    cells = int(table.shape[0]) * (int(table.shape[1]) + len(row_fields))
    if cells > MAX_RESULT_CELLS:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"The pivot has {cells:,} cells, more than {MAX_RESULT_CELLS:,}; "
            "choose a column field with fewer values",
            {"cells": cells, "limit": MAX_RESULT_CELLS},
        )
    if aggregate in ("count", "nunique"):
        table = table.fillna(0).astype(np.int64)
    labels = [_flat_label(k) for k in table.columns]
    clash = set(labels) & set(row_fields)
    table.columns = [f"{c} ({label})" if c in clash else c for c in labels]
    return table.reset_index()
