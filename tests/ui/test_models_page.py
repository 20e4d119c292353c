"""The Models page on the real platform: empty states, the list with drift verdicts, metrics
over time, the per-feature drift table with its distributions, checking drift (with PSI),
registering from a CSV file, deleting, and what a viewer is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from auterity_desktop.ui.theme import ThemeMode

DAY = 86400.0


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def open_models(app: Any) -> Any:
    page = app.window.show_page("models")
    app.until(lambda: page._loaded_once)
    return page


def cars(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    mix = [0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5]
    return pd.DataFrame(
        {
            "price": r.normal(25_000 * (1 + shift), 3_000, size=rows),
            "mileage": r.gamma(2.0, 20_000, size=rows),
            "make": r.choice(["toyota", "honda", "kia"], size=rows, p=mix),
            "sold": r.choice([0, 1], size=rows),
        }
    )


FEATURES = {"price": "numeric", "mileage": "numeric", "make": "categorical"}


def register_with_traffic(app: Any) -> None:
    """A model, four days of predictions (the last two shifted) with actual values."""
    ml = app.bridge.platform.ml_monitoring
    me = app.window.session.principal
    app.run(
        ml.register_model(
            me, "resale", "1", "classification", FEATURES, cars(300, seed=1), target="sold",
            baseline={"accuracy": 0.8},
        )
    )  # fmt: skip
    now = app.bridge.platform.ml_monitoring.clock()
    for day in range(4):
        batch = cars(60, seed=10 + day, shift=0.25 if day >= 2 else 0.0)
        ids = [f"d{day}-{i}" for i in range(60)]
        times = [now - (3 - day) * DAY - 3600 + i for i in range(60)]
        predicted = batch["sold"].tolist()
        app.run(ml.log_predictions("resale", "1", batch, predicted, ids, timestamps=times))
        wrong = 6 + day * 6  # accuracy falls day by day
        actual = [1 - p if i < wrong else p for i, p in enumerate(predicted)]
        app.run(ml.log_actuals("resale", "1", ids, actual))


def cell(model: Any, row: int, column: int) -> str:
    return str(model.index(row, column).data())


def test_empty_page_says_what_to_do(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_models(app)
    assert page.list_stack.currentWidget() is page.empty
    assert page.empty.title.text() == "No models monitored yet"
    assert page.empty_register.isVisible() and page.register_button.isVisible()
    assert page.drift_stack.currentWidget() is page.drift_empty
    assert page.drift_empty.title.text() == "No model selected"
    assert not page.check_button.isEnabled()


def test_models_metrics_and_drift(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_models(app)
    register_with_traffic(app)
    app.until(lambda: page.model.rowCount() == 1 and page.info is not None)
    app.until(lambda: page.info.labelled == 240)
    assert [cell(page.model, 0, c) for c in range(6)] == [
        "resale", "1", "classification", "240", "240", "not checked",
    ]  # fmt: skip
    # metrics over time: four days, accuracy falling, its baseline dashed
    assert page.metrics_chart.showing_plot
    accuracy = page.metrics_chart.series["accuracy"]
    assert accuracy == pytest.approx([0.9, 0.8, 0.7, 0.6])
    assert "240 predictions, 240 labelled (last 30 days)" in page.metrics_summary.text()
    assert "Accuracy 0.75 (baseline 0.8)" in page.metrics_summary.text()
    page.metric_choice.setCurrentIndex(page.metric_choice.findText("Recall"))
    assert list(page.metrics_chart.series) == ["recall"]
    # no drift check yet
    assert page.drift_stack.currentWidget() is page.drift_empty
    assert page.drift_empty.title.text() == "No drift check yet"

    page.window_choice.setCurrentIndex(page.window_choice.findText("Last 7 days"))
    page.psi.setChecked(False)
    task = page.check_drift()
    app.until(lambda: task.done() and page.report is not None)
    assert (page.report.current_rows, page.report.method) == (240, "auto")
    assert page.drift_stack.currentIndex() == 0
    rows = {cell(page.drift_model, r, 0): r for r in range(page.drift_model.rowCount())}
    assert set(rows) == {"price", "mileage", "make"}
    price = rows["price"]
    assert [cell(page.drift_model, price, c) for c in (1, 2, 5, 6)] == [
        "numeric", "Kolmogorov–Smirnov", "p ≤ 0.05", "Drift",
    ]  # fmt: skip
    assert cell(page.drift_model, rows["mileage"], 6) == "OK"
    colours = app.theme.colors
    verdict = page.drift_model.index(price, 6)
    assert verdict.data(Qt.ItemDataRole.ForegroundRole).name() == colours["error"]
    assert (
        page.drift_model.index(rows["mileage"], 6).data(Qt.ItemDataRole.ForegroundRole).name()
        == colours["ok"]
    )
    assert page.drift_summary.text().startswith("Data-set drift: 2 of 3 features drifted (67%")
    assert "300 reference rows vs 240" in page.drift_summary.text()
    # the first drifted feature's distributions are drawn, overlaid
    assert page.distribution.feature == "price" and page.distribution.showing_plot
    assert page.distribution.shown["type"] == "histogram"
    page.select_feature("make")
    assert page.distribution.shown["type"] == "bars"
    assert page.distribution.shown["categories"][0] in {"toyota", "kia"}
    assert page.distribution.caption.text().startswith("make (categorical): chi-square p = ")
    app.until(lambda: cell(page.model, 0, 5) == "Drift (67%)")
    assert page.model.index(0, 5).data(Qt.ItemDataRole.ForegroundRole).name() == colours["error"]
    assert "data-set drift — 2 of 3 features drifted" in page.message.text()

    page.psi.setChecked(True)
    task = page.check_drift()
    app.until(lambda: task.done() and page.report.method == "psi")
    assert {cell(page.drift_model, r, 2) for r in range(3)} == {"PSI"}
    assert {cell(page.drift_model, r, 5) for r in range(3)} == {"≥ 0.1"}
    assert page.distribution.feature == "make"  # the chosen feature stays selected

    app.theme.set_mode(ThemeMode.DARK)  # charts follow the theme
    dark = app.theme.colors["base"]
    assert page.distribution.plot.backgroundBrush().color().name() == dark
    assert page.metrics_chart.plot.backgroundBrush().color().name() == dark
    assert page.distribution.shown["type"] == "bars"


def test_register_from_a_csv_file(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    page = open_models(app)
    data = cars(120, seed=3)
    data["listing_id"] = [f"L{i:05d}" for i in range(120)]
    data["prediction"] = data["sold"]
    data.to_csv(tmp_path / "trade_in.csv", index=False)
    dialog = page.open_register_dialog()
    assert dialog is not None and not dialog.register_button.isEnabled()
    task = dialog.load_file(tmp_path / "trade_in.csv")
    app.until(lambda: task.done() and dialog.frame is not None)
    assert dialog.name.text() == "trade_in"
    assert dialog.roles() == {
        "price": "numeric", "mileage": "numeric", "make": "categorical", "sold": "numeric",
        "listing_id": "ignore", "prediction": "prediction",
    }  # fmt: skip
    assert "target column" in dialog.problem.text()  # a prediction needs a target
    dialog.set_role("sold", "target")
    assert dialog.check() is None
    assert dialog.task.currentData() == "classification"
    assert dialog.summary.text() == "120 reference rows · 3 features · target sold"
    submitted = dialog.submit_form()
    app.until(lambda: submitted.done())
    assert dialog.result_info is not None
    app.until(lambda: page.model.rowCount() == 1 and page.info is not None)
    info = page.info
    assert (info.name, info.version, info.target, info.features) == (
        "trade_in", "1", "sold", {"price": "numeric", "mileage": "numeric", "make": "categorical"},
    )  # fmt: skip
    assert info.baseline["accuracy"] == 1.0  # computed from the file's prediction column
    assert "Registered trade_in 1 with 120 reference rows" in page.message.text()
    # registering the same again keeps the dialog open with the reason
    again = page.open_register_dialog()
    task = again.load_file(tmp_path / "trade_in.csv")
    app.until(lambda: task.done() and again.frame is not None)
    again.set_role("prediction", "ignore")
    submitted = again.submit_form()
    app.until(lambda: submitted.done())
    assert again.problem.text() == "Model trade_in version 1 is registered already"
    assert again.isVisible()
    again.reject()


def test_a_bad_file_is_explained(make_app: Any, tmp_path: Path) -> None:
    app = signed_in(make_app)
    page = open_models(app)
    dialog = page.open_register_dialog()
    task = dialog.load_file(tmp_path / "missing.csv")
    app.until(lambda: task.done())
    assert dialog.problem.text().startswith("Cannot read missing.csv:")
    assert not dialog.register_button.isEnabled()
    dialog.reject()


def test_delete_asks_first(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = signed_in(make_app)
    page = open_models(app)
    ml = app.bridge.platform.ml_monitoring
    me = app.window.session.principal
    app.run(
        ml.register_model(me, "resale", "1", "regression", FEATURES, cars(50, 5), target="sold")
    )
    app.until(lambda: page.model.rowCount() == 1 and page.info is not None)
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.No)
    assert page.delete_selected() is None
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    task = page.delete_selected()
    app.until(lambda: task.done() and page.model.rowCount() == 0)
    assert page.list_stack.currentWidget() is page.empty
    assert page.message.text() == "Deleted resale 1."


def test_a_viewer_reads_but_cannot_change(make_app: Any) -> None:
    app = signed_in(make_app)
    ml = app.bridge.platform.ml_monitoring
    security = app.bridge.platform.security
    admin = app.window.session.principal
    app.run(ml.register_model(admin, "resale", "1", "regression", FEATURES, cars(50, 6)))
    app.run(security.users.create_user(admin, "vic", "Sales-Floor-2026!", "viewer"))
    app.sign_in_as("vic", "Sales-Floor-2026!")
    page = open_models(app)
    app.until(lambda: page.model.rowCount() == 1 and page.info is not None)
    for widget in (page.register_button, page.check_button, page.delete_button, page.psi):
        assert widget.isHidden()
    assert page.check_drift() is None and page.open_register_dialog() is None
    assert page.drift_empty.title.text() == "No drift check yet"
    assert page.drift_check_empty.isHidden()
