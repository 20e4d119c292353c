"""The *Usage & spend* tab: a range and a bucket size, charts of requests, tokens and cost
by deployment, and a table of each deployment's latency, speed, errors and spend.

The charts (pyqtgraph) are built the first time there is something to draw, so opening the
AI page does not load the charting library. ``sig_window_changed`` asks the page to read
the usage again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.models.ai_table_models import DeploymentStatsTableModel, money
from auterity_desktop.ui.widgets.ai_table_view import KeyedTableView
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget

if TYPE_CHECKING:
    from auterity_desktop.ui.widgets.ai_usage_charts import UsageChartsWidget

HOUR, DAY = 3600.0, 86400.0
RANGES = (
    ("Last 24 hours", DAY, "hour"),
    ("Last 7 days", 7 * DAY, "hour"),
    ("Last 30 days", 30 * DAY, "day"),
    ("Last 90 days", 90 * DAY, "day"),
)
BUCKETS = (("By hour", "hour", HOUR), ("By day", "day", DAY))


class UsageView(QWidget):
    sig_window_changed = Signal()

    def __init__(
        self, colours: Callable[[], Mapping[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._colours = colours
        self.charts: UsageChartsWidget | None = None
        self.rows: list[Any] = []
        self.range_choice = QComboBox()
        self.range_choice.setAccessibleName("Range")
        self.range_choice.setToolTip("The stretch of time the charts and totals cover")
        for text, span, bucket in RANGES:
            self.range_choice.addItem(text, (span, bucket))
        self.range_choice.currentIndexChanged.connect(self._range_changed)
        self.bucket_choice = QComboBox()
        self.bucket_choice.setAccessibleName("Bucket")
        self.bucket_choice.setToolTip("Sum the calls per hour or per day")
        for text, key, _size in BUCKETS:
            self.bucket_choice.addItem(text, key)
        self.bucket_choice.currentIndexChanged.connect(lambda _i: self.sig_window_changed.emit())
        self.summary = QLabel("")
        self.summary.setObjectName("PageSubtitle")
        range_label = QLabel("Ra&nge:")
        range_label.setBuddy(self.range_choice)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(range_label)
        bar.addWidget(self.range_choice)
        bar.addWidget(self.bucket_choice)
        bar.addSpacing(12)
        bar.addWidget(self.summary, 1)

        self.charts_holder = QWidget()
        self.charts_holder.setMinimumHeight(220)
        QVBoxLayout(self.charts_holder).setContentsMargins(0, 0, 0, 0)
        self.empty = EmptyStateWidget()
        self.empty.set_text(
            "No calls in this range",
            "Calls from workflows, the playground and deployment tests show up here per hour "
            "or day, with their tokens and cost. Try a prompt on the Playground tab, or choose "
            "a longer range.",
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(self.charts_holder)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        self.stats_model = DeploymentStatsTableModel(colours)
        self.stats_table = KeyedTableView(
            "DeploymentStatsTable",
            self.stats_model,
            "Per deployment",
            (170, 80, 95, 95, 90, 80, 85, 110, 130),
        )
        self.stats_empty = QLabel("No deployment has been called yet.")
        self.stats_empty.setObjectName("PageSubtitle")
        self.stats_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stats_box = QGroupBox("Per deployment")
        stats_layout = QVBoxLayout(self.stats_box)
        stats_layout.addWidget(self.stats_table, 1)
        stats_layout.addWidget(self.stats_empty)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.stats_box)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([300, 190])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

    def window(self) -> tuple[float, float, str, float]:
        """(since, until, bucket name, bucket seconds): the range, ending with the bucket
        that holds now."""
        span, _default = self.range_choice.currentData()
        bucket = str(self.bucket_choice.currentData())
        size = next(s for _t, k, s in BUCKETS if k == bucket)
        until = (time.time() // size + 1) * size
        return until - span, until, bucket, size

    def _range_changed(self, _index: int) -> None:
        _span, bucket = self.range_choice.currentData()
        self.bucket_choice.blockSignals(True)
        self.bucket_choice.setCurrentIndex(self.bucket_choice.findData(bucket))
        self.bucket_choice.blockSignals(False)
        self.sig_window_changed.emit()

    def show_usage(
        self, rows: Sequence[Any], stats: Sequence[Any], window: tuple[float, float, str, float]
    ) -> None:
        since, until, bucket, size = window
        self.rows = list(rows)
        self.stats_table.set_rows(stats)
        self.stats_table.setVisible(bool(stats))
        self.stats_empty.setVisible(not stats)
        if stats:
            hours = stats[0].window_s / HOUR
            self.stats_box.setTitle(f"Per deployment · last {hours:g} hours")
        if rows:
            self._ensure_charts().show_usage(rows, since, until, size, bucket)
            self.stack.setCurrentWidget(self.charts_holder)
        else:
            self.stack.setCurrentWidget(self.empty)
        requests = sum(r.requests for r in rows)
        errors = sum(r.errors for r in rows)
        tokens = sum(r.input_tokens + r.output_tokens for r in rows)
        cost = sum(r.cost for r in rows)
        failed = f" ({errors:,} failed)" if errors else ""
        self.summary.setText(
            f"{requests:,} request{'' if requests == 1 else 's'}{failed} · {tokens:,} tokens · "
            f"{money(cost)} in this range"
        )

    def _ensure_charts(self) -> UsageChartsWidget:
        if self.charts is None:
            from auterity_desktop.ui.widgets.ai_usage_charts import UsageChartsWidget

            self.charts = UsageChartsWidget(self._colours())
            self.charts_holder.layout().addWidget(self.charts)
        return self.charts

    def apply_theme(self) -> None:
        if self.charts is not None:
            self.charts.apply_colours(self._colours())
