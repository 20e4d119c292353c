"""The tables beside the process map: variants, bottlenecks, conformance and the cases of a
clicked path.

Each view takes the service's JSON-ready result as it is (``variants``, ``performance``,
``conformance``, ``edge_cases``) so the page only routes results; the tables sort through
``SortRole`` (counts as numbers, durations as seconds) and show an empty state with the
next step instead of a blank grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QItemSelection, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.models.process_map_model import human_duration
from auterity_desktop.ui.models.rows_model import Index, RowsTableModel, SortRole
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.table_views import sortable_table, stacked

ARROW = " → "


class DictRowsModel(RowsTableModel):
    """Rows of dicts; ``columns`` say per column how to show a row and how to sort it."""

    columns: tuple[tuple[str, Any, Any], ...] = ()  # (header, text(row), sort value(row))

    def __init__(self) -> None:
        super().__init__()
        self.headers = tuple(c[0] for c in self.columns)
        self._rows: list[dict[str, Any]] = []

    def set_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = [dict(r) for r in rows]
        self.endResetModel()

    def row(self, index: int) -> dict[str, Any]:
        return self._rows[index]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        _header, text, sort = self.columns[index.column()]
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return text(row)
        if role == SortRole:
            return sort(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(sort(row), int | float):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def _seconds(key: str) -> Any:
    return lambda r: human_duration(r.get(key))


def _sort(key: str) -> Any:
    return lambda r: r.get(key) or 0


class VariantsModel(DictRowsModel):
    columns = (
        ("#", lambda r: str(r["rank"]), lambda r: r["rank"]),
        ("Cases", lambda r: str(r["count"]), lambda r: r["count"]),
        ("Share", lambda r: _pct(r.get("share")), lambda r: float(r.get("share") or 0)),
        ("Length", lambda r: str(len(r["activities"])), lambda r: len(r["activities"])),
        (
            "Activities",
            lambda r: ARROW.join(r["activities"]),
            lambda r: ARROW.join(r["activities"]),
        ),
    )


class BottleneckModel(DictRowsModel):
    columns = (
        ("From", lambda r: r["source"], lambda r: r["source"]),
        ("To", lambda r: r["target"], lambda r: r["target"]),
        ("Times", lambda r: str(r["count"]), lambda r: r["count"]),
        ("Mean", _seconds("mean_seconds"), _sort("mean_seconds")),
        ("Median", _seconds("median_seconds"), _sort("median_seconds")),
        ("Total", _seconds("total_seconds"), _sort("total_seconds")),
    )  # fmt: skip


class TraceModel(DictRowsModel):
    columns = (
        ("Case", lambda r: str(r["case"]), lambda r: str(r["case"])),
        ("Fitness", lambda r: f"{float(r['fitness']):.3f}", lambda r: float(r["fitness"])),
        ("Missing tokens", lambda r: str(r.get("missing", "")), _sort("missing")),
        ("Remaining tokens", lambda r: str(r.get("remaining", "")), _sort("remaining")),
    )  # fmt: skip


def _selected_row(table: QTableView) -> int | None:
    rows = table.selectionModel().selectedRows()
    if not rows:
        return None
    proxy = table.model()
    assert isinstance(proxy, QSortFilterProxyModel)
    return int(proxy.mapToSource(rows[0]).row())


def _select_source_row(table: QTableView, row: int) -> None:
    proxy = table.model()
    assert isinstance(proxy, QSortFilterProxyModel)
    index = proxy.mapFromSource(proxy.sourceModel().index(row, 0))
    table.selectRow(index.row())
    table.scrollTo(index)


def _empty(title: str, text: str) -> EmptyStateWidget:
    empty = EmptyStateWidget()
    empty.set_text(title, text)
    return empty


def _case_list(name: str, accessible: str) -> QListWidget:
    """Case ids flow in columns across the width: they are short, and there may be hundreds."""
    cases = QListWidget()
    cases.setObjectName(name)
    cases.setAccessibleName(accessible)
    cases.setFlow(QListView.Flow.LeftToRight)
    cases.setWrapping(True)
    cases.setResizeMode(QListView.ResizeMode.Adjust)
    cases.setUniformItemSizes(True)
    cases.setSpacing(2)
    cases.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    return cases


def _caption(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("PageSubtitle")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class VariantsView(QWidget):
    """The variants, most frequent first; selecting one lists its cases below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = VariantsModel()
        self.table = sortable_table("VariantTable", self.model, accessible="Variants")
        self.table.setColumnWidth(0, 40)
        self.table.setColumnWidth(1, 60)
        self.table.setColumnWidth(2, 64)
        self.table.setColumnWidth(3, 56)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = _empty("No variants", "Open an event log to see its variants.")
        self.stack = stacked(self.table, self.empty)
        self.stack.setCurrentWidget(self.empty)
        self.summary = _caption()
        self.cases_label = _caption("Select a variant to list its cases.")
        self.cases = _case_list("VariantCases", "Cases of the selected variant")
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.cases_label)
        below_layout.addWidget(self.cases, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.stack)
        splitter.addWidget(below)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([320, 140])
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    def show_variants(self, variants: Sequence[Mapping[str, Any]], cases: int | None) -> None:
        rows = [{"rank": i + 1, **v} for i, v in enumerate(variants)]
        self.model.set_rows(rows)
        self.stack.setCurrentWidget(self.table if rows else self.empty)
        self.cases.clear()
        self.cases_label.setText("Select a variant to list its cases.")
        total = f" of {cases} cases" if cases is not None else ""
        top = sum(r["count"] for r in rows[:1])
        self.summary.setText(
            f"{len(rows)} variant{'' if len(rows) == 1 else 's'}{total}"
            + (f" · the most frequent covers {top} case{'' if top == 1 else 's'}" if rows else "")
        )

    def select_variant(self, rank: int) -> None:
        _select_source_row(self.table, rank - 1)

    def _selected(self, _s: QItemSelection, _d: QItemSelection) -> None:
        row = _selected_row(self.table)
        self.cases.clear()
        if row is None:
            return
        variant = self.model.row(row)
        ids = [str(c) for c in variant.get("cases", [])]
        self.cases.addItems(ids)
        more = variant["count"] - len(ids)
        self.cases_label.setText(
            f"Variant #{variant['rank']}: {variant['count']} case"
            f"{'' if variant['count'] == 1 else 's'}"
            + (f" (first {len(ids)} listed)" if more > 0 else "")
        )

    def case_ids(self) -> list[str]:
        return [self.cases.item(i).text() for i in range(self.cases.count())]


