"""The REST API section of the Settings page, on the real platform and a real socket: the
switch starts and stops the server (and is remembered, so the next console starts it),
a port in use reads as a sentence, a key created in the panel is shown once and works
until it is revoked, requests show up in the live log, and a viewer manages nothing."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QMessageBox

from auterity_desktop.config import load_settings
from auterity_desktop.ui.main_window import window_state
from auterity_desktop.ui.models.api_keys_model import STATE
from auterity_desktop.ui.models.request_log_model import (
    ACTOR,
    METHOD,
    PATH,
    STATUS,
    RequestLogModel,
)
from auterity_desktop.ui.widgets.api_server_panel import (
    ENABLED_KEY,
    PORT_KEY,
    ApiServerPanel,
    CreateApiKeyDialog,
    NewApiKeyDialog,
)

LIST = "/api/v1/workflows"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(app: Any, url: str, key: str | None = None) -> httpx.Response:
    async def request() -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(url, headers=headers)

    return app.run(request())  # type: ignore[no-any-return]


def refused(app: Any, url: str) -> bool:
    try:
        get(app, url)
    except httpx.ConnectError:
        return True
    return False


def settings_panel(make_app: Any) -> tuple[Any, ApiServerPanel]:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = app.window.show_page("settings")
    return app, page.api_panel


def turn_on(app: Any, panel: ApiServerPanel, port: int) -> None:
    panel.port_spin.setValue(port)
    panel.enabled_check.setChecked(True)  # as a click does
    app.until(lambda: panel.controller.running or bool(panel.controller.error))


def test_switch_starts_the_server_remembers_it_and_logs_requests(make_app: Any) -> None:
    app, panel = settings_panel(make_app)
    controller = panel.controller
    assert app.window.api_server is controller  # one per console, made with the window
    assert not panel.enabled_check.isChecked() and not controller.running
    assert panel.status_label.text().startswith("○ Off")
    assert not panel.copy_url_button.isVisible()

    port = free_port()
    turn_on(app, panel, port)
    url = f"http://127.0.0.1:{port}"
    assert controller.running and controller.url == url
    assert panel.status_label.text() == f'● Listening on <a href="{url}">{url}</a>'
    assert panel.status_label.objectName() == "HealthOk"
    assert panel.copy_url_button.isVisible()
    panel.copy_url_button.click()
    assert QGuiApplication.clipboard().text() == url
    state = QSettings(app.window.state.fileName(), QSettings.Format.IniFormat)
    assert state.value(ENABLED_KEY, type=bool) is True
    assert state.value(PORT_KEY, type=int) == port

    health = get(app, f"{url}/healthz")
    assert health.status_code == 200
    anonymous = get(app, f"{url}{LIST}")
    assert anonymous.status_code == 401

    # the live log: newest on top, the refusal coloured with the theme's warning colour
    app.until(lambda: panel.log_model.rowCount() >= 2)  # the 500 ms poll took them
    model = panel.log_model
    rows = [[model.index(r, c).data() for c in (METHOD, PATH, STATUS, ACTOR)] for r in range(2)]
    assert rows == [["GET", LIST, "401", "anonymous"], ["GET", "/healthz", "200", "anonymous"]]
    warning = app.theme.colors["warning"]
    assert model.index(0, STATUS).data(Qt.ItemDataRole.ForegroundRole) == QColor(warning)
    assert model.index(1, STATUS).data(Qt.ItemDataRole.ForegroundRole) is None
    assert panel.log_count.text() == "2 requests"

    # a new port moves the running server
    other = free_port()
    panel.port_spin.setValue(other)
    task = panel.apply_port()
    assert task is not None
    app.until(lambda: task.done() and controller.running)
    assert controller.url == f"http://127.0.0.1:{other}"
    assert refused(app, f"{url}/healthz")
    assert get(app, f"http://127.0.0.1:{other}/healthz").status_code == 200

    # off: the socket closes, and the choice is remembered
    panel.enabled_check.setChecked(False)
    app.until(lambda: not controller.running and not controller.busy)
    assert refused(app, f"http://127.0.0.1:{other}/healthz")
    assert panel.status_label.text().startswith("○ Off")
    assert state.value(ENABLED_KEY, type=bool) is False


def test_the_server_starts_with_the_console_and_stops_with_the_platform(
    make_app: Any,
) -> None:
    port = free_port()
    settings, _sources = load_settings()
    state = window_state(settings)
    state.setValue(ENABLED_KEY, True)
    state.setValue(PORT_KEY, port)
    state.sync()
    app = make_app()
    app.start_platform()  # nobody signed in and Settings never opened
    controller = app.window.api_server
    app.until(lambda: controller.running)
    assert "settings" not in app.window.pages
    url = f"http://127.0.0.1:{port}"
    assert get(app, f"{url}/healthz").status_code == 200

    app.shutdown()  # what closing the window does: the server goes before the services
    assert controller.server is None and not controller.running
    assert refused(app, f"{url}/healthz")


def test_a_port_in_use_is_shown_in_the_panel(make_app: Any) -> None:
    app, panel = settings_panel(make_app)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = int(taken.getsockname()[1])
        turn_on(app, panel, port)
        controller = panel.controller
        assert not controller.running
        text = panel.status_label.text()
        assert text.startswith("✖ Not running: Cannot listen on 127.0.0.1:")
        assert f":{port}: " in text and "in use" in text
        assert "Traceback" not in text
        assert panel.status_label.objectName() == "HealthError"
        assert panel.enabled_check.isChecked()  # still wanted: fix the port and it starts
        assert app.crash.dialogs == []

        # another port, and it runs
        free = free_port()
        panel.port_spin.setValue(free)
        task = panel.apply_port()
        assert task is not None
        app.until(lambda: task.done() and controller.running)
        assert panel.status_label.text().startswith("● Listening on")
        assert get(app, f"http://127.0.0.1:{free}/healthz").status_code == 200


def test_a_key_created_in_the_panel_is_shown_once_and_works_until_revoked(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, panel = settings_panel(make_app)
    port = free_port()
    turn_on(app, panel, port)
    url = f"http://127.0.0.1:{port}"
    app.until(lambda: bool(panel.roles))
    assert panel.keys_box.isVisible() and panel.create_key_button.isEnabled()
    assert panel.keys_model.rowCount() == 0
    assert not panel.revoke_button.isEnabled()

    dialog = panel.open_create_dialog()
    assert isinstance(dialog, CreateApiKeyDialog) and dialog.isVisible()
    assert [dialog.role.itemText(i) for i in range(dialog.role.count())] == panel.roles
    assert {"admin", "viewer"} <= set(panel.roles)
    assert dialog.role.currentText() == "viewer"
    assert dialog.submit() is None  # no name: said inline, nothing created
    assert dialog.error.text() == "Give the key a name that says which program uses it."
    dialog.name.setText("crm sync")
    dialog.expiry.setValue(30)
    task = dialog.submit()
    assert task is not None
    app.until(lambda: panel.key_dialog is not None and panel.keys_model.rowCount() == 1)
    shown = panel.key_dialog
    assert isinstance(shown, NewApiKeyDialog) and shown.isVisible()
    key = shown.key_edit.text()
    assert key.startswith("aut_") and shown.key_edit.isReadOnly()
    assert "only time the key is shown" in shown.warning.text()
    shown.copy_button.click()
    assert QGuiApplication.clipboard().text() == key
    assert panel.create_dialog is None  # the form closed on success

    info = panel.keys_model.info(0)
    assert (info.name, info.role, info.created_by) == ("crm sync", "viewer", "alice")
    row = [panel.keys_model.index(0, c).data() for c in range(7)]
    assert row[:3] == ["crm sync", "viewer", "alice"]
    assert row[4] != "never" and row[5] == "never" and row[6] == "active"
    assert key not in repr(panel.keys_model._rows)  # the list never holds the secret
    assert panel.selected_key() == info and panel.revoke_button.isEnabled()

    listed = get(app, f"{url}{LIST}", key)
    assert listed.status_code == 200
    assert listed.json() is not None

    # the same name again is refused in the dialog, not in a crash report
    again = panel.open_create_dialog()
    assert again is not None
    again.name.setText("crm sync")
    task = again.submit()
    assert task is not None
    app.until(lambda: task.done() and again.error.isVisible())
    assert again.error.text() == "An API key named 'crm sync' exists"
    assert again.isVisible() and app.crash.dialogs == []
    again.reject()

    # Revoke asks first; No keeps the key working
    shown.close()
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> Any:
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    assert panel.revoke_selected() is None
    assert "“crm sync” (viewer)" in asked[0]
    assert get(app, f"{url}{LIST}", key).status_code == 200
    answer[0] = QMessageBox.StandardButton.Yes
    task = panel.revoke_selected()
    assert task is not None
    app.until(lambda: task.done() and panel.keys_model.state(0) == "revoked")
    assert panel.keys_model.index(0, STATE).data() == "revoked"
    assert panel.message.text() == "Revoked the key “crm sync”."
    assert not panel.revoke_button.isEnabled()
    assert get(app, f"{url}{LIST}", key).status_code == 401

    # both calls with the key are in the log, as the key's actor, the refusal on top
    app.until(lambda: panel.log_model.rowCount() >= 3)
    model = panel.log_model
    top = [[model.index(r, c).data() for c in (PATH, STATUS, ACTOR)] for r in range(3)]
    assert top == [
        [LIST, "401", "anonymous"],
        [LIST, "200", "apikey:crm sync"],
        [LIST, "200", "apikey:crm sync"],
    ]


def test_a_viewer_cannot_manage_the_api(make_app: Any) -> None:
    app, panel = settings_panel(make_app)
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    app.sign_in_as("vera", "Viewer-Pass-2026")
    page = app.window.show_page("settings")
    assert page.api_panel is panel
    assert not panel.can_manage
    assert not panel.enabled_check.isEnabled() and not panel.port_spin.isEnabled()
    assert not panel.keys_box.isVisible() and not panel.log_box.isVisible()
    assert panel.read_only_note.isVisible()
    assert panel.open_create_dialog() is None
    assert panel.revoke("0123456789ab", "x") is None
    assert panel.apply_port() is None
    assert panel.poll_requests() == 0
    assert panel.keys_model.rowCount() == 0
    panel.enabled_check.setChecked(True)  # even if the disabled box were toggled somehow
    assert not panel.controller.enabled and not panel.enabled_check.isChecked()


def test_request_log_model_keeps_the_newest_thousand(qapp: Any) -> None:
    from auterity_desktop.services.gateway.service import RequestRecord

    def record(seq: int, status: int = 200) -> RequestRecord:
        return RequestRecord(seq, 1.0e9 + seq, "GET", f"/p/{seq}", status, 1.5, "127.0.0.1",
                             "alice", "/p", "")  # fmt: skip

    colours = {"warning": "#b45309", "error": "#b91c1c"}
    model = RequestLogModel(lambda: colours)
    assert model.add([record(s) for s in range(1, 601)]) == 600
    assert model.add([record(s) for s in range(550, 1201)]) == 600  # seen ones are skipped
    assert model.rowCount() == 1000 and model.last_seq == 1200
    assert model.index(0, PATH).data() == "/p/1200"
    assert model.index(999, PATH).data() == "/p/201"
    model.add([record(1201, 503)])
    assert model.index(0, STATUS).data(Qt.ItemDataRole.ForegroundRole) == QColor("#b91c1c")
    assert model.rowCount() == 1000
