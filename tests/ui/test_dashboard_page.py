"""The Dashboard on the real platform: KPI tiles after real runs, live values, switching
between live, stored and custom ranges, pause, export to PNG and CSV, a layout kept per
user, adding charts through the dialog, and a window that starts without pyqtgraph."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from auterity_desktop.services.workflows.message_triggers import queue_name
from auterity_desktop.ui.widgets.dashboard_layout import (
    ChartSpec,
    SeriesSpec,
    default_layout,
    load_layout,
)
from tests.ui.workflow_docs import chain, node

ROOT = Path(__file__).resolve().parents[2]


def divide_doc() -> dict[str, Any]:
    return chain(
        "Divide",
        node("start", "manual_trigger", "Start"),
        node("calc", "set_fields", "Calculate", fields={"share": "{{ 10 / $params.divisor }}"}),
        node("log", "log", "Log"),
    )


def signed_in(make_app: Any, username: str = "alice") -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin(username)
    return app


def dashboard(app: Any) -> Any:
    page = app.window.show_page("dashboard")
    app.until(lambda: page.grid is not None and not page._stale and not page.reload.busy)
    return page


def run_divisions(app: Any, *divisors: int) -> None:
    platform = app.bridge.platform
    me = app.window.session.principal
    workflow = app.run(platform.workflows.create(me, divide_doc()))
    for divisor in divisors:
        run_id = app.run(platform.engine.execute_workflow(me, workflow.id, {"divisor": divisor}))
        app.run(platform.engine.wait(run_id))


def chart(page: Any, title: str) -> Any:
    return next(c for c in page.grid.charts if c.title.text() == title)


def test_the_window_starts_without_pyqtgraph(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from auterity_desktop.config import load_settings\n"
        "from auterity_desktop.ui.main_window import MainWindow, window_state\n"
        "from auterity_desktop.ui.platform_bridge import PlatformBridge\n"
        "from auterity_desktop.ui.tasks import TaskRunner\n"
        "from auterity_desktop.ui.theme import ThemeManager\n"
        "settings, sources = load_settings()\n"
        "tasks = TaskRunner(print)\n"
        "window = MainWindow(settings, sources, ThemeManager(app),\n"
        "    PlatformBridge(settings, sources, tasks), tasks, window_state(settings))\n"
        "window.show()\n"
        "app.processEvents()\n"
        "print(window.current_page(), type(window.pages['dashboard']).__name__)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyqtgraph', 'numpy')))\n"
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "AUTERITY_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    page, modules = result.stdout.strip().splitlines()
    assert page == "dashboard DashboardPage"
    assert modules == "[]"


def test_kpi_tiles_show_todays_runs(make_app: Any) -> None:
    app = signed_in(make_app)
    page = dashboard(app)
    assert page.tiles.text("runs") in ("0", "–")
    run_divisions(app, 2, 5, 0)  # two succeed, dividing by zero fails
    app.run(app.bridge.platform.messages.declare_queue("crm.leads", "sales.lead.*"))
    for lead in range(4):
        app.run(app.bridge.platform.messages.publish("sales.lead.created", {"lead": lead}))
    page.reload_kpis()
    app.until(lambda: page.kpis is not None and page.kpis.queue_depth == 4)
    assert page.tiles.text("runs") == "3"
    assert page.tiles.tiles["runs"].caption.text() == "1 failed"
    assert page.tiles.text("success") == "67 %"
    assert page.tiles.tiles["success"].caption.text() == "2 of 3 ended runs"
    assert page.tiles.text("latency").endswith(("ms", " s"))
    assert page.tiles.text("queue") == "4"
    assert page.tiles.text("alerts") == "0"


def test_queue_legend_names_a_trigger_queue_by_its_workflow(make_app: Any) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    me = app.window.session.principal
    triggers = platform.message_triggers

    def listen(name: str, pattern: str) -> str:
        doc = chain(
            name,
            node("m", "message_trigger", "New lead", pattern=pattern),
            node("log", "log", "Log"),
        )
        workflow = app.run(platform.workflows.create(me, doc))
        queue = queue_name(workflow.id, "m", pattern)
        app.until(lambda: queue in [name for name, _ in triggers.active.values()])
        return queue

    app.run(platform.messages.declare_queue("crm.leads", "crm.lead.*"))
    stored = listen("Lead follow-up", "sales.lead.*")
    page = dashboard(app)
    page.live_timer.stop()  # the test makes the ticks
    app.run(platform.performance.collect_metrics())
    loads: list[int] = []
    page.sig_loaded.connect(lambda: loads.append(1))
    page.reload()  # the stored history names the series
    app.until(lambda: loads and not page.reload.busy)
    queues = chart(page, "Queue depth")

    def legend() -> dict[str, tuple[str, str, str]]:
        """Queue → (legend name, full name, tooltip) of the chart's series."""
        shown = {}
        for key, curve in queues.curves.items():
            tooltip = queues.legend_buttons[key].toolTip()
            shown[json.loads(key[1])["queue"]] = (curve.name, curve.full_name, tooltip)
        return shown

    assert legend()[stored][:2] == ("Lead follow-up · New lead", f"queue_depth · {stored}")
    assert stored in legend()[stored][2]  # the tooltip gives the name the Messages page uses
    assert legend()["crm.leads"][0] == "crm.leads"  # a queue of its own keeps its name
    # a trigger saved while the dashboard is open: named at the live tick that finds it
    later = listen("Service reminders", "service.due.#")
    app.run(platform.performance.sample_product())  # the queue's first depth, now
    app.run(page.tick_live())
    assert legend()[later][0] == "Service reminders · New lead"


