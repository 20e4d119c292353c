"""Sign-in, roles in the GUI, users & roles, the audit viewer and the compliance page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from auterity_desktop.services.compliance.audit_trail import AuditItem
from auterity_desktop.ui.models.audit_table_model import PAGE_SIZE
from tests.services.compliance.test_compliance_engine import LEAD_FOLLOW_UP

PASSWORD = "Correct-Horse-42!"


def test_first_run_creates_the_admin_and_signs_in(make_app: Any) -> None:
    app = make_app()
    app.window.show()
    app.start_platform()
    app.until(lambda: app.window.login_dialog is not None)
    dialog = app.window.login_dialog
    assert dialog.first_run
    assert dialog.ok_button.text() == "Create administrator"
    assert not app.window.centralWidget().isEnabled()
    dialog.username.setText("alice")
    dialog.password.setText("short")
    dialog.confirm.setText("short")
    dialog.submit()
    app.until(lambda: dialog.error.isVisible() and dialog.ok_button.isEnabled())
    assert "at least 12 characters" in dialog.error.text()
    dialog.password.setText(PASSWORD)
    dialog.confirm.setText("different-one-123")
    dialog.submit()
    assert dialog.error.text() == "The two passwords differ."
    dialog.confirm.setText(PASSWORD)
    dialog.submit()
    app.until(lambda: app.window.session.signed_in)
    assert app.window.centralWidget().isEnabled()
    assert app.window.status.user_label.text() == "alice · admin"
    assert app.window.status.sign_out_button.isVisible()
    assert all(not b.isHidden() for b in app.window.rail.buttons.values())


def test_roles_hide_pages_and_wrong_password_shows_inline(make_app: Any) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    app.window.show_page("users")
    app.window.sign_out()
    app.until(lambda: app.window.login_dialog is not None and not app.window.session.signed_in)
    dialog = app.window.login_dialog
    assert not dialog.first_run
    dialog.username.setText("vera")
    dialog.password.setText("wrong-password-1")
    dialog.submit()
    app.until(lambda: dialog.error.isVisible())
    assert dialog.error.text() == "The user name or password is wrong."
    dialog.password.setText("Viewer-Pass-2026")
    dialog.submit()
    app.until(lambda: app.window.session.signed_in)
    hidden = {k for k, b in app.window.rail.buttons.items() if b.isHidden()}
    assert hidden == {"audit", "users"}
    assert app.window.current_page() == "dashboard"  # moved away from the forbidden page
    assert app.window.status.user_label.text() == "vera · viewer"


def test_expired_session_brings_sign_in_back_without_losing_work(make_app: Any) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = app.window.show_page("audit")
    page.text.setText("unsaved search text")
    token = app.window.session.token
    app.run(app.bridge.platform.security.logout(token))  # the session ends behind the GUI's back
    app.run(app.window.session.refresh())
    app.until(lambda: app.window.login_dialog is not None)
    dialog = app.window.login_dialog
    assert "Your session ended" in dialog.findChildren(type(dialog.error))[0].text()
    assert not app.window.centralWidget().isEnabled()
    dialog.username.setText("alice")
    dialog.password.setText(PASSWORD)
    dialog.submit()
    app.until(lambda: app.window.session.signed_in)
    assert app.window.show_page("audit") is page
    assert page.text.text() == "unsaved search text"


def test_users_and_roles_page(make_app: Any) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = app.window.show_page("users")
    app.until(lambda: page.user_table.rowCount() == 1)
    task = page.create_user("bob", "Garage-Door-2026", "operator", "Bob Smith")
    app.run(asyncio.gather(task))
    app.until(lambda: page.user_table.rowCount() == 2)
    assert page.user_table.item(1, 0).text() == "bob"
    assert page.user_table.item(1, 2).text() == "operator"
    app.run(asyncio.gather(page.set_disabled("bob", True)))
    app.until(lambda: page.user_table.item(1, 3).text() == "disabled")
    app.run(asyncio.gather(page.reset_password("bob", "weak"), return_exceptions=True))
    app.until(lambda: "not accepted" in page.message.text())
    app.run(asyncio.gather(page.assign_role("bob", "analyst")))
    app.until(lambda: page.user_table.item(1, 2).text() == "analyst")
    # a custom role edited through the permission grid
    app.run(asyncio.gather(page.save_role("service_advisor", {"runs:read"}, "Service desk")))
    app.until(lambda: any(r.name == "service_advisor" for r in page.roles))
    row = [r.name for r in page.roles].index("service_advisor")
    page.role_list.setCurrentRow(row)
    assert page.save_role_button.isEnabled()
    page.grid.item(0, 0).setCheckState(Qt.CheckState.Checked)  # workflows: read
    app.run(asyncio.gather(page.save_current_role()))
    app.until(
        lambda: (
            "workflows:read"
            in next(r for r in page.roles if r.name == "service_advisor").permissions
        )
    )
    page.role_list.setCurrentRow([r.name for r in page.roles].index("admin"))
    assert not page.save_role_button.isEnabled()
    assert page.grid.item(0, 0).flags() & Qt.ItemFlag.ItemIsUserCheckable == Qt.ItemFlag.NoItemFlags


def test_audit_viewer_fetches_filters_sorts_verifies_and_exports(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    audit = app.bridge.platform.audit
    items = [
        AuditItem(f"clerk{i % 4}", "vehicle.priced", f"inventory/v{i}", "success", {"i": i})
        for i in range(1000)
    ]
    app.run(audit.record_many(items))
    page = app.window.show_page("audit")
    app.until(
        lambda: (
            page.model is not None and page.model.rowCount() == PAGE_SIZE and not page.model.loading
        )
    )
    model = page.model
    assert model.canFetchMore()
    model.fetchMore()
    app.until(lambda: model.rowCount() == 2 * PAGE_SIZE and not model.loading)
    newest = model.entry(0)
    assert newest.seq > model.entry(1).seq
    # filters run in the database
    page.actor.setCurrentText("clerk2")
    page.text.setText("inventory/v10")
    app.run(asyncio.gather(page.apply_filters()))
    app.until(lambda: not model.loading)
    actors = {model.entry(r).actor for r in range(model.rowCount())}
    assert actors == {"clerk2"}
    assert all("inventory/v10" in model.entry(r).resource for r in range(model.rowCount()))
    assert model.rowCount() == 3  # v10, v102, v106 … only those of clerk2: 10, 102, 106
    # sorting by a column reloads through keyset pagination
    app.run(asyncio.gather(page.clear_filters()))
    app.until(lambda: not model.loading and model.rowCount() == PAGE_SIZE)
    model.sort(2, Qt.SortOrder.AscendingOrder)
    app.until(
        lambda: not model.loading and model.rowCount() == PAGE_SIZE and model.sort_column == "actor"
    )
    actors = [model.entry(r).actor for r in range(model.rowCount())]
    assert actors == sorted(actors)
    # detail pane
    page.table.selectRow(0)
    detail = json.loads(page.detail.toPlainText())
    assert detail["seq"] == model.entry(0).seq
    assert detail["hash"] == model.entry(0).hash
    # verify with a clear result, then after tampering
    results: list[Any] = []
    page.sig_verified.connect(results.append)
    page.verify()
    app.until(lambda: bool(results))
    assert results[0].ok
    assert page.verify_result.text().startswith("✔ All")

    async def tamper() -> None:
        async with audit.database.engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE audit_entries SET body = replace(body, 'clerk', 'mallory') WHERE seq = 7"
            )

    app.run(tamper())
    page.verify()
    app.until(lambda: len(results) == 2)
    assert results[1].first_bad_seq == 7
    assert "entry 7" in page.verify_result.text()
    # export of the filtered view
    page.actor.setCurrentText("clerk1")
    exported: list[int] = []
    page.sig_exported.connect(exported.append)
    page.export_to(tmp_path / "clerk1.jsonl", "jsonl")
    app.until(lambda: bool(exported))
    assert exported == [250]
    lines = (tmp_path / "clerk1.jsonl").read_text().splitlines()
    assert {json.loads(line)["actor"] for line in lines} == {"clerk1"}


def test_compliance_page_lists_findings_and_exports(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    admin = app.window.session.principal
    saved = app.run(app.bridge.platform.workflows.create(admin, LEAD_FOLLOW_UP))
    app.run(app.bridge.platform.compliance.check(LEAD_FOLLOW_UP, subject_id=saved.id))
    page = app.window.show_page("compliance")
    app.until(lambda: page.findings_table.rowCount() == 5)
    assert page.policy_table.rowCount() == 4
    nodes = {page.findings_table.item(r, 3).text() for r in range(5)}
    assert nodes == {"n2", "n3", "n4"}
    wanted = page.findings_table.item(0, 3).text()
    page.open_finding(0)
    assert app.window.current_page() == "workflows"
    editor = app.window.show_page("workflows").editor().editor
    app.until(lambda: editor.scene.selected_ids()[0] == [wanted])  # the editor shows the node
    assert editor.workflow_id == saved.id
    app.window.show_page("compliance")
    app.run(asyncio.gather(page.add_policy("{broken"), return_exceptions=True))
    app.until(lambda: "not valid" in page.message.text())
    page.check_settings()
    app.until(lambda: page.report is not None and page.report.checks == 2)
    app.run(asyncio.gather(page.export_report(tmp_path / "report.html")))
    app.until(lambda: (tmp_path / "report.html").exists())
    assert "Checks run: 2" in (tmp_path / "report.html").read_text()
