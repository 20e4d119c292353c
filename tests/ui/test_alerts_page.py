"""The Alerts page and the alert toasts on the real platform: a firing alert pops up on any
page and shows in the list, acknowledge and silence through their dialogs, the history,
the rule editor's inline validation, creating, editing, disabling and deleting rules, an
alert from model monitoring, and what a viewer is shown."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from auterity_desktop.ui.pages.alerts_page import HISTORY_TAB, OPEN_TAB, RULES_TAB, SILENCES_TAB

BACKLOG = "test_lead_backlog"


@pytest.fixture(autouse=True)
def quiet_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default rules watch this computer's real CPU, memory and disk (the performance
    service records them): with a threshold of 1 they cannot fire during a test."""
    monkeypatch.setenv("ALERT_THRESHOLD", "1")


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def backlog_rule(app: Any) -> Any:
    """A rule on a gauge only the test records: critical above 500, at once."""
    platform = app.bridge.platform
    return app.run(platform.alerts.create_rule(
        app.window.session.principal,
        {"name": "Lead backlog", "kind": "threshold", "metric": BACKLOG,
         "params": {"comparator": ">", "threshold": 500}, "severity": "critical"},
    ))  # fmt: skip


def open_alerts(app: Any) -> Any:
    page = app.window.show_page("alerts")
    app.until(lambda: page.loaded)
    return page


def cell(model: Any, row: int, column: int) -> str:
    return str(model.index(row, column).data())


def backlog(app: Any, value: float) -> Any:
    platform = app.bridge.platform
    platform.metrics.gauge(BACKLOG, value)
    return app.run(platform.alerts.evaluate())


def rule_row(page: Any, name: str) -> int:
    return next(
        (i for i in range(page.rule_model.rowCount()) if page.rule_model.item(i).name == name), -1
    )