def test_live_then_stored_then_custom_ranges_and_pause(make_app: Any) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    run_divisions(app, 2, 0)
    app.run(platform.performance.collect_metrics())
    page = dashboard(app)
    page.live_timer.stop()  # the test makes the ticks
    assert page.range_key == "live"
    assert [c.title.text() for c in page.grid.charts] == [c.title for c in default_layout().charts]

    # live: every tick appends the service's live values, the history is not read again
    cpu = chart(page, "CPU")
    before = len(cpu.curves[("auterity_system_cpu_ratio", "{}")].buffer)
    loads = []
    page.sig_loaded.connect(lambda: loads.append(1))
    for _ in range(2):
        app.run(page.tick_live())
    after = len(cpu.curves[("auterity_system_cpu_ratio", "{}")].buffer)
    assert after == before + 2
    assert loads == []
    values = cpu.curves[("auterity_process_cpu_ratio", "{}")].buffer.v
    assert ((values >= 0) & (values <= 100)).all()  # shown in percent
    assert cpu.unit.label == "%"
    start, end = cpu.window
    assert end - start == pytest.approx(300)

    # pause: the picture stands still while values keep arriving
    page.set_paused(True)
    assert page.pause_button.text() == "Resume"
    shown = cpu.view.viewRange()[0]
    app.run(page.tick_live())
    assert cpu.view.viewRange()[0] == shown
    assert len(cpu.curves[("auterity_system_cpu_ratio", "{}")].buffer) == after + 1
    page.set_paused(False)
    assert page.pause_button.text() == "Pause"

    # one hour of stored history: the runs chart has a line per outcome
    page.choose_range("1h")
    app.until(lambda: not page._stale and not page.reload.busy and len(loads) == 1)
    assert page.range_buttons.checkedButton().objectName() == "Range_1h"
    start, end = page.window_bounds
    assert end - start == 3600
    runs = chart(page, "Workflow runs")
    assert {k[1] for k in runs.curves} == {'{"status": "failed"}', '{"status": "succeeded"}'}
    assert runs.unit.label == "/min"
    stored = chart(page, "CPU").curves[("auterity_process_cpu_ratio", "{}")].buffer
    assert len(stored) >= 1  # the collection made above
    page.choose_range("24h")
    app.until(lambda: not page._stale and not page.reload.busy and len(loads) == 2)
    page.choose_range("7d")
    app.until(lambda: not page._stale and not page.reload.busy and len(loads) == 3)
    assert page.window_bounds[1] - page.window_bounds[0] == pytest.approx(7 * 86_400)

    # a custom range from the dialog
    dialog = page.choose_range("custom")
    assert page.range_key == "7d"  # nothing changes until dates are given
    now = app.bridge.platform.performance.clock()
    dialog.set_bounds(now - 7200, now + 60)
    dialog.accept()
    app.until(lambda: not page._stale and not page.reload.busy and len(loads) == 4)
    assert page.range_key == "custom"
    assert page.range_buttons.checkedButton().objectName() == "Range_custom"
    assert page.window_bounds == (float(int(now - 7200)), float(int(now + 60)))
    assert " – " in page.range_label.text()
    memory = chart(page, "Memory and disk").curves[("auterity_system_memory_ratio", "{}")]
    assert len(memory.buffer) >= 1

    page.choose_range("live")
    app.until(lambda: not page._stale and not page.reload.busy and len(loads) == 5)
    assert page.range_key == "live"


