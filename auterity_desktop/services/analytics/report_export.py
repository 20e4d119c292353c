"""Export a ``ReportResult`` as CSV, Excel, HTML or PDF; the format is the file's suffix.

* **CSV** — the table for other programs: a header, one line per row and, for a grouped
  report, a last line whose first group column reads ``Total``. Text cells that a
  spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage return) get
  a leading apostrophe, because group values come from user data.
* **Excel (.xlsx)** — sheet *Report* holds the same table (header on row 1, so pandas reads
  it back as is), *Definition* the title, filters and metric expressions, and *Charts* a
  native bar chart per metric. Text is stored as text, never as a formula.
* **HTML** — one self-contained page: the table, one inline SVG bar chart per metric (or
  the single value when the report has no groups) and the definitions. Every piece of text
  is escaped, and a Content-Security-Policy that allows no script is the second line of
  defence against a hostile group value.
* **PDF** — the table and the same bar charts, drawn with fpdf2's primitives. The built-in
  PDF fonts cover Latin-1 only, so other characters print as ``?``.

Files are written to a temporary sibling and renamed, so a failed export never leaves half
a report behind.
"""

from __future__ import annotations

import csv
import html
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.reports import ReportResult

if TYPE_CHECKING:  # fpdf2 takes about a second to import: only when a PDF is written
    from fpdf import FPDF

FORMATS = (".csv", ".xlsx", ".html", ".pdf")
MAX_CHART_BARS = 40
TOTAL_LABEL = "Total"
EMPTY_LABEL = "(empty)"
MISSING = "-"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PDF_REPLACE = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
                              "…": "...", "€": "EUR", "•": "*", "\u00a0": " "})  # fmt: skip


def export_format(path: str | Path) -> str:
    """The export format by suffix, or ``INVALID_INPUT`` for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"{Path(path).name!r} has an unknown report format; use one of {', '.join(FORMATS)}",
            {"path": str(path), "allowed": list(FORMATS)},
        )
    return suffix


# -- shared formatting -----------------------------------------------------------------------
def format_value(value: Any) -> str:
    """A cell for people: thousands separators, two decimals, ``-`` for empty."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
    return str(value)


def group_label(result: ReportResult, row: dict[str, Any]) -> str:
    parts = [EMPTY_LABEL if row.get(c) is None else str(row.get(c)) for c in result.group_by]
    return " / ".join(parts)


def _cell(result: ReportResult, column: str, value: Any) -> str:
    """A table cell for people; an empty group key reads as in the charts."""
    if value is None and column in result.group_by:
        return EMPTY_LABEL
    return value if value == "" else format_value(value)


def _bars(result: ReportResult, metric: str) -> tuple[list[tuple[str, Any]], int]:
    """(label, value) for the first ``MAX_CHART_BARS`` rows, and how many rows there are."""
    rows = result.rows
    return [(group_label(result, r), r.get(metric)) for r in rows[:MAX_CHART_BARS]], len(rows)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, int | float) else None


def _scale(values: list[float | None]) -> tuple[float, float]:
    """The axis range, always including zero so bars start from a true baseline."""
    present = [v for v in values if v is not None]
    low, high = min([0.0, *present]), max([0.0, *present])
    return (low, high) if high > low else (low, low + 1.0)


def _table(result: ReportResult) -> tuple[list[str], list[list[Any]], list[Any] | None]:
    """Header, body rows and (for grouped reports) the totals row, as raw values."""
    header = result.columns
    body = [[row.get(c) for c in header] for row in result.rows]
    if not result.group_by:
        return header, body, None
    blanks = [""] * (len(result.group_by) - 1)
    totals = [TOTAL_LABEL, *blanks, *[result.totals.get(m) for m in result.metric_names]]
    return header, body, totals


# -- CSV ---------------------------------------------------------------------------------------
def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(result: ReportResult) -> bytes:
    header, body, totals = _table(result)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_csv_cell(c) for c in header])
    for line in [*body, *([totals] if totals else [])]:
        writer.writerow([_csv_cell(v) for v in line])
    return out.getvalue().encode("utf-8")


