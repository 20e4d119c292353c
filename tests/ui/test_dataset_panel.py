"""The Data sets panel in the real window: opening files in a worker thread, the lazy table,
sorting, column info, grouping and pivoting with a chart, insights, the report export and
how bad files and bad groupings are shown (a message, never a crash dialog)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QModelIndex, Qt

from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.ui.widgets.dataset_panel import DatasetsPanel


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def panel_in(app: Any, qtbot: Any) -> DatasetsPanel:
    """The Analysis page's panel, where a user finds it: a free-standing panel would
    outlive the window it belongs to and be torn down apart from it."""
    page = app.window.show_page("analysis")
    page.tabs.setCurrentWidget(page.datasets)
    app.window.resize(1280, 800)
    panel: DatasetsPanel = page.datasets
    assert panel.isVisible()
    return panel


def idle(app: Any, panel: DatasetsPanel) -> None:
    app.until(lambda: not panel.busy)


def service_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dept": ["service", "service", "parts", "parts", "body", "service"],
            "advisor": ["ann", "bob", "ann", "ann", "bob", "bob"],
            "revenue": [150.0, 220.0, 80.0, 95.0, 900.0, 410.0],
        }
    )


def cell(model: Any, row: int, column: int) -> str:
    return str(model.index(row, column).data())


def test_open_csv_shows_a_lazy_table_and_column_info(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    assert panel.stack.currentWidget() is panel.empty
    rows = 20_000
    frame = pd.DataFrame(
        {
            "ro": [f"RO-{i:05d}" for i in range(rows)],
            "hours": np.arange(rows) % 7 + 0.5,
            "tech": np.where(np.arange(rows) % 10 == 0, None, "ann"),
        }
    )
    path = tmp_path / "ros.csv"
    frame.to_csv(path, index=False, sep=";")
    panel.open_dataset(path)
    assert panel.loading and panel.progress.isVisible() and panel.cancel_button.isVisible()
    idle(app, panel)
    assert panel.frame is not None and len(panel.frame) == rows
    assert panel.stack.currentWidget() is panel.tabs
    assert "20,000 rows × 3 columns" in panel.source_label.text()
    assert not panel.progress.isVisible() and not panel.cancel_button.isVisible()

    model = panel.model
    assert model.total_rows == rows
    assert 0 < model.rowCount() < rows  # lazy: one page only
    assert model.canFetchMore(QModelIndex())
    before = model.rowCount()
    model.fetchMore(QModelIndex())
    assert model.rowCount() == before + model.page_rows
    assert cell(model, 0, 0) == "RO-00000" and cell(model, 1, 1) == "1.5"
    assert cell(model, 0, 2) == ""  # missing reads empty
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == rows

    info = {c.name: c for c in panel.columns_model.columns}
    assert info["tech"].missing == rows // 10 and info["tech"].distinct == 1
    assert info["hours"].distinct == 7
    assert panel.columns_model.rowCount() == 3
    assert not app.crash.dialogs


def test_sorting_happens_off_the_gui_thread_and_keeps_loaded_rows(
    qtbot: Any, make_app: Any
) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    frame = pd.DataFrame({"n": np.arange(5_000)[::-1] % 1000, "k": np.arange(5_000)})
    panel.set_frame(frame, "numbers.csv")
    loaded = panel.model.rowCount()
    assert loaded < len(frame)
    panel.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    idle(app, panel)
    assert panel.model.rowCount() == loaded
    assert [cell(panel.model, r, 0) for r in range(3)] == ["0", "0", "0"]
    panel.sort_by("k", ascending=False)
    idle(app, panel)
    assert cell(panel.model, 0, 1) == "4999"
    assert panel.model.headerData(0, Qt.Orientation.Vertical) == "5000"  # the file's row number


def test_group_by_result_and_chart(qtbot: Any, make_app: Any) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    panel.set_frame(service_frame(), "service.csv")
    assert panel.value_field.currentText() == "revenue"  # the first numeric column
    panel.set_group_by(["dept"], values="revenue", aggregate="sum")
    panel.run_group_by()
    idle(app, panel)
    result = panel.result
    assert result is not None
    assert dict(zip(result["dept"], result["sum(revenue)"], strict=True)) == {
        "body": 900.0,
        "parts": 175.0,
        "service": 780.0,
    }
    assert panel.result_model.rowCount() == 3
    assert cell(panel.result_model, 2, 1) == "780"
    assert panel.chart.showing_plot
    assert panel.chart.bar_count == 3 == len(result)
    assert panel.chart.labels == ["body", "parts", "service"]
    assert panel.chart.series == {"sum(revenue)": [900.0, 175.0, 780.0]}
    assert "3 groups" in panel.result_summary.text()

    panel.set_group_by(["dept"], column="advisor", values=None, aggregate="count")
    panel.run_group_by()
    idle(app, panel)
    pivot = panel.result.set_index("dept")
    assert pivot.loc["service", "bob"] == 2 and pivot.loc["parts", "bob"] == 0
    assert panel.chart.bar_count == 6  # three groups, two series (ann and bob)

    panel.chart_kind.setCurrentText("Line")
    assert panel.chart.kind == "line" and panel.chart.bar_count == 0
    assert not app.crash.dialogs


def test_bad_grouping_shows_a_message(qtbot: Any, make_app: Any) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    panel.set_frame(service_frame(), "service.csv")
    panel.set_group_by([], values="revenue", aggregate="sum")
    panel.run_group_by()
    idle(app, panel)
    assert panel.message.isVisible() and "row field" in panel.message.text()
    panel.set_group_by(["dept"], values="advisor", aggregate="mean")
    panel.run_group_by()
    idle(app, panel)
    assert "numeric" in panel.message.text()
    assert panel.result is None
    assert not app.crash.dialogs


def test_insights_find_an_obvious_trend(qtbot: Any, make_app: Any) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    days = pd.date_range("2024-01-01", periods=90, freq="D")
    noise = np.random.default_rng(7).normal(0, 2, size=90)
    frame = pd.DataFrame({"day": days, "ros": 40 + 0.8 * np.arange(90) + noise})
    panel.set_frame(frame, "daily.csv")
    panel.run_insights()
    idle(app, panel)
    assert panel.insight_count > 0
    kinds = {panel.insights_tree.topLevelItem(i).text(1) for i in range(panel.insight_count)}
    assert "trend" in kinds
    trend = next(i for i in panel.insight_report.insights if i.kind == "trend")
    assert trend.evidence["slope"] > 0 and trend.confidence > 0.99
    items = [panel.insights_tree.topLevelItem(i) for i in range(panel.insight_count)]
    row = next(item for item in items if item.text(1) == "trend")
    assert row.text(2) == "ros" and row.text(3) and row.text(4).endswith("%")
    assert "slope=" in row.text(5)
    assert "time column 'day'" in panel.insights_status.text()


def test_insights_without_numbers_is_a_message(qtbot: Any, make_app: Any) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    panel.set_frame(pd.DataFrame({"a": ["x", "y", "z"]}), "text.csv")
    panel.run_insights()
    idle(app, panel)
    assert panel.insight_count == 0
    assert panel.message.isVisible() and panel.message.text().startswith("Insights failed")
    assert panel.insights_button.isEnabled()
    assert not app.crash.dialogs


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", "not valid CSV"),
        ("empty.csv", b"", "empty"),
        ("broken.parquet", b"PAR1 garbage", "Parquet"),
        ("notes.json", b"{}", "not a data set"),
    ],
)
def test_bad_files_show_a_message_not_a_crash(
    qtbot: Any, make_app: Any, tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    path = tmp_path / name
    path.write_bytes(content)
    panel.open_dataset(path)
    app.until(lambda: not panel.loading)
    assert panel.message.isVisible()
    assert panel.message.text().startswith(f"Could not open {name}")
    assert words in panel.message.text()
    assert panel.frame is None and panel.stack.currentWidget() is panel.empty
    assert panel.open_button.isEnabled()
    assert not app.crash.dialogs


def test_a_bad_file_keeps_the_open_data_set(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    good = tmp_path / "good.parquet"
    service_frame().to_parquet(good)
    panel.open_dataset(good)
    idle(app, panel)
    assert panel.frame is not None and len(panel.frame) == 6
    panel.open_dataset(tmp_path / "missing.xlsx")
    app.until(lambda: not panel.loading)
    assert "No file" in panel.message.text()
    assert panel.frame is not None and "good.parquet" in panel.source_label.text()


def test_cancel_drops_the_load(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    path = tmp_path / "big.csv"
    pd.DataFrame({"a": np.arange(400_000), "b": np.arange(400_000)}).to_csv(path, index=False)
    panel.open_dataset(path)
    panel.cancel_loading()
    assert not panel.loading and not panel.progress.isVisible()
    assert "cancelled" in panel.message.text()
    app.until(lambda: app.tasks.active == 0)
    assert panel.frame is None  # a late result is dropped
    assert not app.crash.dialogs


def test_shortcut_and_button_open_the_file_dialog(
    qtbot: Any, make_app: Any, monkeypatch: Any
) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    asked: list[str] = []

    def dialog(*args: Any, **_kwargs: Any) -> tuple[str, str]:
        asked.append(args[1])
        return "", ""

    monkeypatch.setattr(
        "auterity_desktop.ui.widgets.dataset_panel.QFileDialog.getOpenFileName", dialog
    )
    panel.open_button.click()
    panel.shortcut.activated.emit()
    assert asked == ["Open data set", "Open data set"]
    assert panel.shortcut.key().toString() == "Ctrl+Shift+O"
    assert panel.frame is None and not panel.loading


def test_report_exports_the_grouping(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    panel.set_frame(service_frame(), "service.csv")
    assert not panel.report_button.isEnabled()
    panel.set_group_by(["dept"], values="revenue", aggregate="mean")
    panel.run_group_by()
    idle(app, panel)
    assert panel.report_button.isEnabled()
    target = tmp_path / "report.csv"
    panel.export_report(target)
    idle(app, panel)
    assert "Report saved" in panel.message.text()
    written = pd.read_csv(target)
    means = dict(zip(written["dept"], written["mean(revenue)"], strict=True))
    assert means["body"] == 900 and means["parts"] == 87.5 and means["service"] == 260
    assert (tmp_path / "report.csv").stat().st_size > 0
    xlsx = tmp_path / "report.xlsx"
    panel.export_report(xlsx)
    idle(app, panel)
    assert pd.read_excel(xlsx, sheet_name="Report")["mean(revenue)"].iloc[0] == 900
    exported = app.run(
        app.bridge.platform.audit.page(AuditFilter(action="analytics.report_exported"))
    )
    assert [e.details["format"] for e in exported.entries] == ["xlsx", "csv"]
    panel.export_report(tmp_path / "report.txt")
    idle(app, panel)
    assert panel.message.text().startswith("The report failed")
    assert not app.crash.dialogs


def test_the_consoles_runs_and_metrics_open_as_data_sets(qtbot: Any, make_app: Any) -> None:
    app = signed_in(make_app)
    panel = panel_in(app, qtbot)
    platform, me = app.bridge.platform, app.window.session.principal
    flow = {"name": "Lead follow-up", "nodes": [
        {"id": "t", "type": "manual_trigger", "name": "Start", "position": {"x": 0, "y": 0}},
        {"id": "l", "type": "log", "name": "Note", "position": {"x": 200, "y": 0}},
    ], "edges": [{"id": "e", "source": "t", "target": "l"}]}  # fmt: skip
    saved = app.run(platform.workflows.create(me, flow))
    for _ in range(2):
        run_id = app.run(platform.engine.execute_workflow(me, saved.id, {}))
        app.run(platform.engine.wait(run_id))
    panel.use_product_data("runs")
    idle(app, panel)
    assert panel.frame is not None and len(panel.frame) == 2
    assert set(panel.frame["status"]) == {"succeeded"} and "workflow runs" in (
        panel.source_label.text()
    )
    app.run(platform.performance.collect_metrics())
    panel.use_product_data("metrics")
    idle(app, panel)
    assert "auterity_process_cpu_ratio" in set(panel.frame["metric"])
    assert list(panel.frame.columns[:5]) == ["time", "metric", "labels", "kind", "samples"]
    assert not app.crash.dialogs