def test_export_png_and_csv(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    run_divisions(app, 4)
    app.run(app.bridge.platform.performance.collect_metrics())
    page = dashboard(app)
    page.live_timer.stop()
    app.run(page.tick_live())
    app.run(page.tick_live())

    png = tmp_path / "dashboard.png"
    page.export_png(png)
    image = QImage(str(png))
    assert not image.isNull()
    assert image.width() == page.grid.width() and image.height() == page.grid.height()

    path = tmp_path / "dashboard.csv"
    rows = page.export_csv(path)
    with path.open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == rows > 0
    assert set(table[0]) == {"chart", "series", "unit", "time", "timestamp", "value"}
    cpu = [r for r in table if r["chart"] == "CPU" and r["series"] == "system_cpu_ratio"]
    assert len(cpu) >= 2
    start, end = page.window_bounds
    for row in cpu:
        assert row["unit"] == "%"
        assert 0 <= float(row["value"]) <= 100
        assert start - 5 <= float(row["timestamp"]) <= end + 5  # the window moves by pixels
        assert row["time"][:4].isdigit() and "T" in row["time"]
    shown = chart(page, "CPU").curves[("auterity_system_cpu_ratio", "{}")].buffer
    assert [float(r["value"]) for r in cpu] == shown.v.tolist()[-len(cpu) :]


def test_layout_is_kept_per_user(make_app: Any) -> None:
    first = signed_in(make_app)
    platform = first.bridge.platform
    admin = first.window.session.principal
    first.run(platform.security.users.create_user(admin, "bob", "Sales-Floor-2026!", "viewer"))
    page = dashboard(first)
    page.add_chart(ChartSpec("Threads", [SeriesSpec("auterity_process_threads", {})]))
    page.remove_chart(5)  # "Integrations up"
    page.set_columns(2)
    page.choose_range("24h")
    first.until(lambda: not page._stale and not page.reload.busy)
    titles = [c.title.text() for c in page.grid.charts]
    assert titles == ["Workflow runs", "Node latency", "Queue depth", "CPU", "Memory and disk",
                      "Threads"]  # fmt: skip
    assert page.grid.columns == 2
    first.window.close()

    second = make_app()
    second.window.show()
    second.sign_in_first_admin("bob", "Sales-Floor-2026!")
    page = dashboard(second)
    assert [c.title.text() for c in page.grid.charts] == [c.title for c in default_layout().charts]
    assert page.range_key == "live"
    second.run(second.window.session.sign_out())
    second.until(lambda: second.window.login_dialog is not None)
    dialog = second.window.login_dialog
    dialog.username.setText("alice")
    dialog.password.setText("Correct-Horse-42!")
    dialog.submit()
    second.until(lambda: second.window.session.signed_in and page.username == "alice")
    second.until(lambda: not page._stale and not page.reload.busy)
    assert [c.title.text() for c in page.grid.charts] == titles
    assert page.grid.columns == 2
    assert page.range_key == "24h"
    threads = chart(page, "Threads")
    assert list(threads.curves) == [("auterity_process_threads", "{}")]
    stored = load_layout(page._state(), "alice")
    assert stored.charts[-1] == ChartSpec("Threads", [SeriesSpec("auterity_process_threads", {})])


def test_charts_are_added_configured_and_removed_through_the_page(make_app: Any) -> None:
    app = signed_in(make_app)
    app.run(app.bridge.platform.performance.collect_metrics())
    page = dashboard(app)
    for _ in range(len(page.grid.charts)):
        page.remove_chart(0)
    assert page.area.currentWidget() is page.empty
    assert page.empty.title.text() == "No charts"
    assert page.empty_add.isVisible()

    task = page.open_chart_dialog(None)
    app.until(lambda: task.done())
    dialog = page.chart_dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # no title, no series
    dialog.title.setText("This process")
    dialog.set_checked(SeriesSpec("auterity_process_threads", {}))
    dialog.set_checked(SeriesSpec("auterity_process_open_files", {}))
    dialog.search.setText("open_files")
    hidden = [dialog.list.item(i).isHidden() for i in range(dialog.list.count())]
    assert hidden.count(False) == 1
    assert ok.isEnabled()
    dialog.accept()
    app.until(lambda: len(page.grid.charts) == 1 and not page._stale and not page.reload.busy)
    assert page.area.currentWidget() is page.scroll
    process = chart(page, "This process")
    assert set(process.curves) == {
        ("auterity_process_threads", "{}"),
        ("auterity_process_open_files", "{}"),
    }

    task = page.open_chart_dialog(process)  # configure: the chosen series are ticked
    app.until(lambda: task.done())
    dialog = page.chart_dialog
    assert dialog.checked() == [
        SeriesSpec("auterity_process_open_files", {}),
        SeriesSpec("auterity_process_threads", {}),
    ]
    dialog.set_checked(SeriesSpec("auterity_process_open_files", {}), False)
    dialog.title.setText("Threads")
    dialog.accept()
    app.until(lambda: not page._stale and not page.reload.busy)
    assert process.title.text() == "Threads"
    assert list(process.curves) == [("auterity_process_threads", "{}")]
    process.show_crosshair(process.window[1])
    assert "threads" in process.readout.text()
    process.hide_crosshair()

    # the charts follow the theme
    light = process.plot.backgroundBrush().color().name()
    app.window.toggle_theme()
    dark = app.theme.colors
    assert process.plot.backgroundBrush().color().name() != light
    assert process.plot.backgroundBrush().color().name() == dark["base"]
    app.window.toggle_theme()
