"""Loading data sets in every format with known values, every bad input as its ErrorCode,
and grouping and pivoting checked against hand-computed answers."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics import datasets
from auterity_desktop.services.analytics.datasets import (
    describe_columns,
    group_and_pivot,
    load_dataset,
    sort_order,
)

SERVICE = pd.DataFrame(
    {
        "ro": ["R1", "R2", "R3", "R4", "R5", "R6"],
        "dept": ["service", "service", "parts", "parts", "body", "service"],
        "advisor": ["ann", "bob", "ann", "ann", "bob", "bob"],
        "labor_hours": [1.5, 2.0, 0.5, 1.0, 6.0, 3.5],
        "revenue": [150, 220, 80, 95, 900, 410],
    }
)

XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <trace>
    <string key="concept:name" value="RO-1"/>
    <event>
      <string key="concept:name" value="Check in"/>
      <date key="time:timestamp" value="2024-03-01T08:00:00+00:00"/>
      <string key="org:resource" value="ann"/>
    </event>
    <event>
      <string key="concept:name" value="Repair"/>
      <date key="time:timestamp" value="2024-03-01T10:30:00+00:00"/>
      <string key="org:resource" value="bob"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="RO-2"/>
    <event>
      <string key="concept:name" value="Check in"/>
      <date key="time:timestamp" value="2024-03-02T09:00:00+00:00"/>
      <string key="org:resource" value="ann"/>
    </event>
  </trace>
</log>
"""


def code_of(call: Any) -> ErrorCode:
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.message  # something a person can read
    return info.value.code