class BottlenecksView(QWidget):
    """Paths by the total time spent on them; selecting one selects it on the map."""

    sig_selected = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = BottleneckModel()
        self.table = sortable_table(
            "BottleneckTable", self.model, sort_column=5, descending=True, accessible="Bottlenecks"
        )
        for column, width in enumerate((120, 120, 56, 70, 70, 70)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = _empty(
            "No bottlenecks", "Open an event log with timestamps to see where time goes."
        )
        self.stack = stacked(self.table, self.empty)
        self.stack.setCurrentWidget(self.empty)
        self.summary = _caption()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.stack, 1)

    def show_performance(self, performance: Mapping[str, Any]) -> None:
        rows = sorted(
            performance.get("bottlenecks", []),
            key=lambda b: -(b.get("total_seconds") or 0.0),
        )
        self.model.set_rows(rows)
        self.stack.setCurrentWidget(self.table if rows else self.empty)
        durations = performance.get("case_durations") or {}
        if durations.get("cases"):
            self.summary.setText(
                f"{durations['cases']} cases · median {human_duration(durations.get('median'))}"
                f" · mean {human_duration(durations.get('mean'))} · longest "
                f"{human_duration(durations.get('max'))}. Paths by total time spent on them."
            )
        else:
            self.summary.setText("")

    def order(self) -> list[tuple[str, str]]:
        """The rows as shown (the table sorts them)."""
        proxy = self.table.model()
        return [
            (
                str(proxy.index(r, 0).data()),
                str(proxy.index(r, 1).data()),
            )
            for r in range(proxy.rowCount())
        ]

    def select(self, row: int) -> None:
        self.table.selectRow(row)

    def _selected(self, _s: QItemSelection, _d: QItemSelection) -> None:
        row = _selected_row(self.table)
        if row is not None:
            item = self.model.row(row)
            self.sig_selected.emit(str(item["source"]), str(item["target"]))


