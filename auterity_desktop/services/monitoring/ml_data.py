"""Checking and storing what monitored models are given: reference sets, feature rows,
labels and numbers, and the limits on their size.

Reference sets are kept column by column as one JSON text (numbers as numbers, categories
as text, missing values as ``null``); each logged prediction keeps its feature values as a
JSON array in the model's feature order. Labels of classification models are text
(``True``/``1``/``1.0`` are all ``"1"``), so a label sent as a number and one read from a
CSV file as text compare equal.

Limits (``PAYLOAD_TOO_LARGE`` beyond them): a reference set of at most
``MAX_REFERENCE_ROWS`` rows and ``MAX_REFERENCE_CELLS`` feature values, at most
``MAX_FEATURES`` features, at most ``MAX_BATCH`` predictions or actuals per call.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.monitoring.drift import CATEGORICAL, KINDS, NUMERIC
from auterity_desktop.services.monitoring.ml_metrics import CLASSIFICATION

MAX_FEATURES = 200
MAX_REFERENCE_ROWS = 50_000
MAX_REFERENCE_CELLS = 1_000_000
MAX_BATCH = 10_000
MAX_NAME = 120
MAX_VERSION = 60
MAX_COLUMN = 200
MAX_ID = 64
MAX_LABEL = 200
MAX_TEXT = 500  # characters of a categorical value kept

Features = list[tuple[str, str]]  # (name, kind) in the model's order


def invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def rule(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.VALIDATION_ERROR, message, details)


def too_large(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, message, details)


# -- names ----------------------------------------------------------------------------------
def check_text(value: Any, field: str, limit: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field.capitalize()} must be non-empty text", field=field)
    text = value.strip()
    if len(text) > limit:
        raise invalid(f"{field.capitalize()} is longer than {limit} characters", field=field)
    return text


def check_features(features: Any) -> Features:
    if not isinstance(features, Mapping) or not features:
        raise invalid(
            'Features must be an object of {name: "numeric" | "categorical"}', field="features"
        )
    if len(features) > MAX_FEATURES:
        raise too_large(
            f"A model may have at most {MAX_FEATURES} features; this one has {len(features)}",
            field="features",
            limit=MAX_FEATURES,
        )
    checked: Features = []
    for name, kind in features.items():
        column = check_text(name, "feature name", MAX_COLUMN)
        if kind not in KINDS:
            raise invalid(
                f"Feature {column!r} must be numeric or categorical, not {kind!r}",
                field="features",
                feature=column,
            )
        checked.append((column, str(kind)))
    return checked


# -- frames ---------------------------------------------------------------------------------
def to_frame(data: Any, what: str) -> pd.DataFrame:
    """Rows (a list of objects) or a pandas DataFrame as a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not all(isinstance(row, Mapping) for row in data):
            raise invalid(f"Every row of the {what} must be an object", field=what)
        return pd.DataFrame(list(data), index=range(len(data)))
    raise invalid(f"The {what} must be a list of rows or a DataFrame", field=what)


def infer_kinds(frame: pd.DataFrame) -> dict[str, str | None]:
    """A first guess of each column's kind, for import dialogs: numbers (not true/false)
    are numeric; text, true/false and categories are categorical; times and columns
    that look like ids (text, every value different) are ``None`` — not a feature."""
    kinds: dict[str, str | None] = {}
    for name in frame.columns:
        series = frame[name]
        present = series.dropna()
        if pd.api.types.is_bool_dtype(series.dtype):
            kinds[str(name)] = CATEGORICAL
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            kinds[str(name)] = None
        elif pd.api.types.is_numeric_dtype(series.dtype):
            kinds[str(name)] = NUMERIC
        elif len(present) > 20 and present.astype(str).nunique() == len(present):
            kinds[str(name)] = None  # an id or free text: every value different
        else:
            numbers = pd.to_numeric(present, errors="coerce")
            all_numbers = len(present) > 0 and bool(numbers.notna().all())
            kinds[str(name)] = NUMERIC if all_numbers else CATEGORICAL
    return kinds


def _numbers(series: pd.Series, column: str, what: str) -> list[float | None]:
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(np.float64)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & converted.isna()
        if bad.any():
            example = series[bad].iloc[0]
            raise rule(
                f"Column {column!r} of the {what} is numeric but holds {str(example)[:40]!r}",
                field=what,
                feature=column,
            )
        series = converted
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]


