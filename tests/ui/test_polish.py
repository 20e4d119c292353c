"""The polish every page owes its users, checked on the real platform with an empty
database and a signed-in administrator, page by page and tab by tab (and the forms the pages
open):

- buttons say what they do: text, or (icon-only) a tooltip and an accessible name, and on
  pages a tooltip with what happens;
- inputs are named: a label whose buddy they are, an accessible name or a placeholder;
- the keyboard reaches everything: pressing Tab from a page's first focusable widget visits
  every visible, enabled input, button and list on it, and no list traps Tab;
- a list with nothing in it says so and says what to do next, instead of a blank table;
- every page's content sits inside the same margins (``PAGE_MARGINS``).

Each check collects every violation on every page and fails once with the whole list, so
the report is a to-do list.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCalendarWidget,
    QCheckBox,
    QComboBox,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTabBar,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from auterity_desktop.ui.pages import PAGES
from auterity_desktop.ui.pages.page_header import PAGE_MARGINS, PAGE_SPACING, PageHeaderWidget
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget, empty_text

# Qt's own parts of composite widgets: the clear button of a line edit, a table's corner
# button, a tab bar's scroll arrows. They are Qt's to label and reach.
INTERNAL_CLASSES = {"QLineEditIconButton", "QTableCornerButton", "QToolBarExtension"}
INTERNAL_PARENTS = (QTabBar, QAbstractSpinBox, QComboBox, QCalendarWidget)
INPUTS = (QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit, QTextEdit)
# A next step is an action: an enabled button in the empty state, or a sentence telling
# the user what to do (which may be: nothing).
NEXT_STEP = re.compile(
    r"\b(add|create|import|open|select|choose|run|press|click|sign|register|connect|change|"
    r"clear|start|publish|set|use|wait|check|try|group|type|load|subscribe|enable|save|"
    r"drag|pick|widen|define|ask|configure|record|silence|switch|nothing to do)\b",
    re.IGNORECASE,
)
TAB_PRESSES = 8  # a date-time edit moves section by section before Tab leaves it


# -- walking the pages ------------------------------------------------------------------
def settle(app: Any, seconds: float = 0.3) -> None:
    """Let a page load: timers fire, loads spawned by them finish."""

    async def wait() -> None:
        await asyncio.sleep(seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while app.tasks.active and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    app.run(wait())


def visible_tab_widgets(page: QWidget) -> list[QTabWidget]:
    return [t for t in page.findChildren(QTabWidget) if t.isVisible()]


def walk_states(app: Any, page: QWidget) -> Iterator[str]:
    """Show every tab (and every tab inside a tab) of ``page`` once; yield where we are."""
    seen: set[int] = set()

    def explore(where: str) -> Iterator[str]:
        yield where
        for tabs in visible_tab_widgets(page):
            if id(tabs) in seen:
                continue
            seen.add(id(tabs))
            current = tabs.currentIndex()
            for index in range(tabs.count()):
                if not tabs.isTabEnabled(index) or not tabs.isTabVisible(index):
                    continue
                tabs.setCurrentIndex(index)
                settle(app, 0.1)
                label = tabs.tabText(index).replace("&&", "\0").replace("&", "")
                yield from explore(f"{where} › {label.replace(chr(0), '&')}")
            tabs.setCurrentIndex(current)

    yield from explore(page.objectName())


def internal(widget: QWidget) -> bool:
    if widget.metaObject().className() in INTERNAL_CLASSES:
        return True
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, INTERNAL_PARENTS):
            return True
        parent = parent.parentWidget()
    return False


def shown(page: QWidget, cls: Any) -> list[Any]:
    return [
        w
        for w in page.findChildren(QWidget)
        if isinstance(w, cls) and w.isVisible() and not internal(w)
    ]


def describe(widget: QWidget, page: QWidget) -> str:
    """``QPushButton "Open folder" (in Page_settings/QGroupBox "Where …")``."""

    def one(w: QWidget) -> str:
        cls = w.metaObject().className()
        name = w.objectName()
        text = ""
        for getter in ("text", "title", "accessibleName", "placeholderText"):
            value = getattr(w, getter, None)
            if callable(value):
                try:
                    value = value()
                except TypeError:
                    continue
                if isinstance(value, str) and value.strip():
                    text = value.replace("&", "").strip()[:40]
                    break
        return cls + (f"#{name}" if name else "") + (f' "{text}"' if text else "")

    path = []
    parent = widget.parentWidget()
    while parent is not None and parent is not page:
        if parent.objectName() or hasattr(parent, "title"):
            path.append(one(parent))
        parent = parent.parentWidget()
    where = " in " + " / ".join(reversed(path[:2])) if path else ""
    return one(widget) + where


def plain(text: str) -> str:
    return text.replace("&", "").strip()


# -- the checks -------------------------------------------------------------------------
def check_buttons(page: QWidget, tooltips: bool = True) -> list[str]:
    """Icon-only buttons need a tooltip and an accessible name; with ``tooltips`` (pages,
    not dialogs with their OK and Cancel) every push button says in a tooltip what it
    does, and its shortcut if it has one."""
    found = []
    for button in shown(page, QAbstractButton):
        if isinstance(button, QCheckBox | QRadioButton):
            continue  # labelled by their text; one without is an input, checked as one
        if plain(button.text()):
            if tooltips and isinstance(button, QPushButton) and not button.toolTip().strip():
                found.append(f"button without tooltip: {describe(button, page)}")
            continue
        if not button.toolTip().strip():
            found.append(f"icon-only button without tooltip: {describe(button, page)}")
        if not button.accessibleName().strip():
            found.append(f"icon-only button without accessible name: {describe(button, page)}")
    return found


def check_inputs(page: QWidget) -> list[str]:
    buddies = set()
    for label in page.findChildren(QLabel):
        if label.buddy() is not None:  # the buddy's focus proxy is what its mnemonic focuses
            buddies |= {id(label.buddy()), id(focus_target(label.buddy()))}
    found = []
    inputs = [*shown(page, INPUTS), *(c for c in shown(page, QCheckBox) if not plain(c.text()))]
    for widget in inputs:
        if id(widget) in buddies or widget.accessibleName().strip():
            continue
        placeholder = ""
        if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit | QComboBox):
            placeholder = widget.placeholderText()
        if isinstance(widget, QComboBox) and widget.isEditable() and widget.lineEdit():
            placeholder = placeholder or widget.lineEdit().placeholderText()
        if not placeholder.strip():
            found.append(f"input without label, accessible name or placeholder: "
                         f"{describe(widget, page)}")  # fmt: skip
    return found


def views(page: QWidget) -> list[QAbstractItemView]:
    return [v for v in shown(page, QAbstractItemView) if not isinstance(v, QHeaderView)]


def operable(page: QWidget) -> list[QWidget]:
    """What a keyboard user must be able to reach on the page as it is shown."""
    wanted = [*shown(page, INPUTS), *shown(page, QAbstractButton), *views(page)]
    return [w for w in wanted if w.isEnabled()]


def reached_through_group(button: QWidget, reached: set[int]) -> bool:
    """Buttons of an exclusive group are one stop for Tab (the checked one; Qt takes Tab
    focus from the others) and the arrow keys move between them, as with radio buttons."""
    group = button.group() if isinstance(button, QAbstractButton) else None
    return bool(
        group is not None and group.exclusive() and any(id(b) in reached for b in group.buttons())
    )


def focus_target(widget: QWidget) -> QWidget:
    while widget.focusProxy() is not None:
        widget = widget.focusProxy()
    return widget


def tab_through(app: Any, page: QWidget) -> tuple[list[QWidget], list[str]]:
    """Press Tab from the page's first focusable widget round the whole window; return the
    widgets that had the focus, and the widgets that kept it (Tab trapped)."""
    window = page.window()
    first = page.nextInFocusChain()
    while first is not page and not (
        page.isAncestorOf(first)
        and first.isVisible()
        and first.isEnabled()
        and first.focusPolicy() & Qt.FocusPolicy.TabFocus
    ):
        first = first.nextInFocusChain()
    if first is page:
        return [], []
    window.activateWindow()
    app.until(lambda: QApplication.activeWindow() is window, timeout=5)
    first.setFocus(Qt.FocusReason.TabFocusReason)
    start = QApplication.focusWidget()
    visited: list[QWidget] = [start]
    traps: list[str] = []
    current = start
    for _ in range(600):
        for _press in range(TAB_PRESSES):
            QTest.keyClick(current, Qt.Key.Key_Tab)
            following = QApplication.focusWidget()
            if following is not current:
                break
        if following is current or following is None:
            traps.append(f"Tab is trapped in {describe(current, page)}")
            # go on as the focus chain would, to look at the rest of the page
            following = current.nextInFocusChain()
            while not (following.isVisible() and following.isEnabled()) or not (
                following.focusPolicy() & Qt.FocusPolicy.TabFocus
            ):
                following = following.nextInFocusChain()
            following.setFocus(Qt.FocusReason.TabFocusReason)
            following = QApplication.focusWidget()
        if following is start:
            break
        visited.append(following)
        current = following
    return visited, traps


def check_keyboard(app: Any, page: QWidget) -> list[str]:
    visited, found = tab_through(app, page)
    reached = {id(w) for w in visited}
    for widget in operable(page):
        if id(focus_target(widget)) in reached or id(widget) in reached:
            continue
        if reached_through_group(widget, reached):
            continue
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            found.append(f"not reachable by Tab (focus policy {widget.focusPolicy().name}): "
                         f"{describe(widget, page)}")  # fmt: skip
        else:
            found.append(f"not reached by Tab: {describe(widget, page)}")
    for view in views(page):
        if view.tabKeyNavigation():
            found.append(f"Tab moves between cells instead of leaving the list "
                         f"(tabKeyNavigation): {describe(view, page)}")  # fmt: skip
    return found


def rows(view: QAbstractItemView) -> int:
    model = view.model()
    return 0 if model is None else model.rowCount(view.rootIndex())


def check_empty_states(page: QWidget) -> list[str]:
    found = []
    for view in views(page):
        if rows(view) or not view.isEnabled():
            continue
        text = empty_text(view)
        if not text:
            found.append(f"blank list instead of an empty state: {describe(view, page)}")
        elif not NEXT_STEP.search(text):
            found.append(f"empty list without a next step: {text!r} {describe(view, page)}")
    for empty in shown(page, EmptyStateWidget):
        buttons = [b for b in empty.findChildren(QAbstractButton) if b.isVisible()]
        text = f"{empty.title.text()} {empty.text.text()}"
        if not any(b.isEnabled() for b in buttons) and not NEXT_STEP.search(empty.text.text()):
            found.append(f"empty state without a next step: {text.strip()!r} "
                         f"{describe(empty, page)}")  # fmt: skip
    return found


def check_margins(page: QWidget) -> list[str]:
    headers = page.findChildren(PageHeaderWidget)
    if not headers:
        return [f"no page header on {page.objectName()}"]
    layout = headers[0].parentWidget().layout()
    margins = layout.contentsMargins()
    got = (margins.left(), margins.top(), margins.right(), margins.bottom())
    found = []
    if got != PAGE_MARGINS:
        found.append(f"page margins {got}, not PAGE_MARGINS {PAGE_MARGINS}")
    if layout.spacing() != PAGE_SPACING:
        found.append(f"page spacing {layout.spacing()}, not PAGE_SPACING {PAGE_SPACING}")
    if layout.indexOf(headers[0]) != 0:
        found.append("the page header is not the first thing on the page")
    return found


# -- the tests --------------------------------------------------------------------------
@pytest.fixture
def admin_app(make_app: Callable[[], Any], qtbot: Any) -> Any:
    app = make_app()
    app.window.resize(1366, 850)
    app.window.show()
    qtbot.waitExposed(app.window)
    app.sign_in_first_admin()
    return app


Checks = dict[str, Callable[[QWidget], list[str]]]
Found = dict[str, dict[str, None]]


def inspect(app: Any, key: str, root: QWidget, checks: Checks, found: Found) -> None:
    """Run ``checks`` on ``root`` in every tab; file violations under ``key``."""
    for where in walk_states(app, root):
        for name, check in checks.items():
            for violation in check(root):
                found[name].setdefault(f"{key}: {violation}  [{where}]", None)


def survey(app: Any, checks: Checks) -> dict[str, list[str]]:
    """Run ``checks`` on every page and every tab; violations by check, deduplicated."""
    found: Found = {name: {} for name in checks}
    for spec in PAGES:
        page = app.window.show_page(spec.key)
        settle(app)
        inspect(app, spec.key, page, checks, found)
        assert shiboken6.isValid(page)
    return {name: list(v) for name, v in found.items()}


# The forms the pages open with an empty database: (page, how to open it).
DIALOGS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("workflows", lambda page: page._new()),
    ("alerts", lambda page: page.new_rule()),
    ("dashboard", lambda page: page.open_chart_dialog(None)),
    ("dashboard", lambda page: page.open_range_dialog()),
    ("integrations", lambda page: page.new_integration()),
    ("messages", lambda page: page.open_publish_dialog()),
    ("ai", lambda page: page.add_deployment()),
    ("ai", lambda page: page.new_policy()),
    ("ai", lambda page: page.new_budget()),
    ("models", lambda page: page.open_register_dialog()),
    ("users", lambda page: page._new_user()),
    ("settings", lambda page: page.api_panel.open_create_dialog()),
)


def open_dialog(app: Any, key: str, opener: Callable[[Any], Any]) -> QDialog:
    page = app.window.show_page(key)
    settle(app)
    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    opener(page)
    app.until(
        lambda: any(
            isinstance(w, QDialog) and w.isVisible() and id(w) not in before
            for w in QApplication.topLevelWidgets()
        ),
        timeout=10,
    )
    settle(app, 0.1)
    return next(
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QDialog) and w.isVisible() and id(w) not in before
    )


def report(found: dict[str, list[str]]) -> str:
    lines = []
    for name, violations in found.items():
        if violations:
            lines.append(f"{name} ({len(violations)}):")
            lines.extend(f"  {v}" for v in violations)
    return "\n".join(lines)


def test_every_page_is_labelled_reachable_and_says_what_to_do(admin_app: Any) -> None:
    app = admin_app
    found = survey(
        app,
        {
            "buttons": check_buttons,
            "inputs": check_inputs,
            "keyboard": lambda page: check_keyboard(app, page),
            "empty states": check_empty_states,
        },
    )
    assert not any(found.values()), "\n" + report(found)


def test_every_page_uses_the_same_margins(admin_app: Any) -> None:
    found: dict[str, list[str]] = {"margins": []}
    for spec in PAGES:
        page = admin_app.window.show_page(spec.key)
        settle(admin_app)
        found["margins"].extend(f"{spec.key}: {v}" for v in check_margins(page))
    assert not found["margins"], "\n" + report(found)


def test_every_form_is_labelled_and_reachable(admin_app: Any) -> None:
    app = admin_app
    checks: Checks = {
        "buttons": lambda root: check_buttons(root, tooltips=False),
        "inputs": check_inputs,
        "keyboard": lambda root: check_keyboard(app, root),
    }
    found: Found = {name: {} for name in checks}
    for key, opener in DIALOGS:
        dialog = open_dialog(app, key, opener)
        title = dialog.windowTitle() or dialog.metaObject().className()
        dialog.setObjectName(dialog.objectName() or title)
        inspect(app, f"{key} › {title}", dialog, checks, found)
        dialog.reject()
        settle(app, 0.1)
    violations = {name: list(v) for name, v in found.items()}
    assert not any(violations.values()), "\n" + report(violations)
