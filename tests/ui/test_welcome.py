"""The first-run welcome page, Help ▸ Load dealership samples and Help ▸ User guide, on a
real platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QAbstractSlider, QMessageBox

from auterity_desktop.ui.guide_viewer import GuideViewer, guide_path
from auterity_desktop.ui.welcome_dialog import WelcomeDialog

PASSWORD = "Correct-Horse-42!"


def open_welcome(app: Any) -> WelcomeDialog:
    app.window.show()
    app.start_platform()
    app.until(lambda: app.window.login_dialog is not None)
    dialog = app.window.login_dialog
    assert isinstance(dialog, WelcomeDialog)
    return dialog


def fill(dialog: WelcomeDialog, username: str = "maria") -> None:
    dialog.username.setText(username)
    dialog.display_name.setText("Maria Lopez")
    dialog.password.setText(PASSWORD)
    dialog.confirm.setText(PASSWORD)


def workflow_names(app: Any) -> list[str]:
    page = app.window.pages["workflows"]
    return sorted(page.model.index(r, 0).data() for r in range(page.model.rowCount()))


def test_welcome_shows_where_data_is_kept(make_app: Any, data_dir: Path) -> None:
    app = make_app()
    dialog = open_welcome(app)
    assert dialog.windowTitle() == "Welcome to Auterity Desktop"
    assert dialog.folder_label.text() == str(data_dir)
    assert dialog.location.database == f"SQLite · {data_dir / 'auterity.db'}"
    assert dialog.location.keyring == "SecretService"  # the real keyring of the test session
    assert dialog.samples_check.isChecked()  # the samples are offered, not forced
    assert dialog.ok_button.text() == "Create administrator"
    assert dialog.ok_button.isDefault() and not dialog.open_folder_button.autoDefault()
    assert dialog.height() >= dialog.body.heightForWidth(dialog.width())  # nothing squeezed


def test_first_run_with_samples_lands_on_the_loaded_workflows(make_app: Any) -> None:
    app = make_app()
    dialog = open_welcome(app)
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    fill(dialog)
    dialog.submit()
    app.until(lambda: app.window.login_dialog is None, 60)
    assert app.window.session.principal.username == "maria"
    assert seen and seen[-1] == 100 and seen == sorted(seen)
    assert sorted(dialog.report.workflows) == [
        "dlq_alerting",
        "inventory_price_check",
        "lead_follow_up",
        "service_appointment_reminder",
    ]
    assert app.window.current_page() == "workflows"
    app.until(lambda: app.window.pages["workflows"].model.rowCount() == 4)
    assert workflow_names(app) == [
        "Dead-letter alerting",
        "Inventory price check",
        "Lead follow-up",
        "Service appointment reminder",
    ]
    assert "Samples loaded" in app.window.status.currentMessage()
    assert dialog.report.event_log.exists() and dialog.report.dataset.exists()
    assert app.window.samples_action.isEnabled()


def test_first_run_without_samples_starts_empty(make_app: Any) -> None:
    app = make_app()
    dialog = open_welcome(app)
    dialog.samples_check.setChecked(False)
    fill(dialog)
    dialog.submit()
    app.until(lambda: app.window.login_dialog is None)
    assert dialog.report is None
    platform, me = app.bridge.platform, app.window.session.principal
    assert app.run(platform.workflows.list_workflows(me)) == []


def test_help_loads_the_samples_later_and_only_once(make_app: Any) -> None:
    app = make_app()
    app.sign_in_first_admin()
    platform, me = app.bridge.platform, app.window.session.principal
    assert app.window.samples_action.isEnabled()
    app.window.samples_action.trigger()
    app.until(lambda: not app.tasks.active and app.window.current_page() == "workflows", 60)
    assert len(app.run(platform.workflows.list_workflows(me))) == 4
    task = app.window.load_samples()  # again: nothing is added twice
    app.until(lambda: task.done(), 60)
    assert len(app.run(platform.workflows.list_workflows(me))) == 4
    assert not app.window.samples_progress.isVisible()


def test_a_viewer_cannot_load_samples(make_app: Any) -> None:
    app = make_app()
    app.sign_in_first_admin()
    platform, admin = app.bridge.platform, app.window.session.principal
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    app.sign_in_as("vera", "Viewer-Pass-2026")
    assert not app.window.samples_action.isEnabled()


def test_samples_that_fail_to_load_leave_the_account_and_say_why(
    make_app: Any, data_dir: Path
) -> None:
    app = make_app()
    dialog = open_welcome(app)
    (data_dir / "samples").write_text("a file where the samples folder should be")
    fill(dialog)
    dialog.submit()
    app.until(lambda: dialog.error.isVisible() and dialog.ok_button.isEnabled(), 60)
    assert app.window.session.signed_in  # the account exists and is signed in
    assert "the samples could not be loaded: Cannot write the sample files" in (dialog.error.text())
    assert "Help ▸ Load dealership samples" in dialog.error.text()
    assert dialog.ok_button.text() == "Continue"
    dialog.ok_button.click()
    app.until(lambda: app.window.login_dialog is None)
    assert app.window.centralWidget().isEnabled()


def test_help_reports_a_failed_load_in_a_message(make_app: Any, data_dir: Path) -> None:
    app = make_app()
    app.sign_in_first_admin()
    (data_dir / "samples").write_text("in the way")
    task = app.window.load_samples()
    app.until(lambda: task.done() and app.window.error_box is not None, 60)
    box = app.window.error_box
    assert isinstance(box, QMessageBox)
    assert box.text().startswith("Cannot write the sample files to")
    assert box.windowTitle() == "The samples could not be loaded"
    box.close()


def test_guide_opens_from_help_with_contents_search_and_pictures(make_app: Any) -> None:
    app = make_app()
    app.sign_in_first_admin()
    guide = app.window.show_guide()
    assert isinstance(guide, GuideViewer) and guide.isVisible()
    assert guide.path == guide_path() and guide.path.name == "user-guide.md"
    assert app.window.show_guide() is guide  # one guide window, raised again
    headings = guide.headings()
    for section in (
        "First run: the welcome page",
        "Open the lead follow-up in the editor",
        "Run it and watch the run",
        "Watch it on the Dashboard",
        "Mine the service department's event log",
        "Read the audit trail",
    ):
        assert section in headings
    assert guide.show_section("Read the audit trail")
    assert guide.browser.textCursor().block().text() == "Read the audit trail"
    assert 0 <= guide.browser.cursorRect().top() <= 40  # the heading at the top of the view
    guide.search.setText("dead-letter queue")
    assert guide.find_next()
    assert guide.browser.textCursor().selectedText().lower() == "dead-letter queue"
    guide.search.setText("no such words anywhere")
    assert not guide.find_next()
    images = [n for n in _image_names(guide) if n.startswith("images/guide-")]
    assert len(images) >= 8
    for name in images:  # every picture is there and shown no wider than the text
        assert (guide.path.parent / name).exists(), name
    guide.close()


def _image_names(guide: GuideViewer) -> list[str]:
    names = []
    block = guide.browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isImageFormat():
                image = fmt.toImageFormat()
                assert image.width() <= guide.browser.viewport().width()
                names.append(image.name())
            it += 1
        block = block.next()
    return names


def _heading_top(guide: GuideViewer, title: str) -> int:
    """Where a heading is in the view, in pixels from its top edge."""
    block = guide.browser.document().begin()
    while block.isValid() and block.text() != title:
        block = block.next()
    assert block.isValid(), title
    return guide.browser.cursorRect(QTextCursor(block)).top()


def test_a_section_jumped_to_stays_at_the_top_when_the_text_reflows(qtbot: Any) -> None:
    guide = GuideViewer()
    qtbot.addWidget(guide)
    guide.resize(700, 600)  # before it is shown, as Help ▸ User guide does at another size
    section = "Mine the service department's event log"  # below several pictures
    assert guide.show_section(section)
    guide.show()
    qtbot.waitExposed(guide)
    for width in (1200, 560, 1000):  # the pictures above it change height with the width
        guide.resize(width, 640)
        qtbot.wait(20)
        assert 0 <= _heading_top(guide, section) <= 40, width
    # once the reader scrolls, their place is kept: no jump back to the section
    bar = guide.browser.verticalScrollBar()
    bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd)
    guide.resize(700, 640)
    qtbot.wait(20)
    assert _heading_top(guide, section) < 0


def test_a_missing_guide_says_where_to_find_it(qtbot: Any, tmp_path: Path) -> None:
    viewer = GuideViewer(path=tmp_path / "user-guide.md")
    qtbot.addWidget(viewer)
    assert "The user guide is missing" in viewer.browser.toPlainText()
    assert viewer.headings() == []


def test_shortcut_list_names_the_guide(make_app: Any) -> None:
    app = make_app()
    assert ("User guide", "Shift+F1") in app.window.shortcut_rows()
    actions = {a.text(): a for a in app.window.menuBar().actions()}
    help_menu = actions["&Help"].menu()
    texts = [a.text() for a in help_menu.actions() if not a.isSeparator()]
    assert texts[:2] == ["&User guide", "&Load dealership samples…"]
    assert help_menu.actions()[0].shortcut().toString() == "Shift+F1"