def category(value: Any) -> str | None:
    """A categorical value as text; missing is ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)[:MAX_TEXT]


def label(value: Any, field: str = "label") -> str:
    """A classification label as text (``True`` → "1", ``2.0`` → "2")."""
    text = category(value)
    if text is None or not text:
        raise rule(f"A {field} is missing", field=field)
    if len(text) > MAX_LABEL:
        raise rule(f"A {field} is longer than {MAX_LABEL} characters", field=field)
    return text


def number(value: Any, field: str) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise rule(f"A {field} must be a number, not {str(value)[:40]!r}", field=field) from None
    if isinstance(value, bool) or not math.isfinite(result):
        raise rule(f"A {field} must be a finite number, not {value!r}", field=field)
    return result


def target_values(task: str, values: Sequence[Any], field: str) -> list[Any]:
    """Predictions or actuals of a model: labels (classification) or numbers."""
    if task == CLASSIFICATION:
        return [label(v, field) for v in values]
    return [number(v, field) for v in values]


# -- reference sets -------------------------------------------------------------------------
def encode_reference(frame: pd.DataFrame, features: Features) -> tuple[str, int]:
    """The reference's feature columns as JSON text, and its row count."""
    rows = len(frame)
    if rows == 0:
        raise rule("The reference data set has no rows", field="reference")
    if rows > MAX_REFERENCE_ROWS or rows * len(features) > MAX_REFERENCE_CELLS:
        raise too_large(
            f"A reference data set may have at most {MAX_REFERENCE_ROWS:,} rows and "
            f"{MAX_REFERENCE_CELLS:,} feature values; this one has {rows:,} rows × "
            f"{len(features)} features. Use a sample.",
            field="reference",
            max_rows=MAX_REFERENCE_ROWS,
            max_cells=MAX_REFERENCE_CELLS,
        )
    missing = [name for name, _kind in features if name not in frame.columns]
    if missing:
        raise rule(
            f"The reference data set has no column {', '.join(map(repr, missing[:5]))}",
            field="reference",
            missing=missing,
        )
    columns: dict[str, list[Any]] = {}
    for name, kind in features:
        if kind == NUMERIC:
            columns[name] = _numbers(frame[name], name, "reference")
        else:
            columns[name] = [category(v) for v in frame[name].tolist()]
    return json.dumps(columns, separators=(",", ":"), allow_nan=False), rows


def decode_reference(text: str, features: Features) -> pd.DataFrame:
    columns = json.loads(text)
    return pd.DataFrame({name: _column(columns.get(name, []), kind) for name, kind in features})


def _column(values: list[Any], kind: str) -> Any:
    if kind == NUMERIC:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.Series(values, dtype=object)


# -- logged rows ----------------------------------------------------------------------------
def encode_rows(frame: pd.DataFrame, features: Features) -> list[str]:
    """Each row's feature values as a JSON array in feature order; a feature the rows do
    not have is missing (``null``); other columns are ignored."""
    columns: list[list[Any]] = []
    for name, kind in features:
        if name not in frame.columns:
            columns.append([None] * len(frame))
        elif kind == NUMERIC:
            columns.append(_numbers(frame[name], name, "rows"))
        else:
            columns.append([category(v) for v in frame[name].tolist()])
    dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    return [dumps(list(values)) for values in zip(*columns, strict=True)]


def decode_rows(texts: Sequence[str], features: Features) -> pd.DataFrame:
    """The stored feature arrays back as a DataFrame (one JSON parse for all rows)."""
    rows = json.loads("[" + ",".join(texts) + "]") if texts else []
    names = [name for name, _kind in features]
    if not rows:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in names})
    table = list(zip(*rows, strict=True))
    return pd.DataFrame(
        {name: _column(list(table[i]), kind) for i, (name, kind) in enumerate(features)}
    )


def check_ids(ids: Any, count: int) -> list[str]:
    """Prediction ids as given (unique, at most 64 characters), or new random ones."""
    if ids is None:
        return [uuid.uuid4().hex for _ in range(count)]
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise invalid("ids must be a list", field="ids")
    if len(ids) != count:
        raise invalid(f"{len(ids)} ids for {count} predictions", field="ids")
    checked = [check_text(i, "prediction id", MAX_ID) for i in ids]
    if len(set(checked)) != len(checked):
        raise rule("Prediction ids must be unique", field="ids")
    return checked


def check_batch(count: int, what: str) -> None:
    if count > MAX_BATCH:
        raise too_large(
            f"At most {MAX_BATCH:,} {what} per call; this one has {count:,}. Send them in parts.",
            field=what,
            limit=MAX_BATCH,
        )


def check_sequence(values: Any, field: str) -> list[Any]:
    if isinstance(values, pd.Series | np.ndarray):
        return list(values.tolist())
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise invalid(f"{field} must be a list", field=field)
    return list(values)