# -- Excel -------------------------------------------------------------------------------------
def _put(sheet: Any, row: int, column: int, value: Any, bold: bool = False) -> None:
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise take "=..." for a formula
    if bold:
        cell.font = Font(bold=True)


def to_xlsx(result: ReportResult) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.chart import BarChart, Reference  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    header, body, totals = _table(result)
    for j, name in enumerate(header, start=1):
        _put(sheet, 1, j, name, bold=True)
        sheet.column_dimensions[sheet.cell(row=1, column=j).column_letter].width = max(
            12, min(40, len(name) + 2)
        )
    for i, line in enumerate(body, start=2):
        for j, value in enumerate(line, start=1):
            _put(sheet, i, j, value)
    if totals:
        for j, value in enumerate(totals, start=1):
            _put(sheet, len(body) + 2, j, value if value != "" else None, bold=True)
    sheet.freeze_panes = "A2"

    about = book.create_sheet("Definition")
    lines: list[list[Any]] = [["Title", result.title],
                              ["Rows matched", result.matched_rows],
                              ["Rows in data", result.source_rows], [],
                              ["Metric", "Expression", "Aggregate", "Filter"]]  # fmt: skip
    lines += [[m.name, m.expression, m.aggregate or "", m.filter or ""] for m in result.metrics]
    lines += [[], ["Filter column", "Op", "Value"]]
    lines += [[f.column, f.op, str(f.to_dict().get("value", ""))] for f in result.filters]
    for i, line in enumerate(lines, start=1):
        for j, value in enumerate(line, start=1):
            _put(about, i, j, value, bold=j == 1)

    if result.group_by and result.rows:
        charts = book.create_sheet("Charts")
        _put(charts, 1, 1, "Group", bold=True)
        shown = result.rows[:MAX_CHART_BARS]
        for i, row in enumerate(shown, start=2):
            _put(charts, i, 1, group_label(result, row))
        for j, metric in enumerate(result.metric_names, start=2):
            _put(charts, 1, j, metric, bold=True)
            for i, row in enumerate(shown, start=2):
                _put(charts, i, j, _number(row.get(metric)))
            chart = BarChart()
            chart.title = metric
            chart.legend = None
            chart.add_data(Reference(charts, min_col=j, min_row=1, max_row=len(shown) + 1),
                           titles_from_data=True)  # fmt: skip
            chart.set_categories(Reference(charts, min_col=1, min_row=2, max_row=len(shown) + 1))
            charts.add_chart(chart, f"{charts.cell(row=1, column=len(header) + 3).column_letter}"
                                    f"{1 + (j - 2) * 16}")  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- HTML --------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _svg_value(metric: str, value: Any) -> str:
    text = format_value(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="90" role="img" '
        f'aria-label="{_e(metric)}: {_e(text)}"><rect width="640" height="90" rx="8" '
        f'fill="#f1f5f9"/><text x="24" y="58" font-size="36" font-weight="600" '
        f'fill="#1e3a8a">{_e(text)}</text></svg>'
    )


def chart_svg(result: ReportResult, metric: str) -> str:
    """A horizontal bar chart of ``metric`` across the groups (the value alone without
    groups), every label escaped."""
    if not result.group_by:
        return _svg_value(metric, result.totals.get(metric))
    bars, total = _bars(result, metric)
    values = [_number(v) for _, v in bars]
    low, high = _scale(values)
    label_w, plot_w, bar_h, top = 180, 360, 22, 10
    height = top * 2 + bar_h * max(1, len(bars))
    zero = label_w + plot_w * (0 - low) / (high - low)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" role="img" '
        f'aria-label="{_e(metric)} by {_e(", ".join(result.group_by))}">',
        f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - top}" stroke="#94a3b8"/>',
    ]
    for i, ((label, raw), value) in enumerate(zip(bars, values, strict=True)):
        y = top + i * bar_h
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"<title>{_e(label)}</title>{_e(short)}</text>"
        )
        if value is None:
            parts.append(f'<text x="{zero + 4:.1f}" y="{y + 15}" font-size="11">{MISSING}</text>')
            continue
        x = label_w + plot_w * (min(value, 0.0) - low) / (high - low)
        width = plot_w * abs(value) / (high - low)
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{bar_h - 6}" '
            f'fill="{"#2563eb" if value >= 0 else "#dc2626"}"/>'
            f'<text x="{label_w + plot_w + 6}" y="{y + 15}" font-size="11">'
            f"{_e(format_value(raw))}</text>"
        )
    parts.append("</svg>")
    if total > len(bars):
        parts.append(f'<p class="note">The first {len(bars)} of {total} groups.</p>')
    return "".join(parts)


