"""Importers: column and date detection, CSV/XES/Parquet/runs, and every malformed input
turned into a ServiceError that names what is wrong."""

from __future__ import annotations

import gzip
import itertools
import threading
from pathlib import Path

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining import importers as imp

CSV = (
    "RO_Number;Event;Start;Timestamp;Technician;cost\n"
    "R-10;open;01/03/2026 08:00;01/03/2026 08:05;ann;1.5\n"
    "R-10;repair;01/03/2026 09:00;13/03/2026 10:00;bob;20\n"
    "R-2;open;02/03/2026 08:00;02/03/2026 08:01;ann;1\n"
    "R-2;close;02/03/2026 09:00;02/03/2026 09:30;cy;2\n"
)


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def test_detect_date_format() -> None:
    assert imp.detect_date_format(["2026-03-01T10:00:00Z", "2026-03-02 11:00"]) == "ISO8601"
    assert imp.detect_date_format(["01/03/2026 10:00", "13/03/2026 10:00"]) == "%d/%m/%Y %H:%M"
    assert imp.detect_date_format(["03/13/2026 10:00:01"]) == "%m/%d/%Y %H:%M:%S"
    assert imp.detect_date_format(["01.02.2026"]) == "%m.%d.%Y"
    assert imp.detect_date_format(["01.02.2026"], prefer_day_first=True) == "%d.%m.%Y"
    assert imp.detect_date_format(["13/01/2026", "01/13/2026"]) is None  # contradictory
    assert imp.detect_date_format(["01/03/2026 10:00", "01/03/2026 10:00:00"]) is None
    assert imp.detect_date_format(["1767225600", "1767229200"]) == "epoch:s"
    assert imp.detect_date_format(["1767225600000"]) == "epoch:ms"
    assert imp.detect_date_format(["hello"]) is None
    assert imp.detect_date_format([]) is None


def test_detect_columns_by_name_and_by_content() -> None:
    named = pd.DataFrame(columns=["case:concept:name", "concept:name", "time:timestamp",
                                  "org:resource"])  # fmt: skip
    guess = imp.detect_columns(named)
    assert (guess.case, guess.activity, guess.timestamp, guess.resource) == (
        "case:concept:name", "concept:name", "time:timestamp", "org:resource")  # fmt: skip
    unnamed = pd.DataFrame(
        {
            "x": ["o1", "o1", "o2", "o2", "o3", "o3"],
            "y": ["pick", "ship", "pick", "ship", "pick", "ship"],
            "z": [f"2026-01-0{d} 10:00" for d in range(1, 7)],
        }
    )
    guess = imp.detect_columns(unnamed)
    assert (guess.case, guess.activity, guess.timestamp) == ("x", "y", "z")
    assert guess.date_format == "ISO8601"


def test_read_csv_detects_everything_and_reports_progress(tmp_path: Path) -> None:
    path = _write(tmp_path, "ros.csv", CSV)
    seen: list[tuple[int, int]] = []
    log = imp.read_csv(path, progress=lambda done, total: seen.append((done, total)),
                       chunk_bytes=64)  # fmt: skip
    assert log.case_ids() == ["R-10", "R-2"]
    assert log.traces() == [("open", "repair"), ("open", "close")]
    assert log.has_start and list(log.frame["resource"]) == ["ann", "bob", "ann", "cy"]
    assert log.frame["timestamp"][1] == pd.Timestamp("2026-03-13 10:00", tz="UTC")  # day first
    assert log.source["delimiter"] == ";" and log.source["date_format"] == "%d/%m/%Y %H:%M"
    assert len(seen) >= 4 and seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


def test_read_csv_with_explicit_mapping_and_epoch(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.csv", "id,what,when\n1,a,1767225600\n1,b,1767229200\n")
    log = imp.read_csv(path, {"case": "id", "activity": "what", "timestamp": "when"})
    assert log.traces() == [("a", "b")]
    assert log.frame["timestamp"][1] == pd.Timestamp("2026-01-01 01:00", tz="UTC")


def test_read_csv_encodings(tmp_path: Path) -> None:
    text = "case,activity,timestamp\n1,Prüfung,2026-01-01 10:00\n"
    bom = imp.read_csv(_write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + text.encode()))
    assert bom.activities() == ["Prüfung"] and bom.source["encoding"] == "utf-8-sig"
    latin = imp.read_csv(_write(tmp_path, "cp.csv", text.encode("cp1252")))
    assert latin.activities() == ["Prüfung"] and latin.source["encoding"] == "cp1252"
    # 0x81 is undefined in cp1252 and invalid in UTF-8
    broken = _write(tmp_path, "bad.csv", b"case,activity,timestamp\n1,a\x81,2026-01-01\n")
    with pytest.raises(ServiceError) as info:
        imp.read_csv(broken)
    assert info.value.code is ErrorCode.INVALID_INPUT and "0x81" in info.value.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("case,activity,timestamp\n", "no events"),
        ("case,activity,colour\n1,a,red\n1,b,blue\n", "timestamp"),
    ],
)
def test_read_csv_bad_files(tmp_path: Path, content: str, words: str) -> None:
    with pytest.raises(ServiceError) as info:
        imp.read_csv(_write(tmp_path, "x.csv", content))
    assert info.value.code is ErrorCode.INVALID_INPUT and words in info.value.message