def test_empty_page_says_what_is_watched(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_alerts(app)
    assert page.open_stack.currentWidget() is page.open_empty
    assert page.open_empty.title.text() == "Nothing is firing"
    assert "5 rules watching the metrics" in page.open_empty.text.text()
    assert page.summary.text() == "0 firing · 0 pending · 5 of 5 rules on"
    assert page.tabs.tabText(RULES_TAB) == "&Rules (5)"
    page.tabs.setCurrentIndex(HISTORY_TAB)
    app.until(lambda: page.past_stack.currentWidget() is page.past_empty)
    assert page.silence_stack.currentWidget() is page.silence_empty
    for button in (page.new_rule_button, page.evaluate_button, page.ack_button,
                   page.silence_button, page.delete_button):  # fmt: skip
        assert not button.isHidden()
    memory = rule_row(page, "System memory almost full")
    assert cell(page.rule_model, memory, 3) == "auterity_system_memory_ratio > 1 for 2 min"


def test_firing_alert_pops_up_anywhere_then_acknowledge_and_silence(make_app: Any) -> None:
    app = signed_in(make_app)
    assert app.window.current_page() == "dashboard"
    backlog_rule(app)
    backlog(app, 900)
    app.until(lambda: len(app.window.alert_toasts.toasts) == 1)
    (toast,) = app.window.alert_toasts.toasts
    assert toast.title.text() == "Critical: Lead backlog"
    assert toast.text.text() == f"{BACKLOG} is 900 (> 500)"
    assert toast.isVisible()
    toast.action_button.click()  # "Show alerts" opens the page on that alert
    assert app.window.current_page() == "alerts"
    page = app.window.pages["alerts"]
    app.until(lambda: page.selected_alert() is not None)
    model = page.open_model
    assert [cell(model, 0, c) for c in (0, 1, 2, 3, 4, 6)] == [
        "● critical", "Lead backlog", "—", "900", "● firing", "—",
    ]  # fmt: skip
    assert page.tabs.tabText(OPEN_TAB) == "&Firing now (1)"
    assert "Lead backlog" in page.open_detail.toPlainText()
    assert "firing" in page.open_detail.toPlainText()
    alert = page.selected_alert()

    dialog = page.acknowledge_selected()
    assert dialog is not None and dialog.isVisible()
    dialog.note.setText("Moving old exports to the archive")
    dialog.accept()
    app.until(lambda: page.open_model.rowCount() == 1 and page.open_model.item(0).acknowledged)
    assert cell(page.open_model, 0, 6) == "alice"
    assert page.message.text() == "Acknowledged Lead backlog."
    app.until(lambda: page.selected_alert() is not None)
    assert not page.ack_button.isEnabled()
    assert "Moving old exports to the archive" in page.open_detail.toPlainText()

    dialog = page.silence_selected()
    assert not dialog.silence_button.isEnabled()  # a reason is required
    assert dialog.problem.text() == "Say why, so others know when to lift it."
    dialog.reason.setText("Archive disk is being replaced")
    dialog.whole_rule.setChecked(True)
    dialog.duration.setCurrentIndex(dialog.duration.findText("4 hours"))
    assert dialog.silence_button.isEnabled()
    dialog.accept()
    app.until(lambda: page.silence_model.rowCount() == 1)
    app.until(lambda: page.open_model.item(0).silenced)
    assert cell(page.open_model, 0, 4) == "● firing · silenced"
    assert page.message.text().startswith("Silenced rule Lead backlog until ")
    assert page.tabs.tabText(SILENCES_TAB) == "&Silences (1)"
    assert cell(page.silence_model, 0, 1) == "Archive disk is being replaced"

    # a silenced alert makes no toast
    backlog(app, 20)
    backlog(app, 950)
    app.until(lambda: page.open_model.rowCount() == 1 and page.open_model.item(0).id != alert.id)
    assert app.window.alert_toasts.toasts == []  # the first one went with "Show alerts"

    # lift the silence
    page.tabs.setCurrentIndex(SILENCES_TAB)
    page.silence_table.selectRow(0)
    app.until(lambda: page.unsilence_button.isEnabled())
    page.unsilence_selected()
    app.until(lambda: page.silence_model.rowCount() == 0)
    assert page.silence_stack.currentWidget() is page.silence_empty

    # it resolves: the history shows the first one with how long it lasted
    backlog(app, 10)
    app.until(lambda: page.open_model.rowCount() == 0)
    page.tabs.setCurrentIndex(HISTORY_TAB)
    app.until(lambda: page.past_model.rowCount() == 2)
    assert page.range_label.text() == "1–2 of 2"
    assert page.select_alert(alert.id)
    app.until(lambda: "acknowledged by alice" in page.past_detail.toPlainText())
    assert cell(page.past_model, page.past_model.row_of(alert.id), 6) == "alice"


def test_rule_editor_validates_and_creates_edits_disables_and_deletes(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(platform.integrations.establish_connection(
        admin, {"name": "Ops mail", "kind": "email", "host": "127.0.0.1", "port": 2525,
                "security": "none", "from_address": "alerts@dealer.example"},
    ))  # fmt: skip
    page = open_alerts(app)
    page.tabs.setCurrentIndex(RULES_TAB)
    dialog = page.new_rule()
    assert dialog is not None and dialog.isVisible()
    assert not dialog.save_button.isEnabled()
    assert "Give the rule a name" in dialog.problem.text()
    assert "Name the metric to watch" in dialog.problem.text()
    dialog.name.setText("Failures piling up")
    dialog.kind.setCurrentIndex(dialog.kind.findData("rate"))
    assert dialog.pages.currentIndex() == 1 and "per minute" in dialog.kind_hint.text()
    dialog.metric_box.setCurrentText("auterity_runs_total")
    dialog.labels.setText("status")
    assert dialog.problem.text() == "Write labels as name=value, not 'status'"
    dialog.labels.setText("status=failed")
    fields = dialog.fields["rate"]
    fields["threshold"].setValue(1.0)
    fields["window"].setValue(5)
    dialog.for_seconds.setValue(60)
    dialog.severity.setCurrentIndex(dialog.severity.findData("critical"))
    dialog.integration.setCurrentIndex(dialog.integration.findData("Ops mail"))
    assert not dialog.recipients.isHidden() and dialog.path.isHidden()
    assert dialog.problem.text() == "Name at least one recipient for the e-mail"
    dialog.recipients.setText("ops@dealer.example")
    assert dialog.problem.text() == "" and dialog.save_button.isEnabled()
    dialog.request_preview()
    app.until(lambda: dialog.preview.text() not in ("", "Checking…"))
    assert "stays quiet" in dialog.preview.text()
    dialog.submit()
    app.until(lambda: page.rule_dialog is None and rule_row(page, "Failures piling up") >= 0)
    row = rule_row(page, "Failures piling up")
    assert cell(page.rule_model, row, 3) == (
        "rate of auterity_runs_total{status=failed} > 1/min over 5 min for 1 min"
    )
    assert cell(page.rule_model, row, 5) == "Ops mail → ops@dealer.example"
    assert page.message.text().startswith("Saved the rule Failures piling up")

    # the same name again: the service refuses, the dialog stays open and says why
    again = page.new_rule()
    again.name.setText("Failures piling up")
    again.kind.setCurrentIndex(again.kind.findData("absence"))
    again.metric_box.setCurrentText("auterity_queue_depth")
    again.submit()
    app.until(lambda: "exists already" in again.problem.text())
    assert again.isVisible() and again.save_button.isEnabled()
    again.reject()

    # edit: the fields come back, a change is saved
    app.until(lambda: page.select_rule(page.rule_model.item(row).id))
    editor = page.edit_rule()
    assert editor.name.text() == "Failures piling up" and editor.labels.text() == "status=failed"
    assert editor.fields["rate"]["window"].value() == 5
    assert editor.recipients.text() == "ops@dealer.example"
    editor.fields["rate"]["threshold"].setValue(2.5)
    editor.submit()
    app.until(lambda: "> 2.5/min" in cell(page.rule_model, rule_row(page, "Failures piling up"), 3))

    # the checkbox disables it
    row = rule_row(page, "Failures piling up")
    proxy = page.rule_table.model()
    index = proxy.mapFromSource(page.rule_model.index(row, 0))
    assert proxy.flags(index) & Qt.ItemFlag.ItemIsUserCheckable
    proxy.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    app.until(lambda: not page.rule_model.item(rule_row(page, "Failures piling up")).enabled)
    assert page.summary.text().endswith("5 of 6 rules on")

    # delete asks first
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    assert page.select_rule(page.rule_model.item(rule_row(page, "Failures piling up")).id)
    app.until(lambda: page.delete_button.isEnabled())
    page.delete_selected_rule()
    app.until(lambda: rule_row(page, "Failures piling up") < 0)
    assert page.message.text() == "Deleted the rule Failures piling up."


def test_model_drift_alert_and_evaluate_now(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_alerts(app)
    platform = app.bridge.platform
    platform.events.publish(
        "model_drift_detected",
        {"model": "lead-scoring", "version": "7", "message": "PSI 0.28 on credit_band",
         "details": {"psi": 0.28}},
    )  # fmt: skip
    app.until(lambda: page.open_model.rowCount() == 1)
    app.until(lambda: len(app.window.alert_toasts.toasts) == 1)
    assert (
        app.window.alert_toasts.toasts[0].title.text() == "Warning: Model drift: lead-scoring (7)"
    )
    assert page.select_alert(page.open_model.item(0).id)
    detail = page.open_detail.toPlainText()
    assert "Reported by model monitoring" in detail and '"psi": 0.28' in detail
    dialog = page.acknowledge_selected()
    assert dialog.hint.text().startswith("Acknowledging resolves an alert reported by model")
    dialog.accept()
    app.until(lambda: page.open_model.rowCount() == 0)
    assert page.message.text() == "Acknowledged Model drift: lead-scoring (7). It is resolved."
    page.evaluate_now()
    app.until(lambda: page.message.text().startswith("Checked 5 rules"))


def test_a_viewer_sees_alerts_but_cannot_change_them(make_app: Any) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    backlog_rule(app)
    app.sign_in_as("vera", "Viewer-Pass-2026")
    page = open_alerts(app)
    backlog(app, 900)
    app.until(lambda: page.open_model.rowCount() == 1)
    app.until(lambda: len(app.window.alert_toasts.toasts) == 1)  # reading is allowed
    for button in (page.new_rule_button, page.evaluate_button, page.ack_button,
                   page.silence_button, page.edit_button, page.toggle_button,
                   page.delete_button, page.unsilence_button):  # fmt: skip
        assert button.isHidden()
    assert page.select_alert(page.open_model.item(0).id)
    assert page.acknowledge_selected() is None and page.silence_selected() is None
    assert page.new_rule() is None and page.evaluate_now() is None
    proxy = page.rule_table.model()
    assert not proxy.flags(proxy.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
