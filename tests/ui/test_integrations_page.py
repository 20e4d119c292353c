"""Integration setup screens: the wizard alone (forms from the connector schema, inline
validation, secrets, Test connection) and the Integrations page on the real platform (a REST
integration against a local HTTP server: create, list, test, edit keeping the secret,
delete with confirmation; roles; the keyring missing)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QMessageBox

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.integrations.controller import secret_ref
from auterity_desktop.services.integrations.info import TestResult
from auterity_desktop.services.integrations.schema import (
    ConnectorSpec,
    FieldSpec,
    validate_config,
)
from auterity_desktop.ui.tasks import TaskRunner
from auterity_desktop.ui.widgets.integration_fields import (
    STORED_PLACEHOLDER,
    BooleanFieldEditor,
    EnumFieldEditor,
    IntegerFieldEditor,
    LineFieldEditor,
    MappingFieldEditor,
    NumberFieldEditor,
    SecretFieldEditor,
    TextFieldEditor,
)
from auterity_desktop.ui.widgets.integration_table import status_text
from auterity_desktop.ui.widgets.integration_wizard import IntegrationWizardDialog
from tests.services.workflows.local_http import local_http_server

VIN_PATH = "/vehicles/1HGCM82633A004352"

# -- the wizard alone ---------------------------------------------------------------------

CRM = ConnectorSpec(
    "crm",
    "Test CRM",
    "Every field type once.",
    (
        FieldSpec("base_url", "Base URL", "url", required=True, help="Where the API lives"),
        FieldSpec("auth", "Authentication", "enum", default="none",
                  choices=("none", "api_key", "oauth2")),
        FieldSpec("api_key", "API key", "secret", required=True, show_if=("auth", "api_key")),
        FieldSpec("client_id", "Client ID", "string", required=True, show_if=("auth", "oauth2")),
        FieldSpec("retries", "Retries", "integer", default=3, minimum=0, maximum=10),
        FieldSpec("timeout", "Timeout (seconds)", "number", default=30, minimum=0.1,
                  maximum=600),
        FieldSpec("verify_tls", "Verify TLS", "boolean", default=True),
        FieldSpec("notes", "Notes", "text"),
        FieldSpec("fields", "Field mapping", "mapping", default={},
                  help="Our field name → their field name"),
    ),
)  # fmt: skip
MAIL = ConnectorSpec(
    "mail",
    "Test mail",
    "A second type.",
    (FieldSpec("host", "SMTP server", "string", required=True),),
)


def _validate(kind: str, config: dict[str, Any], stored: frozenset[str]) -> list[Any]:
    spec = {"crm": CRM, "mail": MAIL}[kind]
    return validate_config(spec, config, stored_secrets=stored)


@pytest.fixture
def tasks(qloop: qasync.QEventLoop) -> Iterator[TaskRunner]:
    errors: list[BaseException] = []
    runner = TaskRunner(errors.append)
    yield runner
    qloop.run_until_complete(runner.shutdown())
    assert not errors


class FakeService:
    """Answers the wizard's test and save calls; a gate holds the test to see 'Testing…'."""

    def __init__(self) -> None:
        self.tested: list[dict[str, Any]] = []
        self.saved: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.result: TestResult | ServiceError = TestResult(True, "healthy", 0.042, "OK", {})
        self.save_error: ServiceError | None = None

    async def test(self, config: dict[str, Any]) -> TestResult:
        self.tested.append(config)
        await self.gate.wait()
        if isinstance(self.result, ServiceError):
            raise self.result
        return self.result

    async def save(self, config: dict[str, Any]) -> dict[str, Any]:
        self.saved.append(config)
        if self.save_error is not None:
            raise self.save_error
        return config


