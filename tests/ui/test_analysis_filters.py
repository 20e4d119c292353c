"""Filtering the open log on the Analysis page: the dialog builds the filter list, the page
mines the narrowed log, shows how much is left, and clears back to the whole log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from auterity_desktop.ui.widgets.mining_filter_dialog import LogFilterDialog
from tests.ui.test_analysis_page import opened, signed_in, write_log

ACTIVITIES = ["register", "check", "repair", "invoice", "pay"]


def test_the_dialog_builds_filters_and_shows_them_again(qtbot: Any) -> None:
    first, last = datetime(2024, 3, 1, 8, tzinfo=UTC), datetime(2024, 3, 9, 18, tzinfo=UTC)
    dialog = LogFilterDialog(ACTIVITIES, first, last)
    qtbot.addWidget(dialog)
    assert dialog.filters() == []  # nothing checked: nothing applied
    dialog.path_box.setChecked(True)
    dialog.path_retain.setCurrentIndex(1)  # drop
    dialog.path_source.setCurrentText("repair")
    dialog.path_target.setCurrentText("check")
    dialog.start_box.setChecked(True)
    dialog.start_list.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.duration_box.setChecked(True)
    dialog.duration_min.setValue(2.0)
    dialog.duration_max.setValue(1.0)  # below the minimum: taken as the minimum
    dialog.variant_box.setChecked(True)
    dialog.coverage_radio.setChecked(True)
    dialog.coverage.setValue(25.0)
    dialog.time_box.setChecked(True)
    specs = dialog.filters()
    assert specs == [
        {"kind": "time_range", "start": "2024-03-01T08:00:00Z", "end": "2024-03-09T18:00:00Z",
         "mode": "traces_intersecting"},
        {"kind": "start_activities", "activities": ["register"]},
        {"kind": "directly_follows", "pairs": [["repair", "check"]], "retain": False},
        {"kind": "case_duration", "min_seconds": 7200.0, "max_seconds": 7200.0},
        {"kind": "variants_coverage", "min_coverage": 0.25},
    ]  # fmt: skip
    again = LogFilterDialog(ACTIVITIES, first, last, specs)
    qtbot.addWidget(again)
    assert again.filters() == specs
    again.clear()
    assert again.filters() == []


def test_the_page_mines_the_filtered_log_and_clears_back(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    page = opened(app, write_log(tmp_path / "repairs.csv"))
    assert page.filter_button.isEnabled() and not page.clear_filters_button.isVisible()
    analysed: list[bool] = []
    page.sig_analysed.connect(lambda: analysed.append(True))

    no_rework = [{"kind": "directly_follows", "pairs": [["repair", "check"]], "retain": False}]
    page.apply_filters(no_rework)
    app.until(lambda: analysed and page.busy is None)
    assert page.log.n_cases == 3 and page.source_log.n_cases == 4
    edges = {(e["source"], e["target"]) for e in page.map_data["edges"]}
    assert ("repair", "check") not in edges and ("register", "repair") in edges
    assert "filtered from 4 cases" in page.log_label.text()
    assert page.clear_filters_button.isVisible() and page.filters == no_rework

    analysed.clear()
    page.apply_filters([{"kind": "case_size", "min": 50}])  # nothing passes
    app.until(lambda: page.busy is None)
    assert "No case passes" in page.message.text()
    assert page.log.n_cases == 3 and page.filters == no_rework  # the last good view stays

    page.apply_filters([{"kind": "case_size", "min": 0}])  # refused by the service
    app.until(lambda: page.busy is None)
    assert "filter 1 min must be" in page.message.text() and not app.crash.dialogs

    page.clear_filters()
    app.until(lambda: analysed and page.busy is None)
    assert page.log is page.source_log and page.filters == []
    assert not page.clear_filters_button.isVisible()
    assert "filtered" not in page.log_label.text()
    assert not app.crash.dialogs