class ConformanceView(QWidget):
    """Fitness and precision of the log on a Petri net, and the cases that do not fit."""

    sig_check = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check_button = QPushButton("Check against &model…")
        self.check_button.setObjectName("CheckModelButton")
        self.check_button.setToolTip(
            "Replay the log on a Petri net (.pnml) and show where it deviates"
        )
        self.check_button.clicked.connect(self.sig_check)
        self.model_label = _caption("No model checked yet.")
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (key, title) in enumerate(
            (("fitness", "Fitness"), ("precision", "Precision"), ("fitting", "Fitting cases"),
             ("deviating", "Deviating paths"))
        ):  # fmt: skip
            name = QLabel(title)
            name.setObjectName("PageSubtitle")
            value = QLabel("–")
            value.setObjectName(f"Conformance_{key}")
            font = value.font()
            font.setPointSizeF(font.pointSizeF() * 1.4)
            font.setBold(True)
            value.setFont(font)
            grid.addWidget(name, 0, i)
            grid.addWidget(value, 1, i)
            self.values[key] = value
        self.model = TraceModel()
        self.table = sortable_table(
            "UnfitTable", self.model, sort_column=1, accessible="Unfit cases"
        )
        self.table.horizontalHeader().setStretchLastSection(True)
        self.empty = _empty(
            "No conformance check yet",
            "Press “Check against model…” and choose a Petri net (.pnml) — for example one "
            "exported from a reference log — to see which cases deviate from it.",
        )
        self.stack = stacked(self.table, self.empty)
        self.stack.setCurrentWidget(self.empty)
        self.deviating_label = _caption()
        layout = QVBoxLayout(self)
        layout.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.model_label)
        layout.addLayout(grid)
        layout.addWidget(self.deviating_label)
        layout.addWidget(self.stack, 1)
        self.result: Mapping[str, Any] | None = None

    def clear(self) -> None:
        self.result = None
        self.model.set_rows([])
        for value in self.values.values():
            value.setText("–")
        self.model_label.setText("No model checked yet.")
        self.deviating_label.setText("")
        self.stack.setCurrentWidget(self.empty)

    def show_result(self, result: Mapping[str, Any], model_name: str) -> None:
        self.result = result
        self.model_label.setText(f"Model: {model_name}")
        self.values["fitness"].setText(f"{float(result.get('fitness') or 0):.3f}")
        precision = result.get("precision")
        self.values["precision"].setText("–" if precision is None else f"{float(precision):.3f}")
        share = result.get("percentage_of_fitting_traces")
        if share is not None and float(share) > 1.0:  # pm4py gives a percentage
            share = float(share) / 100.0
        self.values["fitting"].setText(_pct(share))
        deviating = list(result.get("deviating_edges") or [])
        self.values["deviating"].setText(str(len(deviating)))
        self.deviating_label.setText(
            "Deviating paths (dashed on the map): "
            + ", ".join(f"{d['source']} → {d['target']} ({d['count']})" for d in deviating[:8])
            + (" …" if len(deviating) > 8 else "")
            if deviating
            else "Every path in the log is allowed by the model."
        )
        traces = [t for t in result.get("traces") or [] if not t.get("is_fit", False)]
        if not traces and result.get("unfit_case_ids"):
            traces = [
                {"case": c, "fitness": 0.0, "missing": None, "remaining": None}
                for c in result["unfit_case_ids"]
            ]
        self.model.set_rows(traces)
        self.empty.set_text("All cases fit", "Every case replays on the model without deviation.")
        self.stack.setCurrentWidget(self.table if traces else self.empty)

    def unfit_cases(self) -> list[str]:
        return [str(self.model.row(i)["case"]) for i in range(self.model.rowCount())]


class EdgeCasesView(QWidget):
    """The cases in which one activity directly follows another (a clicked path)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _caption("Click a path on the map to list the cases that take it.")
        self.list = _case_list("EdgeCaseList", "Cases of the selected path")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.edge: tuple[str, str] | None = None

    def loading(self, source: str, target: str) -> None:
        self.edge = (source, target)
        self.list.clear()
        self.title.setText(f"{source} → {target}: finding its cases…")

    def show_cases(
        self, source: str, target: str, cases: Sequence[Any], edge: Mapping[str, Any] | None
    ) -> None:
        self.edge = (source, target)
        self.list.clear()
        self.list.addItems([str(c) for c in cases])
        detail = ""
        if edge:
            detail = f" · {edge.get('count')} times, mean {human_duration(edge.get('mean'))}"
        self.title.setText(
            f"{source} → {target}: {len(cases)} case{'' if len(cases) == 1 else 's'}{detail}"
        )

    def case_ids(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def clear(self) -> None:
        self.edge = None
        self.list.clear()
        self.title.setText("Click a path on the map to list the cases that take it.")