_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#0f172a}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #cbd5e1;padding:4px 10px}
td.n{text-align:right}thead th{background:#e2e8f0}tfoot th,tfoot td{font-weight:700}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
.meta,.note{color:#475569}code{background:#f1f5f9;padding:0 3px}"""


def to_html(result: ReportResult) -> bytes:
    header, body, totals = _table(result)
    numeric = set(result.metric_names)

    def row(cells: list[Any], tag: str = "td") -> str:
        out = []
        for name, value in zip(header, cells, strict=True):
            css = ' class="n"' if name in numeric and tag == "td" else ""
            out.append(f"<{tag}{css}>{_e(_cell(result, name, value))}</{tag}>")
        return "<tr>" + "".join(out) + "</tr>"

    filters = "; ".join(
        f"{f.column} {f.op} {f.to_dict().get('value', '')}".strip() for f in result.filters
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_e(result.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(result.title)}</h1>",
        f'<p class="meta">{result.matched_rows:,} of {result.source_rows:,} rows'
        + (f"; filters: {_e(filters)}" if filters else "")
        + "</p>",
        *[f'<p class="note">{_e(n)}</p>' for n in result.notes],
        "<table><thead>" + row(header, "th") + "</thead><tbody>",
        *[row(line) for line in body],
        "</tbody>",
    ]
    if totals:
        parts.append("<tfoot>" + row(totals) + "</tfoot>")
    parts.append("</table>")
    for metric in result.metrics:
        parts.append(
            f"<figure><figcaption>{_e(metric.name)}</figcaption>"
            f"{chart_svg(result, metric.name)}</figure>"
        )
    parts.append("<h2>Definitions</h2><ul>")
    for metric in result.metrics:
        formula = f"<code>{_e(metric.expression)}</code>"
        if not _aggregating(metric.expression):
            formula = f"{_e(metric.aggregate or 'sum')} of {formula}"
        where = f" where <code>{_e(metric.filter)}</code>" if metric.filter else ""
        parts.append(f"<li><strong>{_e(metric.name)}</strong>: {formula}{where}</li>")
    parts.append("</ul></body></html>")
    return "\n".join(parts).encode("utf-8")


def _aggregating(expression: str) -> bool:
    from auterity_desktop.services.analytics.metric_expressions import parse_expression

    try:
        return parse_expression(expression).aggregated
    except ServiceError:
        return False


# -- PDF ---------------------------------------------------------------------------------------
def _latin1(text: Any) -> str:
    return str(text).translate(_PDF_REPLACE).encode("latin-1", "replace").decode("latin-1")


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Cut ``text`` to fit ``width`` (minus padding), marking the cut with '..'."""
    text = _latin1(text)
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "..") > width - 2:
        text = text[:-1]
    return text + ".."


def _pdf_table(pdf: FPDF, result: ReportResult) -> None:
    header, body, totals = _table(result)
    width = pdf.epw / max(1, len(header))
    numeric = set(result.metric_names)

    def line(cells: list[Any], style: str = "", fill: bool = False) -> None:
        pdf.set_font("Helvetica", style, 9)
        if pdf.get_y() + 7 > pdf.page_break_trigger:
            pdf.add_page()
        for name, value in zip(header, cells, strict=True):
            shown = str(value) if fill else _cell(result, name, value)
            align = "R" if name in numeric and not fill else "L"
            pdf.cell(width, 7, _fit(pdf, shown, width), border=1, align=align, fill=fill)
        pdf.ln(7)

    pdf.set_fill_color(226, 232, 240)
    line(list(header), "B", fill=True)
    for cells in body:
        line(cells)
    if totals:
        line(totals, "B")


def _pdf_chart(pdf: FPDF, result: ReportResult, metric: str) -> None:
    bars, total = _bars(result, metric) if result.group_by else ([], 0)
    bar_h = 6.0
    needed = 12 + (bar_h * max(1, len(bars)) if result.group_by else 16)
    if pdf.get_y() + needed > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, _fit(pdf, metric, pdf.epw), new_x="LMARGIN", new_y="NEXT")
    if not result.group_by:
        pdf.set_font("Helvetica", "B", 20)
        pdf.set_text_color(30, 58, 138)
        pdf.cell(0, 12, _latin1(format_value(result.totals.get(metric))),
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        pdf.set_text_color(0, 0, 0)
        return
    values = [_number(v) for _, v in bars]
    low, high = _scale(values)
    label_w, value_w = 50.0, 25.0
    plot_w = pdf.epw - label_w - value_w
    left = pdf.l_margin
    zero = left + label_w + plot_w * (0 - low) / (high - low)
    top = pdf.get_y()
    pdf.set_font("Helvetica", "", 8)
    for i, ((label, raw), value) in enumerate(zip(bars, values, strict=True)):
        y = top + i * bar_h
        pdf.set_xy(left, y)
        pdf.cell(label_w - 2, bar_h, _fit(pdf, label, label_w - 2), align="R")
        if value is not None:
            pdf.set_fill_color(*((37, 99, 235) if value >= 0 else (220, 38, 38)))
            x = left + label_w + plot_w * (min(value, 0.0) - low) / (high - low)
            pdf.rect(x, y + 1, max(plot_w * abs(value) / (high - low), 0.2), bar_h - 2, style="F")
        pdf.set_xy(left + label_w + plot_w + 1, y)
        pdf.cell(value_w - 1, bar_h, _fit(pdf, format_value(raw), value_w - 1))
    pdf.set_draw_color(148, 163, 184)
    pdf.line(zero, top, zero, top + bar_h * len(bars))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(left, top + bar_h * len(bars))
    if total > len(bars):
        pdf.cell(0, 6, f"The first {len(bars)} of {total} groups.", new_x="LMARGIN", new_y="NEXT")


def to_pdf(result: ReportResult) -> bytes:
    from fpdf import FPDF

    landscape = len(result.columns) > 6
    pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
    pdf.set_title(_latin1(result.title))
    pdf.set_creator("Auterity Desktop")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _fit(pdf, result.title, pdf.epw), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    meta = f"{result.matched_rows:,} of {result.source_rows:,} rows"
    for f in result.filters:
        meta += f"; {f.column} {f.op} {f.to_dict().get('value', '')}".rstrip()
    pdf.multi_cell(0, 5, _latin1(meta), new_x="LMARGIN", new_y="NEXT")
    for note in result.notes:
        pdf.multi_cell(0, 5, _latin1(note), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _pdf_table(pdf, result)
    for metric in result.metric_names:
        _pdf_chart(pdf, result, metric)
    return bytes(pdf.output())


# -- writing -----------------------------------------------------------------------------------
_WRITERS: dict[str, Callable[[ReportResult], bytes]] = {
    ".csv": to_csv,
    ".xlsx": to_xlsx,
    ".html": to_html,
    ".pdf": to_pdf,
}


def export_report(result: ReportResult, path: str | Path) -> dict[str, Any]:
    """Write ``result`` to ``path`` in the format of its suffix; answers the path, the
    format and the size in bytes."""
    kind = export_format(path)
    if not isinstance(result, ReportResult):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"result must be a ReportResult, not {type(result).__name__}",
            {"type": type(result).__name__},
        )
    data = _WRITERS[kind](result)
    target = Path(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"cannot write {target.name!r}: {exc.strerror or exc}",
            {"path": str(path)},
        ) from None
    return {"path": str(target), "format": kind.lstrip("."), "bytes": len(data)}