# -- formats -------------------------------------------------------------------------------
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_round_trip_with_any_delimiter(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "service.csv"
    SERVICE.to_csv(path, sep=sep, index=False)
    frame = load_dataset(path)
    pd.testing.assert_frame_equal(frame, SERVICE, check_dtype=False)
    assert frame["revenue"].sum() == 1855
    assert pd.api.types.is_numeric_dtype(frame["labor_hours"])


def test_csv_in_windows_1252_and_with_a_bom(tmp_path: Path) -> None:
    cp = tmp_path / "cp.csv"
    cp.write_bytes("name,price\nCitroën,12\nRenault Mégane,9\n".encode("cp1252"))
    assert load_dataset(cp)["name"].tolist() == ["Citroën", "Renault Mégane"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffname,price\nx,1\n".encode())
    assert list(load_dataset(bom).columns) == ["name", "price"]


def test_csv_in_utf16_with_its_bom(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("name,price\nÅse,3\n".encode("utf-16"))
    frame = load_dataset(path)
    assert frame.to_dict("records") == [{"name": "Åse", "price": 3}]


def test_csv_reports_progress_up_to_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    pd.DataFrame({"a": np.arange(250_000), "b": np.arange(250_000) * 2}).to_csv(path, index=False)
    seen: list[tuple[int, int]] = []
    frame = load_dataset(path, progress=lambda done, total: seen.append((done, total)))
    assert len(frame) == 250_000 and int(frame["b"].iloc[-1]) == 499_998
    assert len(seen) >= 3  # one per chunk of 100 000 rows, plus the end
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_parquet_round_trip_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "service.parquet"
    data = SERVICE.assign(opened=pd.date_range("2024-01-01", periods=6, freq="D"))
    data.to_parquet(path, row_group_size=2)
    seen: list[tuple[int, int]] = []
    frame = load_dataset(path, progress=lambda d, t: seen.append((d, t)))
    pd.testing.assert_frame_equal(frame, data, check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(frame["opened"])
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_excel_round_trip_and_sheet_choice(tmp_path: Path) -> None:
    path = tmp_path / "service.xlsx"
    with pd.ExcelWriter(path) as writer:
        SERVICE.to_excel(writer, sheet_name="ROs", index=False)
        pd.DataFrame({"tech": ["ann"], "rate": [95.5]}).to_excel(
            writer, sheet_name="Rates", index=False
        )
    pd.testing.assert_frame_equal(load_dataset(path), SERVICE, check_dtype=False)
    assert load_dataset(path, sheet="Rates").to_dict("records") == [{"tech": "ann", "rate": 95.5}]
    assert load_dataset(path, sheet=1)["rate"].tolist() == [95.5]
    assert datasets.excel_sheets(path) == ["ROs", "Rates"]
    assert code_of(lambda: load_dataset(path, sheet="Nope")) is ErrorCode.INVALID_INPUT


def test_excel_labels_become_unique_strings(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    pd.DataFrame([[1, 2, 3]], columns=[2024, "a", "a "]).to_excel(path, index=False)
    assert list(load_dataset(path).columns) == ["2024", "a", "a.1"]


@pytest.mark.parametrize("name", ["log.xes", "log.xes.gz"])
def test_xes_and_gzipped_xes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = XES.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    frame = load_dataset(path)
    assert len(frame) == 3
    assert list(frame.columns) == ["case", "activity", "timestamp", "resource"]
    assert frame["case"].tolist() == ["RO-1", "RO-1", "RO-2"]
    assert frame["activity"].tolist() == ["Check in", "Repair", "Check in"]
    assert frame["timestamp"].iloc[1] == pd.Timestamp("2024-03-01T10:30:00Z")
    assert set(frame["resource"]) == {"ann", "bob"}


# -- bad input -----------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    assert code_of(lambda: load_dataset(tmp_path / "gone.csv")) is ErrorCode.NOT_FOUND


@pytest.mark.parametrize("name", ["data.json", "data", "notes.docx"])
def test_unknown_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    assert code_of(lambda: load_dataset(path)) is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", b""),
        ("blank.csv", b"  \n\n"),
        ("header.csv", b"a,b,c\n"),
        ("empty.parquet", b""),
        ("empty.xlsx", b""),
        ("empty.xes", b""),
    ],
)
def test_empty_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert code_of(lambda: load_dataset(path)) is ErrorCode.INVALID_INPUT


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    SERVICE.iloc[:0].to_parquet(path)
    assert code_of(lambda: load_dataset(path)) is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n"),
        ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20),
        ("bad.parquet", b"PAR1 this is not parquet at all"),
        ("bad.xlsx", b"PK\x03\x04 not a zip"),
        ("text.xlsx", b"a,b\n1,2\n"),
        ("bad.xes", b"<log><trace><event>"),
        ("bad.xes.gz", b"not gzip"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert code_of(lambda: load_dataset(path)) is ErrorCode.INVALID_INPUT


def test_old_excel_without_its_reader_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 an OLE file")
    with pytest.raises(ServiceError) as info:
        load_dataset(path)
    assert info.value.code is ErrorCode.INVALID_INPUT


def test_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "utf8.csv"
    path.write_bytes("name\nZoë\n".encode())
    assert code_of(lambda: load_dataset(path, encoding="ascii")) is ErrorCode.INVALID_INPUT
    assert code_of(lambda: load_dataset(path, encoding="klingon")) is ErrorCode.INVALID_INPUT
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"name\n\x81\x8d\x8f\x90\x9d\xff\xfe\n")  # neither UTF-8 nor cp1252
    with pytest.raises(ServiceError) as info:
        load_dataset(bad)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert "encoding" in info.value.message


def test_too_many_cells(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(1000), "b": range(1000)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.csv", "t.parquet", "t.xlsx"):
        with pytest.raises(ServiceError) as info:
            load_dataset(tmp_path / name, max_cells=1500)
        assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE, name
        assert info.value.details["limit"] == 1500
    assert len(load_dataset(tmp_path / "t.csv", max_cells=2000)) == 1000


def test_cancel(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    SERVICE.to_csv(path, index=False)
    stop = threading.Event()
    stop.set()
    assert code_of(lambda: load_dataset(path, cancel=stop)) is ErrorCode.CANCELLED


# -- describe and sort ---------------------------------------------------------------------
def test_describe_columns() -> None:
    frame = pd.DataFrame({"a": [1, None, 1, 3], "b": ["x", "y", None, None]})
    info = {c.name: c for c in describe_columns(frame)}
    assert (info["a"].missing, info["a"].distinct, info["a"].dtype) == (1, 2, "float64")
    assert (info["b"].missing, info["b"].distinct) == (2, 2)
    assert info["b"].missing_share == 0.5


def test_sort_order_is_stable_with_missing_last() -> None:
    frame = pd.DataFrame({"v": [3.0, None, 1.0, 3.0, 2.0], "mixed": [1, "b", "a", 2, None]})
    assert sort_order(frame, "v").tolist() == [2, 4, 0, 3, 1]
    assert sort_order(frame, "v", ascending=False).tolist() == [0, 3, 4, 2, 1]
    assert sort_order(frame, "mixed").tolist() == [0, 3, 2, 1, 4]  # by text: "1" < "2" < "a"
    assert code_of(lambda: sort_order(frame, "nope")) is ErrorCode.VALIDATION_ERROR


# -- group by and pivot --------------------------------------------------------------------
def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records")


def test_group_by_every_aggregate() -> None:
    def by_dept(values: str | None, aggregate: str) -> dict[str, Any]:
        result = group_and_pivot(SERVICE, ["dept"], None, values, aggregate)
        label = datasets.result_label(values, aggregate)
        assert list(result.columns) == ["dept", label]
        return dict(zip(result["dept"], result[label], strict=True))

    assert by_dept("revenue", "sum") == {"body": 900, "parts": 175, "service": 780}
    assert by_dept("revenue", "mean") == {"body": 900, "parts": 87.5, "service": 260}
    assert by_dept("labor_hours", "median") == {"body": 6.0, "parts": 0.75, "service": 2.0}
    assert by_dept("labor_hours", "min") == {"body": 6.0, "parts": 0.5, "service": 1.5}
    assert by_dept("advisor", "max") == {"body": "bob", "parts": "ann", "service": "bob"}
    assert by_dept("advisor", "nunique") == {"body": 1, "parts": 1, "service": 2}
    assert by_dept(None, "count") == {"body": 1, "parts": 2, "service": 3}


def test_group_by_two_fields_keeps_empty_keys_last() -> None:
    frame = SERVICE.assign(dept=["service", None, "parts", "parts", "body", "service"])
    result = group_and_pivot(frame, ["dept", "advisor"], None, "revenue", "sum")
    rows = [(d if isinstance(d, str) else None, a, v) for d, a, v in result.to_numpy()]
    assert rows == [
        ("body", "bob", 900),
        ("parts", "ann", 175),
        ("service", "ann", 150),
        ("service", "bob", 410),
        (None, "bob", 220),
    ]


def test_pivot() -> None:
    result = group_and_pivot(SERVICE, ["dept"], ["advisor"], "revenue", "sum")
    assert list(result.columns) == ["dept", "ann", "bob"]
    table = result.set_index("dept")
    assert table.loc["service", "ann"] == 150 and table.loc["service", "bob"] == 630
    assert table.loc["parts", "ann"] == 175 and np.isnan(table.loc["parts", "bob"])
    counts = group_and_pivot(SERVICE, ["dept"], ["advisor"], None, "count").set_index("dept")
    assert counts.loc["parts", "bob"] == 0 and counts.loc["service", "bob"] == 2
    assert counts["ann"].dtype == np.int64


def test_pivot_label_clashing_with_a_row_field() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": ["a", "z"], "v": [1, 2]})
    result = group_and_pivot(frame, ["a"], ["b"], "v", "sum")
    assert list(result.columns) == ["a", "a (sum(v))", "z"]


@pytest.mark.parametrize(
    ("rows", "columns", "values", "aggregate", "field"),
    [
        ([], None, "revenue", "sum", None),
        (["nope"], None, "revenue", "sum", "nope"),
        (["dept", "dept"], None, "revenue", "sum", "dept"),
        (["dept"], ["nope"], "revenue", "sum", "nope"),
        (["dept"], ["dept"], "revenue", "sum", "dept"),
        (["dept"], None, "nope", "sum", "nope"),
        (["dept"], None, "dept", "count", "dept"),
        (["dept"], None, "advisor", "sum", "advisor"),
        (["dept"], None, "advisor", "mean", "advisor"),
        (["dept"], None, None, "sum", None),
        (["dept"], None, "revenue", "mode", None),
    ],
)
def test_group_by_validation(
    rows: list[str], columns: list[str] | None, values: str | None, aggregate: str,
    field: str | None,
) -> None:  # fmt: skip
    with pytest.raises(ServiceError) as info:
        group_and_pivot(SERVICE, rows, columns, values, aggregate)
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    if field is not None:
        assert info.value.details.get("field") == field


def test_group_by_needs_a_frame_and_caps_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    assert code_of(lambda: group_and_pivot([1], ["a"], None, None, "count")) is (  # type: ignore[arg-type]
        ErrorCode.INVALID_INPUT
    )
    monkeypatch.setattr(datasets, "MAX_RESULT_CELLS", 4)
    code = code_of(lambda: group_and_pivot(SERVICE, ["ro"], None, None, "count"))
    assert code is ErrorCode.PAYLOAD_TOO_LARGE
    code = code_of(lambda: group_and_pivot(SERVICE, ["dept"], ["advisor"], None, "count"))
    assert code is ErrorCode.PAYLOAD_TOO_LARGE
