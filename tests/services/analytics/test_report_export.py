"""Report exports: each format read back and checked for its content, hostile group values
kept inert, and unknown suffixes refused."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics import report_export
from auterity_desktop.services.analytics.report_export import export_report, format_value
from auterity_desktop.services.analytics.reports import ReportResult, build_report

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil","click")'


@pytest.fixture
def result() -> ReportResult:
    jobs = pd.DataFrame(
        {
            "shop": ["north", "north", "south", HOSTILE, FORMULA, None],
            "labor_hours": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "rate": [10, 10, 20, -20, 30, 1],
        }
    )
    return build_report(
        jobs,
        {
            "title": "Revenue & <hours>",
            "metrics": [
                {"name": "revenue", "expression": "labor_hours * rate"},
                {"name": "jobs", "expression": "1", "aggregate": "count"},
            ],
            "filters": [{"column": "labor_hours", "op": ">", "value": 0}],
            "groupBy": ["shop"],
        },
    )


def pdf_text(data: bytes) -> str:
    """The page content streams, inflated: enough to find the text fpdf2 wrote."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            chunks.append(match.group(1).decode("latin-1"))
    return "\n".join(chunks)


def test_csv_round_trips_through_pandas(result: ReportResult, tmp_path: Path) -> None:
    written = export_report(result, tmp_path / "report.csv")
    assert (
        written["format"] == "csv" and written["bytes"] == (tmp_path / "report.csv").stat().st_size
    )
    back = pd.read_csv(tmp_path / "report.csv", keep_default_na=False)
    assert list(back.columns) == ["shop", "revenue", "jobs"]
    # rows sort by shop: "<script…" < "=HYP…" < "north" < "south", the empty key last
    assert list(back["shop"]) == [HOSTILE, "'" + FORMULA, "north", "south", "", "Total"]
    assert list(back["revenue"]) == [-80.0, 150.0, 30.0, 60.0, 6.0, 166.0]
    assert list(back["jobs"]) == [1, 1, 2, 1, 1, 6]


def test_xlsx_reads_back_with_text_kept_as_text(result: ReportResult, tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    assert export_report(result, path)["format"] == "xlsx"
    table = pd.read_excel(path, sheet_name="Report")
    assert list(table.columns) == ["shop", "revenue", "jobs"]
    assert list(table["revenue"]) == [-80.0, 150.0, 30.0, 60.0, 6.0, 166.0]
    assert table["shop"].iloc[-1] == "Total" and pd.isna(table["shop"].iloc[-2])
    book = openpyxl.load_workbook(path)
    formula_cell = book["Report"]["A3"]
    assert formula_cell.value == FORMULA and formula_cell.data_type == "s"  # not a formula
    assert book["Report"]["A7"].font.bold
    definition = [[c.value for c in row] for row in book["Definition"].iter_rows()]
    assert ["revenue", "labor_hours * rate", None, None] in definition
    assert ["labor_hours", ">", "0", None] in definition
    assert len(book["Charts"]._charts) == 2


def test_html_escapes_everything_and_has_a_chart_per_metric(
    result: ReportResult, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    export_report(result, path)
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page  # only their escaped forms
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<title>Revenue &amp; &lt;hours&gt;</title>" in page
    assert page.count("<svg") == 2
    assert "default-src 'none'" in page  # no script could run even if one slipped in
    assert '<td class="n">-80</td>' in page and "<td>Total</td>" in page
    assert "<strong>revenue</strong>: sum of <code>labor_hours * rate</code>" in page
    # a negative bar is drawn in red, left of the zero line
    assert 'fill="#dc2626"' in report_export.chart_svg(result, "revenue")


def test_html_of_an_ungrouped_report_shows_the_value(tmp_path: Path) -> None:
    single = build_report(
        pd.DataFrame({"x": [1.5, 2.25]}), {"metrics": [{"name": "total", "expression": "x"}]}
    )
    export_report(single, tmp_path / "single.html")
    page = (tmp_path / "single.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and ">3.75</text>" in page


def test_pdf_has_the_table_and_the_charts(result: ReportResult, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    export_report(result, path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in (
        "(Revenue & <hours>)",
        "(north)",
        "(south)",
        "(Total)",
        "(166)",
        "(-80)",
        "(revenue)",
        "(jobs)",
        "(\\(empty\\))",
    ):
        assert expected in text, expected
    assert text.count(" re f") + text.count(" re F") >= 10  # filled bars of the two charts


def test_pdf_survives_text_outside_latin1(tmp_path: Path) -> None:
    frame = pd.DataFrame({"shop": ["Zürich – 東京"], "x": [1]})
    report = build_report(
        frame,
        {"title": "Ünïcode ✓", "groupBy": ["shop"], "metrics": [{"name": "x", "expression": "x"}]},
    )
    export_report(report, tmp_path / "u.pdf")
    text = pdf_text((tmp_path / "u.pdf").read_bytes())
    assert "(Z\xfcrich - ??)" in text and "(\xdcn\xefcode ?)" in text


def test_unknown_suffix_and_bad_input(result: ReportResult, tmp_path: Path) -> None:
    for name in ("report.docx", "report", "report.csv.txt"):
        with pytest.raises(ServiceError) as info:
            export_report(result, tmp_path / name)
        assert info.value.code is ErrorCode.INVALID_INPUT
    assert not list(tmp_path.iterdir())
    with pytest.raises(ServiceError) as not_result:
        export_report({"rows": []}, tmp_path / "x.csv")  # type: ignore[arg-type]
    assert not_result.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError) as missing_dir:
        export_report(result, tmp_path / "no" / "such" / "dir.csv")
    assert missing_dir.value.code is ErrorCode.INVALID_INPUT


def test_value_formatting() -> None:
    assert [format_value(v) for v in (None, True, 1234567, 2.0, 1234.5678, 0.012345)] == [
        "-",
        "yes",
        "1,234,567",
        "2",
        "1,234.57",
        "0.0123",
    ]
