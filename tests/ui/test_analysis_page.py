"""The Analysis page's process-mining workspace on the real platform: a small hand-written
log with a rework loop and a deviating case, mined into the map, its sliders, the cases
of a clicked path, variants, durations, bottlenecks and a conformance check; cancelling
an import, bad files, and what a viewer is allowed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.ui.models.process_map_model import (
    END,
    START,
    filter_map,
    human_duration,
    layered_layout,
)

HOUR = 3600
# Each step's gap in hours: invoice → pay is the slowest in total, then check → repair.
GAPS = {
    ("register", "check"): 1,
    ("check", "repair"): 24,
    ("repair", "invoice"): 2,
    ("invoice", "pay"): 48,
    ("repair", "check"): 5,
    ("register", "repair"): 1,
}
CASES = {
    "c1": ["register", "check", "repair", "invoice", "pay"],
    "c2": ["register", "check", "repair", "invoice", "pay"],
    "c3": ["register", "check", "repair", "check", "repair", "invoice", "pay"],  # rework
    "c4": ["register", "repair", "invoice", "pay"],  # skips the check: deviates
}
EDGES = {
    ("register", "check"): 3,
    ("check", "repair"): 4,
    ("repair", "invoice"): 4,
    ("invoice", "pay"): 4,
    ("repair", "check"): 1,
    ("register", "repair"): 1,
}


def write_log(path: Path, cases: dict[str, list[str]] = CASES) -> Path:
    lines = ["case_id,activity,timestamp"]
    for day, (case, steps) in enumerate(cases.items()):
        at = datetime(2024, 3, 1, 8) + timedelta(days=day)
        for i, step in enumerate(steps):
            if i:
                at += timedelta(hours=GAPS[(steps[i - 1], step)])
            lines.append(f"{case},{step},{at.isoformat()}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def opened(app: Any, path: Path) -> Any:
    page = app.window.show_page("analysis")
    done: list[bool] = []
    page.sig_analysed.connect(lambda: done.append(True))
    assert page.open_log(path) is not None
    app.until(lambda: done and page.busy is None)
    return page


def test_the_log_becomes_a_map_with_its_views(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    page = opened(app, write_log(tmp_path / "repairs.csv"))
    assert not app.crash.dialogs
    assert page.log_label.text().startswith("repairs: 21 events in 4 cases")
    assert page.progress_row.isHidden() and page.workspace.isVisible()

    # The map: every activity, every path, Start and End around them.
    scene = page.map.scene
    assert set(page.map.shown_activities()) == {"register", "check", "repair", "invoice", "pay"}
    assert set(page.map.shown_edges()) == set(EDGES)
    assert set(scene.node_items) == {"register", "check", "repair", "invoice", "pay", START, END}
    assert (START, "register") in scene.edge_items and ("pay", END) in scene.edge_items
    assert {k: scene.edge_items[k].edge.count for k in EDGES} == EDGES
    assert scene.edge_items[("check", "repair")].label == "4"
    x = {n: item.pos().x() for n, item in scene.node_items.items()}
    assert x[START] < x["register"] < x["check"] < x["repair"] < x["invoice"] < x["pay"] < x[END]
    weights = {k: scene.edge_items[k].pen_width for k in EDGES}
    assert weights[("check", "repair")] > weights[("repair", "check")]

    # Time as the measure: labels become durations.
    page.map.time.setChecked(True)
    assert scene.edge_items[("invoice", "pay")].label == human_duration(48 * HOUR)
    page.map.frequency.setChecked(True)

    # Sliders: fewer paths, then fewer activities.
    page.map.paths_slider.setValue(0)
    fewer = page.map.shown_edges()
    assert len(fewer) < len(EDGES)
    assert ("repair", "check") not in fewer and ("register", "repair") not in fewer
    for activity in page.map.shown_activities():  # every kept activity stays connected
        keys = set(page.map.scene.edge_items)
        assert any(t == activity for _s, t in keys) and any(s == activity for s, _t in keys)
    page.map.paths_slider.setValue(100)
    page.map.activities_slider.setValue(20)
    kept = page.map.shown_activities()
    assert len(kept) == 3 and {"register", "pay"} <= set(kept)  # start and end stay
    assert "repair" in kept  # the most frequent (5 events)
    page.map.activities_slider.setValue(100)
    assert len(page.map.shown_edges()) == len(EDGES)

    # Clicking a path lists the cases taking it.
    page.map.view.fit()
    item = scene.edge_items[("repair", "check")]
    point = page.map.view.mapFromScene(item.path.pointAtPercent(0.5))
    got: list[tuple[str, str]] = []
    page.sig_edge_cases.connect(lambda s, t: got.append((s, t)))
    QTest.mouseClick(page.map.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    app.until(lambda: got)
    assert got == [("repair", "check")]
    assert page.edge_cases.case_ids() == ["c3"]
    assert scene.selected_edge == ("repair", "check") and item.selected
    assert page.side.currentWidget() is page.edge_cases
    page.show_edge_cases("check", "repair")
    app.until(lambda: len(got) == 2)
    assert sorted(page.edge_cases.case_ids()) == ["c1", "c2", "c3"]

    # Variants: the happy path twice, the rework and the shortcut once each.
    model = page.variants_view.model
    assert model.rowCount() == 3
    assert [model.row(i)["count"] for i in range(3)] == [2, 1, 1]
    assert model.row(0)["activities"] == CASES["c1"]
    page.variants_view.select_variant(1)
    assert sorted(page.variants_view.case_ids()) == ["c1", "c2"]

    # Durations: a bar chart over the four cases, in hours or days.
    assert page.histogram.bars >= 1 and sum(page.histogram.heights) == 4
    assert page.histogram.unit in ("hours", "days")
    assert page.dotted.points == 21

    # Bottlenecks, by total time: invoice → pay, then check → repair.
    order = page.bottlenecks.order()
    assert order[:2] == [("invoice", "pay"), ("check", "repair")]
    page.bottlenecks.select(1)
    assert scene.selected_edge == ("check", "repair")


def test_conformance_marks_the_deviating_path(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    reference = write_log(tmp_path / "reference.csv", {k: CASES[k] for k in ("c1", "c2")})
    me = app.window.session.principal
    mining = app.bridge.platform.process_mining
    log: EventLog = app.run(mining.import_log(me, str(reference)))
    model = tmp_path / "happy.pnml"
    app.run(mining.export_model(me, log, str(model)))

    page = opened(app, write_log(tmp_path / "repairs.csv"))
    seen: list[bool] = []
    page.sig_conformance.connect(lambda: seen.append(True))
    page.check_conformance(model)
    app.until(lambda: seen)
    assert not app.crash.dialogs
    result = page.conformance.result
    assert result is not None and 0 < result["fitness"] < 1
    assert set(page.conformance.unfit_cases()) == {"c3", "c4"}
    assert page.conformance.values["fitness"].text() == f"{result['fitness']:.3f}"
    deviating = {(d["source"], d["target"]) for d in result["deviating_edges"]}
    assert ("register", "repair") in deviating
    item = page.map.scene.edge_items[("register", "repair")]
    assert item.deviating
    warning = page.map.scene.colors["warning"]
    assert item.colour().name() == warning
    assert not page.map.scene.edge_items[("invoice", "pay")].deviating
    # A deviating path stays on the map even when the paths slider would hide it.
    page.map.paths_slider.setValue(0)
    assert ("register", "repair") in page.map.shown_edges()


def test_cancelling_an_import(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as out:
        out.write("case_id,activity,timestamp\n")
        row = "case{0},step{1},2024-01-01T{2:02d}:{3:02d}:00\n"
        out.writelines(
            row.format(c, s, (c // 60) % 24, c % 60) for c in range(120_000) for s in range(5)
        )
    page = app.window.show_page("analysis")
    idle: list[bool] = []
    page.sig_idle.connect(lambda: idle.append(True))
    task = page.open_log(big)
    assert task is not None and page.busy and page.progress_row.isVisible()
    page.cancel_button.click()
    assert page.busy is None and page.progress_row.isHidden()
    assert "cancelled" in page.status.text().lower()
    assert "cancelled" in page.message.text().lower()
    app.until(lambda: task.done())
    assert page.log is None and not app.crash.dialogs
    assert "cancelled" in page.status.text().lower()


def test_a_bad_file_is_a_message_not_a_crash(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    page = app.window.show_page("analysis")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    idle: list[bool] = []
    page.sig_idle.connect(lambda: idle.append(True))
    page.open_log(empty)
    app.until(lambda: idle)
    assert not app.crash.dialogs
    assert "empty" in page.message.text() and page.log is None
    assert page.empty.isVisible()

    broken = tmp_path / "broken.csv"
    broken.write_text(
        "case_id,activity,timestamp\nc1,register,yesterday-ish\nc1,pay,2024-01-01\n",
        encoding="utf-8",
    )
    page.open_log(broken)
    app.until(lambda: len(idle) == 2)
    assert not app.crash.dialogs
    assert "not a date" in page.message.text()
    page.open_log(tmp_path / "notes.txt")
    app.until(lambda: len(idle) == 3)
    assert "unknown file type" in page.message.text() and not app.crash.dialogs


def test_a_viewer_cannot_mine(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    security = app.bridge.platform.security
    admin = app.window.session.principal
    app.run(security.users.create_user(admin, "vic", "Sales-Floor-2026!", "viewer"))
    app.sign_in_as("vic", "Sales-Floor-2026!")
    page = app.window.show_page("analysis")
    for button in (page.open_button, page.runs_button, page.empty_open, page.empty_runs):
        assert not button.isEnabled()
    assert "analytics execute" in page.status.text()
    assert page.open_log(write_log(tmp_path / "repairs.csv")) is None
    assert page.use_runs() is None
    assert "analytics execute" in page.message.text()


def test_filtering_and_layout_without_a_window() -> None:
    data = {
        "activities": [{"name": a, "count": n} for a, n in
                       (("a", 10), ("b", 8), ("c", 3), ("d", 1))],
        "edges": [
            {"source": "a", "target": "b", "count": 8, "mean": 10.0},
            {"source": "b", "target": "c", "count": 3, "mean": 500.0},
            {"source": "c", "target": "b", "count": 2, "mean": 20.0},
            {"source": "b", "target": "d", "count": 1, "mean": 5.0},
            {"source": "a", "target": "d", "count": 1, "mean": 1.0},
        ],
        "start": {"a": 10},
        "end": {"b": 5, "c": 1, "d": 2},
    }  # fmt: skip
    whole = filter_map(data, 100, 100)
    assert len(whole.activities) == 4 and len(whole.edges) == 5 + 1 + 3
    by_time = filter_map(data, 100, 10, "time")
    keys = {e.key for e in by_time.edges}
    assert ("b", "c") in keys  # the slowest path is the strongest by time
    half = filter_map(data, 50, 100)
    assert set(half.activities) == {"a", "b"}
    places, back = layered_layout(
        [START, "a", "b", "c", "d", END],
        [(START, "a", 10), ("a", "b", 8), ("b", "c", 3), ("c", "b", 2), ("b", "d", 1),
         ("a", "d", 1), ("b", END, 5), ("c", END, 1), ("d", END, 2)],
    )  # fmt: skip
    assert back == {("c", "b")}
    assert places[START][0] == 0 and places["a"][0] == 1 and places["b"][0] == 2
    assert places["c"][0] == places["d"][0] == 3 and places[END][0] == 4
    assert human_duration(90) == "1.5 min" and human_duration(2 * 86400) == "2.0 d"


def test_the_sample_log_is_offered_once_the_samples_are_loaded(
    make_app: Any, data_dir: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QFileDialog

    app = signed_in(make_app)
    page = app.window.show_page("analysis")
    assert page.empty_sample.isHidden()  # no samples yet: not offered
    starts: list[str] = []

    def choose(_parent: Any, _title: str, start: str, _filter: str) -> tuple[str, str]:
        starts.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    page.choose_log()
    app.window.show_page("workflows")
    app.window.load_samples()
    app.until(lambda: page.sample_log().exists() and not app.tasks.active, 60)
    page = app.window.show_page("analysis")
    assert page.empty_sample.isVisible() and page.empty_sample.toolTip()
    page.choose_log()
    assert starts == ["", str(data_dir / "samples")]  # the dialog starts at the samples
    done: list[bool] = []
    page.sig_analysed.connect(lambda: done.append(True))
    page.empty_sample.click()
    app.until(lambda: done and page.busy is None, 60)
    assert page.log_label.text().startswith("service_repair_orders: 3,168 events in 400 cases")