def wizard(qtbot: Any, tasks: TaskRunner, fake: FakeService, **kwargs: Any) -> Any:
    dialog = IntegrationWizardDialog(
        [CRM, MAIL], validate=_validate, test=fake.test, save=fake.save, tasks=tasks, **kwargs
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def label_of(dialog: Any, field: str) -> str:
    label = dialog.form.labelForField(dialog.rows[field])
    return label.text() if isinstance(label, QLabel) else ""


def test_form_is_generated_from_the_connector_schema(qtbot: Any, tasks: TaskRunner) -> None:
    dialog = wizard(qtbot, tasks, FakeService())
    # step 1: the connector types with title and description
    assert dialog.steps.currentIndex() == dialog.CHOOSE
    assert not dialog.save_button.isVisible() and dialog.next_button.isVisible()
    items = [dialog.chooser.item(r) for r in range(dialog.chooser.count())]
    assert [i.text() for i in items] == ["Test CRM", "Test mail"]
    assert items[0].data(Qt.ItemDataRole.UserRole + 1) == "Every field type once."
    dialog.chooser.setCurrentRow(0)
    qtbot.keyClick(dialog.chooser, Qt.Key.Key_Return)  # Enter takes the highlighted type
    assert dialog.steps.currentIndex() == dialog.FORM and dialog.kind == "crm"
    assert dialog.focusWidget() is dialog.name

    editors = dialog.editors
    assert {name: type(e) for name, e in editors.items()} == {
        "base_url": LineFieldEditor,
        "auth": EnumFieldEditor,
        "api_key": SecretFieldEditor,
        "client_id": LineFieldEditor,
        "retries": IntegerFieldEditor,
        "timeout": NumberFieldEditor,
        "verify_tls": BooleanFieldEditor,
        "notes": TextFieldEditor,
        "fields": MappingFieldEditor,
    }
    # required marks, mnemonics (unique), buddies and tooltips from the help
    assert label_of(dialog, "base_url") == "B&ase URL *"  # b belongs to Back
    assert label_of(dialog, "name") == "&Name *"
    texts = [label_of(dialog, f) for f in dialog.rows] + [editors["verify_tls"].check.text()]
    keys = [t[t.index("&") + 1].lower() for t in texts if "&" in t]
    assert len(keys) == len(set(keys)) == len(texts) - 1  # all but the empty checkbox row
    assert editors["base_url"].edit.toolTip() == "Where the API lives"
    assert dialog.form.labelForField(dialog.rows["base_url"]).buddy() is editors["base_url"].edit
    # defaults are shown; the numbers read without trailing zeros
    assert editors["retries"].value() == 3 and editors["timeout"].spin.text() == "30"
    assert editors["verify_tls"].value() is True and editors["fields"].value() == {}

    # show_if: the API key only for "api_key", the client id only for "oauth2" — live
    assert not dialog.rows["api_key"].isVisible() and not dialog.rows["client_id"].isVisible()
    editors["auth"].set_value("api_key")
    assert dialog.rows["api_key"].isVisible() and not dialog.rows["client_id"].isVisible()
    editors["auth"].set_value("oauth2")
    assert not dialog.rows["api_key"].isVisible() and dialog.rows["client_id"].isVisible()

    # the secret is a password field with a show/hide toggle
    editors["auth"].set_value("api_key")
    secret = editors["api_key"]
    assert secret.edit.echoMode() == QLineEdit.EchoMode.Password
    secret.toggle.click()
    assert secret.edit.echoMode() == QLineEdit.EchoMode.Normal and secret.toggle.text() == "Hide"
    secret.toggle.click()
    assert secret.edit.echoMode() == QLineEdit.EchoMode.Password

    # the mapping editor: two columns titled from the help, add and remove rows
    mapping = editors["fields"]
    assert [mapping.table.horizontalHeaderItem(c).text() for c in (0, 1)] == [
        "Our field name",
        "Their field name",
    ]
    mapping.add_row("email", "EmailAddress", edit=False)
    mapping.add_row("phone", "Phone1", edit=False)
    assert mapping.value() == {"email": "EmailAddress", "phone": "Phone1"}
    mapping.table.selectRow(0)
    mapping.remove_button.click()
    assert mapping.value() == {"phone": "Phone1"}

    # the config holds the fields that apply (no client_id for api_key auth)
    dialog.name.setText("Showroom CRM")
    editors["base_url"].edit.setText("  https://crm.example.com/api ")
    secret.edit.setText("s3cret")
    editors["notes"].edit.setPlainText("Ask Dana for a new key")
    assert dialog.config() == {
        "name": "Showroom CRM",
        "kind": "crm",
        "base_url": "https://crm.example.com/api",
        "auth": "api_key",
        "api_key": "s3cret",
        "retries": 3,
        "timeout": 30,
        "verify_tls": True,
        "notes": "Ask Dana for a new key",
        "fields": {"phone": "Phone1"},
    }
    # back to the types and on to another one: a new form, the name kept
    dialog.back_button.click()
    assert dialog.steps.currentIndex() == dialog.CHOOSE
    dialog.chooser.select_kind("mail")
    dialog.next_button.click()
    assert set(dialog.editors) == {"host"} and dialog.name.text() == "Showroom CRM"


def test_inline_validation_disables_save_until_the_form_is_right(
    qtbot: Any, tasks: TaskRunner
) -> None:
    fake = FakeService()
    dialog = wizard(qtbot, tasks, fake, taken_names=["Main DMS"])
    dialog.next_step()
    editors = dialog.editors
    assert not dialog.save_button.isEnabled() and not dialog.test_button.isEnabled()
    # nothing shows red before the user was there, but the footer says what blocks saving
    assert not dialog.rows["base_url"].error.isVisible()
    assert dialog.summary.text().startswith("To save: ")
    qtbot.keyClicks(editors["base_url"].edit, "ftp://crm")
    assert dialog.rows["base_url"].error.text() == "Base URL must be an http:// or https:// address"
    assert dialog.rows["base_url"].error.isVisible()
    editors["base_url"].edit.setText("https://crm.example.com")
    assert not dialog.rows["base_url"].error.isVisible()
    dialog.name.setText("main dms")  # names are unique, whatever the case
    assert dialog.rows["name"].error.text() == "An integration called “main dms” exists already"
    dialog.name.setText("Showroom CRM")
    editors["auth"].set_value("api_key")  # a required secret appears: missing
    assert not dialog.save_button.isEnabled()
    dialog.save()  # refused: reveals every problem and focuses the first
    assert fake.saved == []
    assert dialog.rows["api_key"].error.text() == "API key is required"
    assert dialog.focusWidget() is editors["api_key"].edit
    editors["api_key"].edit.setText("k")
    mapping = editors["fields"]
    mapping.add_row("email", "A", edit=False)
    mapping.add_row("email", "B", edit=False)
    assert dialog.rows["fields"].error.text() == "Field mapping: “email” appears twice"
    assert not dialog.save_button.isEnabled()
    mapping.table.item(1, 0).setText("phone")
    assert dialog.problems == {}
    assert dialog.save_button.isEnabled() and dialog.test_button.isEnabled()
    assert dialog.summary.text() == "" and not dialog.summary.isVisible()


def test_test_connection_shows_testing_then_status_latency_and_the_precise_error(
    qtbot: Any, tasks: TaskRunner, qloop: qasync.QEventLoop
) -> None:
    fake = FakeService()
    dialog = wizard(qtbot, tasks, fake)
    dialog.next_step()
    dialog.name.setText("Showroom CRM")
    dialog.editors["base_url"].edit.setText("https://crm.example.com")
    fake.gate.clear()
    task = dialog.test_connection()
    assert task is not None
    qloop.run_until_complete(asyncio.sleep(0.05))
    assert dialog.test_status.text() == "Testing…" and dialog.busy.isVisible()
    assert dialog.test_button.text() == "Cancel &test"
    assert fake.tested[0]["base_url"] == "https://crm.example.com"
    fake.gate.set()
    qloop.run_until_complete(task)
    assert dialog.test_status.text() == "✔ Healthy  ·  42 ms"
    assert dialog.test_status.objectName() == "HealthOk"
    assert not dialog.busy.isVisible() and dialog.test_button.text() == "&Test connection"
    assert dialog.test_message.text() == "OK"

    # a failed connection: the status, and the controller's message word for word
    fake.result = TestResult(
        False, "down", None, "Connection refused by crm.example.com:443", {"code": "TIMEOUT"}
    )
    qloop.run_until_complete(dialog.test_connection())
    assert dialog.test_status.text() == "✖ Down"
    assert dialog.test_status.objectName() == "HealthError"
    assert dialog.test_message.text() == (
        "Connection refused by crm.example.com:443\nError code: TIMEOUT"
    )
    dialog.editors["retries"].set_value(5)  # the form changed: the result says so
    assert dialog.test_message.text().endswith("(The form changed since this test.)")

    # the test could not run at all (e.g. no keyring): its message, not a crash report
    fake.result = ServiceError(ErrorCode.SECRET_STORE_UNAVAILABLE, "No usable system keyring")
    qloop.run_until_complete(asyncio.gather(dialog.test_connection(), return_exceptions=True))
    assert dialog.test_status.text() == "✖ The test could not run"
    assert "No usable system keyring" in dialog.test_message.text()

    # a test can be cancelled; closing the dialog cancels one still running
    fake.gate.clear()
    task = dialog.test_connection()
    dialog.test_button.click()
    assert task is not None and dialog.test_status.text() == "Test cancelled."
    qloop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    assert task.cancelled()
    task = dialog.test_connection()
    dialog.reject()
    qloop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    assert task is not None and task.cancelled()


def test_editing_keeps_stored_secrets_and_shows_save_errors(
    qtbot: Any, tasks: TaskRunner, qloop: qasync.QEventLoop
) -> None:
    fake = FakeService()
    existing = _info(
        "crm",
        {"base_url": "https://crm.example.com", "auth": "api_key", "retries": 2,
         "fields": {"email": "Mail"}},
        {"api_key": True},
    )  # fmt: skip
    dialog = wizard(qtbot, tasks, fake, existing=existing, taken_names=["Showroom CRM"])
    assert dialog.windowTitle() == "Edit integration — Showroom CRM"
    assert dialog.steps.currentIndex() == dialog.FORM and not dialog.back_button.isVisible()
    editors = dialog.editors
    assert editors["retries"].value() == 2 and editors["fields"].value() == {"email": "Mail"}
    assert editors["api_key"].edit.placeholderText() == STORED_PLACEHOLDER
    assert editors["api_key"].edit.text() == ""
    assert dialog.problems == {} and dialog.save_button.isEnabled()  # the stored key counts
    assert "api_key" not in dialog.config()  # left empty: keep it
    # a save the controller refuses keeps the dialog open with the reason
    fake.save_error = ServiceError(
        ErrorCode.SECRET_STORE_UNAVAILABLE, "No usable system keyring was found"
    )
    editors["api_key"].edit.setText("rotated")
    qloop.run_until_complete(asyncio.gather(dialog.save(), return_exceptions=True))
    assert dialog.isVisible() and dialog.save_error.isVisible()
    assert dialog.save_error.text() == "Nothing was saved: No usable system keyring was found"
    fake.save_error = ServiceError(
        ErrorCode.CONFLICT, "An integration called 'X' exists already", {"field": "name"}
    )
    qloop.run_until_complete(asyncio.gather(dialog.save(), return_exceptions=True))
    assert dialog.rows["name"].error.text() == "An integration called 'X' exists already"
    fake.save_error = None
    saved: list[Any] = []
    dialog.sig_saved.connect(saved.append)
    qloop.run_until_complete(dialog.save())
    assert saved and saved[0]["api_key"] == "rotated" and not dialog.isVisible()
    assert dialog.result() == dialog.DialogCode.Accepted


def _info(kind: str, config: dict[str, Any], secrets: dict[str, bool]) -> Any:
    from auterity_desktop.services.integrations.info import IntegrationInfo

    return IntegrationInfo(
        id="i1", name="Showroom CRM", kind=kind, config=config, secrets=secrets,
        status="never_tested", circuit="closed", last_checked_at=None, last_latency=None,
        last_error=None, created_by="alice", updated_at=0.0,
    )  # fmt: skip


# -- the page on the real platform --------------------------------------------------------


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def open_page(app: Any) -> Any:
    page = app.window.show_page("integrations")
    app.until(lambda: page._loaded_once)
    return page


def fill_rest(dialog: Any, name: str, url: str, key: str) -> None:
    dialog.chooser.select_kind("rest")
    dialog.next_button.click()
    dialog.name.setText(name)
    dialog.editors["base_url"].edit.setText(url)
    auth = dialog.editors["auth"].combo
    auth.setCurrentIndex(auth.findData("api_key"))
    dialog.editors["api_key"].edit.setText(key)
    dialog.editors["health_path"].edit.setText(VIN_PATH)


def stored_key(app: Any, integration_id: str) -> Any:
    return app.run(app.bridge.platform.secrets.get(secret_ref(integration_id, "api_key")))


def test_create_test_edit_and_delete_a_rest_integration(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = signed_in(make_app)
    page = open_page(app)
    assert page.list_stack.currentWidget() is page.empty
    assert page.empty.title.text() == "No integrations yet"
    assert "connect your DMS, CRM, a database, e-mail or any REST API" in page.empty.text.text()
    assert page.empty_new_button.isVisible() and page.new_button.isVisible()

    with local_http_server() as url:
        # the wizard: type, form, test before saving, save
        dialog = page.new_integration()
        assert dialog is not None and dialog.isVisible()
        fill_rest(dialog, "Inventory API", url, "key-1")
        test = dialog.test_connection()
        app.until(lambda: test.done() and dialog.test_result is not None)
        assert dialog.test_status.text().startswith("✔ Healthy  ·  ")
        assert dialog.test_status.text().endswith(" ms")
        assert dialog.test_message.text() == f"Connected: {VIN_PATH} answered 200"
        dialog.save_button.click()
        app.until(lambda: page.model.rowCount() == 1 and page.wizard is None)
        info = page.model.integration(0)
        assert page.message.text() == "Saved Inventory API — press Test to check it."
        assert page.list_stack.currentWidget() is page.table
        assert info.secrets == {"api_key": True, "token": False, "password": False,
                                "client_secret": False}  # fmt: skip
        assert stored_key(app, info.id) == "key-1"
        assert "key-1" not in str(info.config)
        row = [page.proxy.index(0, c).data() for c in range(6)]
        assert row == ["Inventory API", "REST / HTTP API", "○ Never tested", "never", "—",
                       "closed"]  # fmt: skip
        assert page.selected_id() == info.id  # the new one is selected, its details shown
        assert page.details.isVisible() and page.details.title() == "Inventory API"
        assert page.detail_labels["secrets"].text() == "API key: stored in the system keyring"

        # Test from the list: healthy with a latency, recorded in the list
        task = page.test_selected()
        assert page.proxy.index(0, 2).data() == status_text("testing")
        assert not page.test_button.isEnabled()
        app.until(lambda: task.done() and page.model.integration(0).status == "healthy")
        checked = page.model.integration(0)
        assert checked.last_latency is not None and checked.last_latency > 0
        assert page.proxy.index(0, 2).data() == "✔ Healthy"
        assert page.proxy.index(0, 4).data().endswith(" ms")
        assert page.proxy.index(0, 3).data() != "never"
        assert page.message.text().startswith("Inventory API: ✔ Healthy · ")
        assert page.test_button.isEnabled()

        # Edit: the secret field is empty with a "stored" placeholder; saving keeps it
        dialog = page.edit_selected()
        assert dialog is not None and dialog.windowTitle() == "Edit integration — Inventory API"
        assert dialog.editors["api_key"].edit.placeholderText() == STORED_PLACEHOLDER
        assert dialog.editors["base_url"].value() == url
        dialog.editors["timeout"].set_value(12)
        dialog.name.setText("Inventory API (main)")
        test = dialog.test_connection()  # the stored key is used for the test
        app.until(lambda: test.done())
        assert dialog.test_status.text().startswith("✔ Healthy")
        dialog.save_button.click()
        app.until(lambda: page.wizard is None and page.model.integration(0).name.endswith("(main)"))
        edited = page.model.integration(0)
        assert edited.config["timeout"] == 12 and edited.secrets["api_key"] is True
        assert stored_key(app, info.id) == "key-1"  # kept, not emptied
        assert page.message.text() == "Saved Inventory API (main)."

        # a new value rotates it
        dialog = page.edit_selected()
        dialog.editors["api_key"].edit.setText("key-2")
        dialog.save()
        app.until(lambda: page.wizard is None)
        assert stored_key(app, info.id) == "key-2"

    # Delete asks first, naming the integration and the keyring; No keeps it
    asked: list[tuple[str, str]] = []
    answer = [QMessageBox.StandardButton.No]

    def question(_parent: Any, title: str, text: str, *_args: Any) -> Any:
        asked.append((title, text))
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    assert page.delete_selected() is None
    assert "“Inventory API (main)”" in asked[0][1]
    assert "removed from the system keyring" in asked[0][1]
    assert page.model.rowCount() == 1
    answer[0] = QMessageBox.StandardButton.Yes
    page.table.setFocus()
    task = page.delete_selected()
    app.until(lambda: task.done() and page.model.rowCount() == 0)
    assert page.list_stack.currentWidget() is page.empty
    assert page.message.text() == "Deleted Inventory API (main) and its secrets."
    assert stored_key(app, info.id) is None  # gone from the keyring
    assert not app.crash.dialogs


def test_the_form_refuses_a_bad_url_inline_and_a_down_system_shows_its_error(
    make_app: Any,
) -> None:
    app = signed_in(make_app)
    page = open_page(app)
    dialog = page.new_integration()
    dialog.chooser.select_kind("rest")
    dialog.next_step()
    dialog.name.setText("Parts")
    dialog.editors["base_url"].edit.setText("localhost:8080/api")
    error = dialog.rows["base_url"].error
    assert error.isVisible()
    assert error.text() == "Base URL must be an http:// or https:// address"
    assert not dialog.save_button.isEnabled() and not dialog.test_button.isEnabled()
    # oauth2 asks for its own fields, live
    auth = dialog.editors["auth"].combo
    auth.setCurrentIndex(auth.findData("oauth2"))
    assert dialog.rows["token_url"].isVisible() and dialog.rows["client_secret"].isVisible()
    assert not dialog.rows["api_key"].isVisible()
    auth.setCurrentIndex(auth.findData("none"))

    # nothing listens on the discard port: "down" and the precise reason
    dialog.editors["base_url"].edit.setText("http://127.0.0.1:9")
    dialog.editors["timeout"].set_value(2)
    assert dialog.save_button.isEnabled()
    test = dialog.test_connection()
    app.until(lambda: test.done(), timeout=30)
    assert dialog.test_status.text() == "✖ Down"
    assert dialog.test_message.text()  # the controller's words, shown as they are
    assert dialog.test_message.objectName() == "HealthError"
    dialog.reject()
    app.until(lambda: page.wizard is None)
    assert page.model.rowCount() == 0  # testing saved nothing
    assert not app.crash.dialogs


def test_roles_decide_the_buttons(make_app: Any) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(
        platform.integrations.establish_connection(
            admin,
            {
                "name": "Website leads",
                "kind": "webhook",
                "path": "leads/new",
                "signing_secret": "whsec",
            },
        )
    )
    for user in ("vera", "otto"):
        role = "viewer" if user == "vera" else "operator"
        app.run(platform.security.users.create_user(admin, user, "Viewer-Pass-2026", role))
    page = open_page(app)
    assert all(
        b.isVisible()
        for b in (page.new_button, page.edit_button, page.test_button, page.delete_button)
    )

    def sign_in_as(user: str) -> None:
        app.window.sign_out()
        app.until(lambda: app.window.login_dialog is not None and not app.window.session.signed_in)
        dialog = app.window.login_dialog
        dialog.username.setText(user)
        dialog.password.setText("Viewer-Pass-2026")
        dialog.submit()
        app.until(lambda: app.window.session.signed_in)

    sign_in_as("vera")  # viewer: reads the list, changes nothing
    page = app.window.show_page("integrations")
    app.until(lambda: page.model.rowCount() == 1)
    for button in (page.new_button, page.edit_button, page.test_button, page.delete_button):
        assert not button.isVisible()
    assert page.new_integration() is None and page.edit_selected() is None
    assert page.proxy.index(0, 0).data() == "Website leads"

    sign_in_as("otto")  # operator: may test, not change or delete
    app.until(lambda: page.test_button.isVisible())
    assert not page.new_button.isVisible() and not page.delete_button.isVisible()
    page.select(page.model.integration(0).id)
    task = page.test_selected()
    app.until(lambda: task.done() and page.model.integration(0).status == "healthy")
    assert not app.crash.dialogs


def test_a_missing_keyring_is_said_prominently(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = signed_in(make_app)
    page = open_page(app)
    secrets = app.bridge.platform.secrets
    message = "No usable system keyring was found, so secrets cannot be stored safely."

    def unavailable() -> None:
        raise ServiceError(ErrorCode.SECRET_STORE_UNAVAILABLE, message, {})

    monkeypatch.setattr(secrets, "check_available", unavailable)
    dialog = page.new_integration()
    fill_rest(dialog, "CRM", "https://crm.example.com", "k")
    dialog.save()
    app.until(lambda: dialog.save_error.isVisible())
    assert dialog.save_error.text() == f"Nothing was saved: {message}"
    assert dialog.isVisible()  # the form is not lost
    dialog.reject()
    app.until(lambda: page.wizard is None)
    assert page.model.rowCount() == 0

    # a page action failing the same way raises the banner above the list
    page.failed(ServiceError(ErrorCode.SECRET_STORE_UNAVAILABLE, message, {}))
    assert page.keyring_banner.isVisible()
    assert page.keyring_banner.text() == f"⚠ System keyring: {message}"
    assert not app.crash.dialogs


def test_checkbox_rows_and_widgets_have_accessible_names(qtbot: Any, tasks: TaskRunner) -> None:
    dialog = wizard(qtbot, tasks, FakeService())
    dialog.next_step()
    for name, editor in dialog.editors.items():
        assert editor.focus_widget.accessibleName(), name
    assert isinstance(dialog.editors["verify_tls"].focus_widget, QCheckBox)
    assert isinstance(dialog.editors["auth"].focus_widget, QComboBox)
    assert dialog.editors["auth"].combo.itemText(1) == "API key"  # a readable choice