def test_read_csv_names_the_missing_column_and_bad_timestamp_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.csv", CSV)
    with pytest.raises(ServiceError) as missing:
        imp.read_csv(path, {"case": "RO", "activity": "Event", "timestamp": "Timestamp"})
    assert missing.value.details["missing"] == ["RO"]
    bad = _write(tmp_path, "b.csv", "case,activity,timestamp\n1,a,2026-01-01\n1,b,2026-01-02\n"
                 "1,c,2026-01-03\n2,a,soon\n")  # fmt: skip
    with pytest.raises(ServiceError) as info:
        imp.read_csv(bad, chunk_bytes=64)  # the bad value is in a later chunk
    assert info.value.details["row"] == 4 and info.value.details["line"] == 5
    assert info.value.details["value"] == "soon"
    with pytest.raises(ServiceError) as nofile:
        imp.read_csv(tmp_path / "nothing.csv")
    assert nofile.value.code is ErrorCode.NOT_FOUND


def test_read_csv_cancel(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", CSV)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        cancel.set()  # the user presses Cancel after the first chunk

    with pytest.raises(ServiceError) as info:
        imp.read_csv(path, progress=progress, cancel=cancel, chunk_bytes=64)
    assert info.value.code is ErrorCode.CANCELLED


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>
  <string key="concept:name" value="garage"/>
  <trace>
    <string key="concept:name" value="t1"/>
    <string key="dealer" value="north"/>
    <event>
      <string key="concept:name" value="repair"/>
      <string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2026-01-01T08:00:00.000+01:00"/>
    </event>
    <event>
      <string key="concept:name" value="repair"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2026-01-01T09:30:00.000+01:00"/>
      <string key="org:resource" value="ann"/>
      <int key="hours" value="2"/>
      <float key="cost" value="99.5"/>
    </event>
    <event>
      <string key="concept:name" value="wash"/>
      <date key="time:timestamp" value="2026-01-01T10:00:00.000+01:00"/>
      <boolean key="express" value="true"/>
      <list key="nested"><string key="ignored" value="x"/></list>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="t0"/>
    <event>
      <string key="concept:name" value="wash"/>
      <string key="lifecycle:transition" value="schedule"/>
      <date key="time:timestamp" value="2026-01-02T07:00:00Z"/>
    </event>
    <event>
      <string key="concept:name" value="wash"/>
      <date key="time:timestamp" value="2026-01-02T08:00:00Z"/>
    </event>
  </trace>
</log>
"""


@pytest.mark.parametrize("name", ["log.xes", "log.xes.gz"])
def test_read_xes(tmp_path: Path, name: str) -> None:
    data = XES.encode()
    path = _write(tmp_path, name, gzip.compress(data) if name.endswith(".gz") else data)
    seen: list[tuple[int, int]] = []
    log = imp.read_xes(path, progress=lambda d, t: seen.append((d, t)))
    assert log.name == "garage"
    assert log.case_ids() == ["t0", "t1"] and log.traces() == [("wash",), ("repair", "wash")]
    frame = log.frame
    assert frame["start_timestamp"][1] == pd.Timestamp("2026-01-01 07:00", tz="UTC")
    assert pd.isna(frame["start_timestamp"][0])
    assert frame["timestamp"][1] == pd.Timestamp("2026-01-01 08:30", tz="UTC")
    assert frame["resource"][1] == "ann" and frame["hours"][1] == 2 and frame["cost"][1] == 99.5
    assert frame["express"][2] is True and frame["case:dealer"][1] == "north"
    assert "ignored" not in frame and "nested" not in frame
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_read_xes_malformed(tmp_path: Path) -> None:
    truncated = _write(tmp_path, "cut.xes", XES[: XES.index("<trace>", 400) + 40])
    with pytest.raises(ServiceError) as info:
        imp.read_xes(truncated)
    assert info.value.code is ErrorCode.INVALID_INPUT and info.value.details["line"] > 20
    cut_gz = _write(tmp_path, "cut.xes.gz", gzip.compress(XES.encode())[:200])
    with pytest.raises(ServiceError) as gz:
        imp.read_xes(cut_gz)
    assert gz.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError) as empty:
        imp.read_xes(_write(tmp_path, "e.xes", ""))
    assert "empty" in empty.value.message
    no_time = XES.replace('<date key="time:timestamp" value="2026-01-02T08:00:00Z"/>', "")
    with pytest.raises(ServiceError) as stamp:
        imp.read_xes(_write(tmp_path, "n.xes", no_time))
    assert stamp.value.details == {"case": "t0", "event": 2, "attribute": "time:timestamp"}
    bad_date = XES.replace("2026-01-02T08:00:00Z", "someday")
    with pytest.raises(ServiceError) as date:
        imp.read_xes(_write(tmp_path, "d.xes", bad_date))
    assert date.value.details["attribute"] == "time:timestamp"
    with pytest.raises(ServiceError) as other:
        imp.read_xes(_write(tmp_path, "o.xes", "<html><body/></html>"))
    assert "not an XES log" in other.value.message


def test_read_xes_cancel(tmp_path: Path) -> None:
    trace = '<trace><string key="concept:name" value="t"/></trace>'
    path = _write(tmp_path, "many.xes", f"<log>{trace * 2500}</log>")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ServiceError) as info:
        imp.read_xes(path, cancel=cancel)
    assert info.value.code is ErrorCode.CANCELLED


def test_read_parquet_detects_and_rejects(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "case id": ["1", "1"],
            "activity": ["a", "b"],
            "timestamp": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 09:00"]),
        }
    )
    path = tmp_path / "l.parquet"
    frame.to_parquet(path)
    assert imp.read_parquet(path).traces() == [("b", "a")]
    with pytest.raises(ServiceError) as bad:
        imp.read_parquet(_write(tmp_path, "x.parquet", b"not parquet at all"))
    assert bad.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError) as unknown:
        imp.read_parquet(path, {"case": "case id", "activity": "activity", "when": "x"})
    assert unknown.value.code is ErrorCode.INVALID_INPUT


async def test_runs_as_event_log(tmp_path: Path) -> None:
    from sqlalchemy import insert

    from auterity_desktop.core.db import Database
    from auterity_desktop.services.workflows.models import (
        NodeRunRow,
        RunRow,
        WorkflowRow,
        WorkflowVersionRow,
    )

    database = Database(f"sqlite:///{tmp_path / 'runs.db'}")
    await database.initialize()
    document = {"nodes": [{"id": "n1", "type": "http", "name": "Fetch"},
                          {"id": "n2", "type": "email", "name": "Notify"}]}  # fmt: skip
    try:
        async with database.begin() as conn:
            await conn.execute(insert(WorkflowRow).values(
                id="w1", name="Daily", description="", current_version=1, created_at=0.0,
                updated_at=0.0, created_by="u", deleted=False))  # fmt: skip
            await conn.execute(insert(WorkflowVersionRow).values(
                workflow_id="w1", version=1, document=document, saved_at=0.0,
                saved_by="u"))  # fmt: skip
            for run, created, status in (("r1", 1000.0, "succeeded"), ("r2", 5000.0, "failed")):
                await conn.execute(insert(RunRow).values(
                    id=run, workflow_id="w1", version=1, status=status, params={},
                    created_by="u", created_at=created))  # fmt: skip
            nodes = [("r1", "n1", "succeeded", 1001.0, 1003.0),
                     ("r1", "n2", "succeeded", 1003.0, 1004.5),
                     ("r2", "n1", "failed", 5001.0, 5002.0),
                     ("r2", "n2", "skipped", None, 5002.0)]  # fmt: skip
            for run, node, status, started, finished in nodes:
                await conn.execute(insert(NodeRunRow).values(
                    run_id=run, node_id=node, status=status, started_at=started,
                    finished_at=finished))  # fmt: skip
        log = await imp.runs_as_event_log(database)
        assert log.case_ids() == ["r1", "r2"]
        assert log.traces() == [("Fetch", "Notify"), ("Fetch",)]  # skipped nodes are no events
        frame = log.frame
        assert list(frame["resource"]) == ["http", "email", "http"]
        assert frame["start_timestamp"][1] == pd.Timestamp(1003.0, unit="s", tz="UTC")
        assert frame["timestamp"][1] == pd.Timestamp(1004.5, unit="s", tz="UTC")
        assert list(frame["case:status"]) == ["succeeded", "succeeded", "failed"]
        assert set(frame["case:workflow"]) == {"Daily"}
        recent = await imp.runs_as_event_log(database, since=2000.0, workflow_id="w1")
        assert recent.case_ids() == ["r2"]
        assert (await imp.runs_as_event_log(database, until=0.0)).n_events == 0
    finally:
        await database.cleanup()


def test_read_parquet_in_batches_reports_progress_and_cancels(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "case": [str(i // 3) for i in range(30)],
            "activity": ["a", "b", "c"] * 10,
            "timestamp": pd.date_range("2026-01-01", periods=30, freq="h"),
        }
    )
    path = tmp_path / "batches.parquet"
    frame.to_parquet(path)
    seen: list[tuple[int, int]] = []
    log = imp.read_parquet(path, progress=lambda done, total: seen.append((done, total)),
                           batch_rows=8)  # fmt: skip
    assert log.n_events == 30 and log.n_cases == 10
    assert seen == [(8, 30), (16, 30), (24, 30), (30, 30)]
    cancel = threading.Event()

    def stop_after_first(done: int, total: int) -> None:
        cancel.set()

    with pytest.raises(ServiceError) as info:
        imp.read_parquet(path, progress=stop_after_first, cancel=cancel, batch_rows=8)
    assert info.value.code is ErrorCode.CANCELLED
