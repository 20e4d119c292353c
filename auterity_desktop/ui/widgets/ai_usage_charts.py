"""The AI page's usage charts: requests, tokens and cost per hour or day, one line per
deployment, drawn with the dashboard's ``ChartWidget`` (pyqtgraph; this module is imported
only when the Usage tab is first shown).

Buckets without calls count as zero, so a quiet hour reads as a dip to nothing rather than
a gap, and a single call still shows as a spike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QWidget

from auterity_desktop.ui.models.ai_table_models import count, money
from auterity_desktop.ui.widgets.chart_series import Unit
from auterity_desktop.ui.widgets.chart_widget import ChartWidget

# chart key → (title, unit, value of a usage row)
CHARTS: tuple[tuple[str, str, Unit], ...] = (
    ("requests", "Requests", Unit("", 1.0, 0)),
    ("tokens", "Tokens (in + out)", Unit("", 1.0, 0)),
    ("cost", "Cost", Unit("", 1.0, 4)),
)


def _row_value(row: Any, key: str) -> float:
    if key == "requests":
        return float(row.requests)
    if key == "tokens":
        return float(row.input_tokens + row.output_tokens)
    return float(row.cost)


def money_ticks(values: list[float], _scale: float, spacing: float) -> list[str]:
    """Tick labels of the cost axis: "$0.00005" rather than "5e-05"."""
    digits = max(2, -math.floor(math.log10(spacing))) if spacing > 0 else 2
    return ["$0" if v == 0 else f"${v:,.{digits}f}" for v in values]


def count_ticks(values: list[float], _scale: float, _spacing: float) -> list[str]:
    """Tick labels of the count axes: whole numbers only (no "0.5 requests")."""
    return [f"{v:,.0f}" if float(v).is_integer() else "" for v in values]


def deployment_label(row: Any) -> str:
    return str(row.deployment) or "refused (no deployment)"


def bucket_series(
    rows: Sequence[Any], key: str, since: float, until: float, bucket: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per deployment: bucket middles over [since, until) and the summed values (0 when
    a bucket has no row)."""
    first = math.floor(since / bucket) * bucket
    n = max(1, math.ceil((until - first) / bucket))
    starts = first + bucket * np.arange(n)
    result: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for row in rows:
        name = deployment_label(row)
        if name not in result:
            result[name] = (starts + bucket / 2, np.zeros(n))
        slot = int((row.start - first) // bucket)
        if 0 <= slot < n:
            result[name][1][slot] += _row_value(row, key)
    return result


class UsageChartsWidget(QWidget):
    def __init__(self, colours: Mapping[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts: dict[str, ChartWidget] = {}
        self.totals: dict[str, float] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for key, title, unit in CHARTS:
            chart = ChartWidget(title, colours)
            chart.setObjectName("DashboardChart")
            chart.menu_button.hide()  # nothing to configure: the page's range applies
            chart.set_unit(unit)
            chart.unit_label.setText("")
            chart.setAccessibleName(f"{title} per bucket")
            axis = chart.plot.getPlotItem().getAxis("left")
            if key == "cost":
                axis.tickStrings = money_ticks  # type: ignore[method-assign]
                axis.setWidth(66)
                axis.setStyle(maxTextLevel=0)  # label the major ticks only
            else:
                axis.tickStrings = count_ticks  # type: ignore[method-assign]
            self.charts[key] = chart
            layout.addWidget(chart, 1)

    def apply_colours(self, colours: Mapping[str, str]) -> None:
        for chart in self.charts.values():
            chart.apply_colours(colours)

    def show_usage(
        self, rows: Sequence[Any], since: float, until: float, bucket: float, per: str
    ) -> None:
        names = sorted({deployment_label(r) for r in rows})
        for key, title, _unit in CHARTS:
            chart = self.charts[key]
            series = bucket_series(rows, key, since, until, bucket)
            chart.set_curves([(name, name) for name in names])
            chart.clear_data()
            total = 0.0
            for name in names:
                t, v = series[name]
                chart.set_history(name, t, v)
                total += float(v.sum())
            self.totals[key] = total
            shown = money(total) if key == "cost" else count(total)
            chart.set_title(f"{title} per {per}")
            chart.unit_label.setText(f" · {shown} in total")
            chart.set_window(since, until)
            chart.redraw()
