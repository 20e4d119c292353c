"""Exporters: each format written and read back gives the same log; the XES is well-formed
IEEE 1849-2016 with its extensions declared."""

from __future__ import annotations

import gzip
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd
import pytest

from auterity_desktop.services.analytics.mining import exporters, importers
from auterity_desktop.services.analytics.mining.event_log import EventLog


@pytest.fixture
def log() -> EventLog:
    frame = pd.DataFrame(
        {
            "case": ["10", "2", "10", "2"],
            "activity": ["b & <c>", "a", "a", "Prüfung \"x\""],
            "timestamp": ["2026-03-01 10:00:00.123456", "2026-03-01 09:00",
                          "2026-03-01 10:00:00.123456", "2026-03-02 09:30"],
            "start_timestamp": ["2026-03-01 09:50", None, "2026-03-01 09:55", "2026-03-02 09:00"],
            "resource": ["ann", "bob", None, "cy"],
            "cost": [1.5, 2.0, None, 4.25],
            "case:dealer": ["north", "south", "north", "south"],
        }
    )  # fmt: skip
    return EventLog.from_frame(frame, start="start_timestamp", resource="resource",
                               name="demo", date_format="ISO8601")  # fmt: skip


def _same(a: EventLog, b: EventLog) -> None:
    assert a.case_ids() == b.case_ids() and a.traces() == b.traces()
    for column in ("timestamp", "start_timestamp"):
        pd.testing.assert_series_equal(
            a.frame[column].astype("datetime64[ns, UTC]"),
            b.frame[column].astype("datetime64[ns, UTC]"),
            check_names=False,
        )
    assert list(a.frame["resource"].fillna("-")) == list(b.frame["resource"].fillna("-"))
    assert list(a.frame["cost"].fillna(-1)) == list(b.frame["cost"].fillna(-1))
    assert list(a.frame["case:dealer"]) == list(b.frame["case:dealer"])


def test_csv_round_trip(tmp_path: Path, log: EventLog) -> None:
    path = tmp_path / "out.csv"
    exporters.write_csv(log, path)
    assert (
        path.read_text(encoding="utf-8")
        .splitlines()[0]
        .startswith("case:concept:name,concept:name,time:timestamp,start_timestamp,org:resource")
    )
    _same(log, importers.read_csv(path))


def test_parquet_round_trip(tmp_path: Path, log: EventLog) -> None:
    path = tmp_path / "out.parquet"
    exporters.write_parquet(log, path)
    _same(log, importers.read_parquet(path))


@pytest.mark.parametrize("name", ["out.xes", "out.xes.gz"])
def test_xes_round_trip_and_shape(tmp_path: Path, log: EventLog, name: str) -> None:
    path = tmp_path / name
    exporters.write_xes(log, path)
    data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    root = ET.fromstring(data)
    ns = "{http://www.xes-standard.org/}"
    assert root.tag == f"{ns}log" and root.attrib["xes.version"] == "1849-2016"
    prefixes = {e.attrib["prefix"] for e in root.findall(f"{ns}extension")}
    assert prefixes == {"concept", "time", "lifecycle", "org"}
    traces = root.findall(f"{ns}trace")
    assert len(traces) == 2 and len(traces[0].findall(f"{ns}event")) == 2
    back = importers.read_xes(path)
    assert back.name == "demo"
    _same(log, back)
    assert back.frame["cost"].dtype == float


def test_failed_write_leaves_no_file(tmp_path: Path, log: EventLog) -> None:
    from auterity_desktop.core.errors import ServiceError

    target = tmp_path / "missing-dir" / "out.csv"
    with pytest.raises(ServiceError):
        exporters.write_csv(log, target)
    assert not target.exists()
