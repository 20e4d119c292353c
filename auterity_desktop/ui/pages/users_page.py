"""Users & roles: accounts (create, disable, reset password, change role) and roles with a
permission grid. Buttons follow the signed-in role; the service refuses regardless."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.security.permissions import ACTIONS, RESOURCES
from auterity_desktop.services.security.user_admin import RoleInfo, UserInfo
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage

USER_COLUMNS = ("User", "Name", "Role", "Status", "Last sign-in")


class NewUserDialog(QDialog):
    def __init__(self, roles: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New user")
        self.username = QLineEdit()
        self.display_name = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.role = QComboBox()
        self.role.addItems(roles)
        self.role.setCurrentText("viewer" if "viewer" in roles else roles[0])
        self.error = QLabel("")
        self.error.setObjectName("HealthError")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&User name:", self.username)
        form.addRow("&Display name:", self.display_name)
        form.addRow("Initial &password:", self.password)
        form.addRow("&Role:", self.role)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)


class UsersPage(ServicePage):
    sig_changed = Signal()

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_users")
        self.users: list[UserInfo] = []
        self.roles: list[RoleInfo] = []

        # users
        self.user_table = QTableWidget(0, len(USER_COLUMNS))
        self.user_table.setObjectName("UserTable")
        self.user_table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.user_table.setHorizontalHeaderLabels(list(USER_COLUMNS))
        self.user_table.verticalHeader().hide()
        self.user_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.user_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.user_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.user_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.new_user_button = QPushButton("&New user…")
        self.new_user_button.setToolTip("Create an account with a role and a first password")
        self.new_user_button.clicked.connect(self._new_user)
        self.toggle_button = QPushButton("&Disable")
        self.toggle_button.setToolTip("A disabled account cannot sign in; enable it again later")
        self.toggle_button.clicked.connect(self._toggle_disabled)
        self.reset_button = QPushButton("&Reset password…")
        self.reset_button.setToolTip("Give the selected account a new password")
        self.reset_button.clicked.connect(self._reset_password)
        self.role_button = QPushButton("Change &role…")
        self.role_button.setToolTip("Give the selected account another role")
        self.role_button.clicked.connect(self._change_role)
        user_buttons = QHBoxLayout()
        for button in (
            self.new_user_button,
            self.toggle_button,
            self.reset_button,
            self.role_button,
        ):
            user_buttons.addWidget(button)
        user_buttons.addStretch(1)
        users_box = QGroupBox("Users")
        users_layout = QVBoxLayout(users_box)
        users_layout.addWidget(self.user_table)
        users_layout.addLayout(user_buttons)
        self.user_table.itemSelectionChanged.connect(self._update_buttons)

        # roles
        self.role_list = QListWidget()
        self.role_list.setObjectName("RoleList")
        self.role_list.setMaximumWidth(220)
        self.role_list.currentRowChanged.connect(self._show_role)
        self.grid = QTableWidget(len(RESOURCES), len(ACTIONS))
        self.grid.setObjectName("PermissionGrid")
        self.grid.setTabKeyNavigation(False)  # arrows move between cells, Space ticks
        self.grid.setHorizontalHeaderLabels([a.capitalize() for a in ACTIONS])
        self.grid.setVerticalHeaderLabels([r.capitalize() for r in RESOURCES])
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for r in range(len(RESOURCES)):
            for c in range(len(ACTIONS)):
                item = QTableWidgetItem()
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.grid.setItem(r, c, item)
        self.role_note = QLabel("")
        self.role_note.setObjectName("PageSubtitle")
        self.role_note.setWordWrap(True)
        self.new_role_button = QPushButton("New ro&le…")
        self.new_role_button.setToolTip("Create a role, then tick what it may do")
        self.new_role_button.clicked.connect(self._new_role)
        self.save_role_button = QPushButton("&Save role")
        self.save_role_button.setToolTip("Keep the ticked permissions for the selected role")
        self.save_role_button.clicked.connect(self.save_current_role)
        self.delete_role_button = QPushButton("Delete role")
        self.delete_role_button.setToolTip("Delete the selected role; no account may have it")
        self.delete_role_button.clicked.connect(self._delete_role)
        role_buttons = QHBoxLayout()
        for button in (self.new_role_button, self.save_role_button, self.delete_role_button):
            role_buttons.addWidget(button)
        role_buttons.addStretch(1)
        roles_box = QGroupBox("Roles and permissions")
        role_area = QHBoxLayout()
        role_area.addWidget(self.role_list)
        grid_column = QVBoxLayout()
        grid_column.addWidget(self.grid)
        grid_column.addWidget(self.role_note)
        grid_column.addLayout(role_buttons)
        role_area.addLayout(grid_column, 1)
        roles_box.setLayout(role_area)

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addWidget(users_box, 1)
        layout.addWidget(roles_box, 1)
        layout.addWidget(self.message)

        self.watch_session()

    # -- data ---------------------------------------------------------------------------
    @property
    def _security(self) -> Any:
        return self.platform.security

    def on_signed_in(self, principal: Any) -> None:
        can_write = "users:write" in principal.permissions
        for button in (
            self.new_user_button,
            self.toggle_button,
            self.reset_button,
            self.role_button,
            self.new_role_button,
            self.save_role_button,
            self.delete_role_button,
        ):
            button.setVisible(can_write)
        self.refresh()

    def refresh(self) -> Any:
        return self.context.tasks.spawn(self._load())

    async def _load(self) -> None:
        actor = self.context.session.require()
        self.users = await self._security.users.list_users(actor)
        self.roles = await self._security.users.list_roles()
        self.user_table.setRowCount(len(self.users))
        for row, user in enumerate(self.users):
            status = "disabled" if user.disabled else "active"
            last = (
                datetime.fromtimestamp(user.last_login_at).strftime("%Y-%m-%d %H:%M")
                if user.last_login_at
                else "never"
            )
            for column, text in enumerate(
                (user.username, user.display_name, user.role, status, last)
            ):
                self.user_table.setItem(row, column, QTableWidgetItem(text))
        current = self.role_list.currentItem().text() if self.role_list.currentItem() else None
        self.role_list.clear()
        for role in self.roles:
            item = QListWidgetItem(role.name + ("  (built-in)" if role.builtin else ""))
            item.setData(Qt.ItemDataRole.UserRole, role.name)
            self.role_list.addItem(item)
        names = [r.name for r in self.roles]
        self.role_list.setCurrentRow(
            names.index(current.split()[0]) if current and current.split()[0] in names else 0
        )
        self._update_buttons()
        self.sig_changed.emit()

    def selected_user(self) -> UserInfo | None:
        rows = self.user_table.selectionModel().selectedRows()
        return self.users[rows[0].row()] if rows else None

    def select_user(self, username: str) -> None:
        for row, user in enumerate(self.users):
            if user.username == username:
                self.user_table.selectRow(row)

    def _update_buttons(self) -> None:
        user = self.selected_user()
        for button in (self.toggle_button, self.reset_button, self.role_button):
            button.setEnabled(user is not None)
        self.toggle_button.setText("&Enable" if user is not None and user.disabled else "&Disable")

    # -- actions ------------------------------------------------------------------------
    def _run(self, work: Any, done_message: str) -> Any:
        def done(_result: Any) -> None:
            self.show_message(done_message)
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def create_user(self, username: str, password: str, role: str, display_name: str = "") -> Any:
        actor = self.context.session.require()
        work = self._security.users.create_user(actor, username, password, role, display_name)
        return self._run(work, f"Created {username}.")

    def set_disabled(self, username: str, disabled: bool) -> Any:
        work = self._security.users.set_disabled(self.context.session.require(), username, disabled)
        return self._run(work, f"{username} is now {'disabled' if disabled else 'enabled'}.")

    def reset_password(self, username: str, password: str) -> Any:
        work = self._security.users.reset_password(
            self.context.session.require(), username, password
        )
        return self._run(work, f"Password of {username} reset; their sessions were signed out.")

    def assign_role(self, username: str, role: str) -> Any:
        work = self._security.users.assign_role(self.context.session.require(), username, role)
        return self._run(work, f"{username} is now {role}.")

    def _new_user(self) -> None:
        dialog = NewUserDialog([r.name for r in self.roles], self)
        dialog.accepted.connect(
            lambda: self.create_user(
                dialog.username.text().strip(),
                dialog.password.text(),
                dialog.role.currentText(),
                dialog.display_name.text(),
            )
        )
        dialog.open()

    def _toggle_disabled(self) -> None:
        user = self.selected_user()
        if user is not None:
            self.set_disabled(user.username, not user.disabled)

    def _reset_password(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        password, ok = QInputDialog.getText(
            self,
            "Reset password",
            f"New password for {user.username}:",
            QLineEdit.EchoMode.Password,
        )
        if ok and password:
            self.reset_password(user.username, password)

    def _change_role(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        names = [r.name for r in self.roles]
        role, ok = QInputDialog.getItem(
            self,
            "Change role",
            f"Role of {user.username}:",
            names,
            names.index(user.role) if user.role in names else 0,
            False,
        )
        if ok:
            self.assign_role(user.username, role)

    # -- roles --------------------------------------------------------------------------
    def current_role(self) -> RoleInfo | None:
        row = self.role_list.currentRow()
        return self.roles[row] if 0 <= row < len(self.roles) else None

    def _show_role(self, row: int) -> None:
        if not 0 <= row < len(self.roles):
            return
        role = self.roles[row]
        editable = not role.builtin and "users:write" in (
            self.context.session.principal.permissions if self.context.session.principal else ()
        )
        for r, resource in enumerate(RESOURCES):
            for c, action in enumerate(ACTIONS):
                item = self.grid.item(r, c)
                granted = f"{resource}:{action}" in role.permissions
                item.setCheckState(Qt.CheckState.Checked if granted else Qt.CheckState.Unchecked)
                flags = (
                    Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                    if editable
                    else Qt.ItemFlag.ItemIsEnabled
                )
                item.setFlags(flags)
        self.role_note.setText(
            f"{role.description} " + ("Built-in roles cannot be changed." if role.builtin else "")
        )
        self.save_role_button.setEnabled(editable)
        self.delete_role_button.setEnabled(editable)

    def grid_permissions(self) -> set[str]:
        return {
            f"{resource}:{action}"
            for r, resource in enumerate(RESOURCES)
            for c, action in enumerate(ACTIONS)
            if self.grid.item(r, c).checkState() == Qt.CheckState.Checked
        }

    def save_role(self, name: str, permissions: set[str], description: str = "") -> Any:
        work = self._security.users.save_role(
            self.context.session.require(), name, permissions, description
        )
        return self._run(work, f"Saved role {name}.")

    def save_current_role(self) -> Any:
        role = self.current_role()
        if role is None or role.builtin:
            return None
        return self.save_role(role.name, self.grid_permissions(), role.description)

    def _new_role(self) -> None:
        name, ok = QInputDialog.getText(
            self, "New role", "Role name (lower case, e.g. service_advisor):"
        )
        if ok and name:
            self.save_role(name.strip(), set(), "Custom role")

    def _delete_role(self) -> None:
        role = self.current_role()
        if role is not None and not role.builtin:
            work = self._security.users.delete_role(self.context.session.require(), role.name)
            self._run(work, f"Deleted role {role.name}.")
