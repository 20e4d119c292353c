"""The routing editors: a policy (strategy, deployments in order, fallbacks, retries,
failures allowed and cooldown) and a budget (scope, period, limit).

Deployments and fallbacks are ordered check lists: tick the ones the policy uses, and move
the selected one up or down (buttons, or Alt+Up / Alt+Down) to set the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.models.ai_table_models import (
    PERIOD_TITLES,
    STRATEGY_TIPS,
    STRATEGY_TITLES,
)
from auterity_desktop.ui.widgets.ai_form_dialog import AIFormDialog, Save, name_problem

STRATEGIES = ("order", "cost", "latency", "least_busy", "weighted")
PERIODS = ("day", "month")
GLOBAL_SCOPE = "global"
MAX_FALLBACKS = 4
NAME_ROLE = Qt.ItemDataRole.UserRole


class OrderedChecklistWidget(QWidget):
    """Names with a tick each, in an order the user sets."""

    sig_changed = Signal()

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setAccessibleName(label)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMaximumHeight(132)
        self.list.itemChanged.connect(lambda _item: self.sig_changed.emit())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.up_button = QPushButton("Move up")
        self.up_button.setToolTip("Earlier in the order (Alt+Up)")
        self.up_button.clicked.connect(lambda: self.move(-1))
        self.down_button = QPushButton("Move down")
        self.down_button.setToolTip("Later in the order (Alt+Down)")
        self.down_button.clicked.connect(lambda: self.move(1))
        buttons = QVBoxLayout()
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setFocusProxy(self.list)
        scope = Qt.ShortcutContext.WidgetShortcut
        QShortcut(QKeySequence("Alt+Up"), self.list, activated=lambda: self.move(-1), context=scope)
        QShortcut(
            QKeySequence("Alt+Down"), self.list, activated=lambda: self.move(1), context=scope
        )
        self._update_buttons()

    def set_items(
        self, names: Sequence[str], checked: Sequence[str], labels: Mapping[str, str] | None = None
    ) -> None:
        """The checked names first, in their order, then the others; ``labels`` shows some
        names with more words ("default (policy)")."""
        self.list.blockSignals(True)
        self.list.clear()
        rest = [n for n in names if n not in checked]
        for name in [*checked, *rest]:
            item = QListWidgetItem((labels or {}).get(name, name))
            item.setData(NAME_ROLE, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            state = Qt.CheckState.Checked if name in checked else Qt.CheckState.Unchecked
            item.setCheckState(state)
            if name not in names:
                item.setToolTip(f"{name} is not a deployment (any more)")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._update_buttons()

    def names(self) -> list[str]:
        return [self.list.item(r).data(NAME_ROLE) for r in range(self.list.count())]

    def checked(self) -> list[str]:
        return [
            self.list.item(r).data(NAME_ROLE)
            for r in range(self.list.count())
            if self.list.item(r).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, name: str, checked: bool) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(NAME_ROLE) == name:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def select(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(NAME_ROLE) == name:
                self.list.setCurrentRow(row)

    def move(self, step: int) -> None:
        row = self.list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)
        self.sig_changed.emit()

    def _update_buttons(self) -> None:
        row = self.list.currentRow()
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < self.list.count() - 1)


class PolicyDialog(AIFormDialog):
    def __init__(
        self,
        *,
        save: Save,
        tasks: Any,
        deployments: Sequence[str],
        policies: Sequence[str] = (),
        existing: Any | None = None,
        taken_names: Iterable[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        title = "New routing policy" if existing is None else f"Edit policy — {existing.name}"
        super().__init__(title, save, tasks, parent)
        self.setObjectName("PolicyDialog")
        self.existing = existing
        self.taken = {n.strip().lower() for n in taken_names}
        if existing is not None:
            self.taken.discard(existing.name.strip().lower())
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. default or cheap-first")
        self.name.setToolTip("Workflows and the playground pick a policy by this name")
        self.strategy = QComboBox()
        for key in STRATEGIES:
            self.strategy.addItem(STRATEGY_TITLES[key], key)
            self.strategy.setItemData(
                self.strategy.count() - 1, STRATEGY_TIPS[key], Qt.ItemDataRole.ToolTipRole
            )
        self.strategy.currentIndexChanged.connect(self._strategy_changed)
        self.deployments = OrderedChecklistWidget("Deployments")
        self.deployments.setToolTip(
            "The deployments this policy routes between (none ticked: every enabled one); "
            "the order is the order itself for “In order” and breaks ties otherwise"
        )
        self.fallbacks = OrderedChecklistWidget("Fallbacks")
        self.fallbacks.setToolTip(
            f"Other policies or deployments tried in this order when all of this policy's "
            f"fail (at most {MAX_FALLBACKS})"
        )
        self.retries = QSpinBox()
        self.retries.setRange(0, 10)
        self.retries.setValue(2)
        self.retries.setToolTip("How often a failed call is retried (on another deployment)")
        self.allowed_fails = QSpinBox()
        self.allowed_fails.setRange(0, 1000)
        self.allowed_fails.setValue(3)
        self.allowed_fails.setToolTip(
            "Failures within a minute a deployment may have; one more cools it down"
        )
        self.cooldown = QDoubleSpinBox()
        self.cooldown.setRange(0, 86400)
        self.cooldown.setDecimals(0)
        self.cooldown.setSuffix(" s")
        self.cooldown.setSpecialValueText("never cool down")
        self.cooldown.setValue(30)
        self.cooldown.setToolTip("How long a deployment that failed too often is skipped")
        self.description = QLineEdit()
        self.description.setMaxLength(500)
        self.description.setPlaceholderText("Optional: what it is for")
        for text, widget in (
            ("&Name:", self.name),
            ("S&trategy:", self.strategy),
            ("&Deployments:", self.deployments),
            ("&Fallbacks:", self.fallbacks),
            ("&Retries:", self.retries),
            ("&Allowed fails:", self.allowed_fails),
            ("&Cooldown:", self.cooldown),
            ("Descr&iption:", self.description),
        ):
            self.form.addRow(text, widget)
        chosen: list[str] = list(existing.deployments) if existing is not None else []
        fallbacks: list[str] = list(existing.fallbacks or ()) if existing is not None else []
        own = existing.name if existing is not None else None
        others = [p for p in policies if p != own]
        self.deployments.set_items(deployments, chosen)
        self.fallbacks.set_items(
            [*others, *deployments], fallbacks, {p: f"{p} (policy)" for p in others}
        )
        if existing is not None:
            self.name.setText(existing.name)
            self.name.setReadOnly(True)
            strategy = str(getattr(existing.strategy, "value", existing.strategy))
            self.strategy.setCurrentIndex(max(0, self.strategy.findData(strategy)))
            self.retries.setValue(existing.num_retries)
            self.allowed_fails.setValue(existing.allowed_fails)
            self.cooldown.setValue(existing.cooldown_seconds)
            self.description.setText(existing.description or "")
        self.name.textChanged.connect(self.revalidate)
        self.deployments.sig_changed.connect(self.revalidate)
        self.fallbacks.sig_changed.connect(self.revalidate)
        self._strategy_changed()
        self.finish_layout()
        self.resize(560, self.sizeHint().height())

    def _strategy_changed(self, *_args: Any) -> None:
        self.strategy.setToolTip(STRATEGY_TIPS[str(self.strategy.currentData())])

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.text().strip(),
            "strategy": str(self.strategy.currentData()),
            "deployments": self.deployments.checked(),
            "fallbacks": self.fallbacks.checked(),
            "num_retries": self.retries.value(),
            "allowed_fails": self.allowed_fails.value(),
            "cooldown_seconds": self.cooldown.value(),
            "description": self.description.text().strip(),
        }

    def local_problem(self) -> str | None:
        if problem := name_problem(self.name.text().strip(), self.taken, "policy"):
            return problem
        if len(self.fallbacks.checked()) > MAX_FALLBACKS:
            return f"Tick at most {MAX_FALLBACKS} fallbacks."
        return None

    def mark_field(self, field: str, text: str) -> bool:
        widget = {"name": self.name, "deployments": self.deployments,
                  "fallbacks": self.fallbacks}.get(field)  # fmt: skip
        if widget is not None:
            widget.setFocus()
        return widget is not None


class BudgetDialog(AIFormDialog):
    """Scopes: everything ("global"), one deployment ("deployment:<name>") or one
    workflow ("workflow:<id>")."""

    def __init__(
        self,
        *,
        save: Save,
        tasks: Any,
        deployments: Sequence[str],
        workflows: Sequence[tuple[str, str]] = (),
        existing: Any | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("New budget" if existing is None else "Edit budget", save, tasks, parent)
        self.setObjectName("BudgetDialog")
        self.existing = existing
        self.scope = QComboBox()
        self.scope.setEditable(False)
        self.scope.addItem("Everything", GLOBAL_SCOPE)
        for name in deployments:
            self.scope.addItem(f"Deployment {name}", f"deployment:{name}")
        for workflow_id, name in workflows:
            self.scope.addItem(f"Workflow {name}", f"workflow:{workflow_id}")
        self.scope.setToolTip(
            "What the limit counts: all calls, one deployment's or one workflow's"
        )
        self.period = QComboBox()
        for key in PERIODS:
            self.period.addItem(PERIOD_TITLES[key], key)
        self.period.setToolTip("The spend starts again at the start of each day or month")
        self.limit = QDoubleSpinBox()
        self.limit.setRange(0, 10_000_000)
        self.limit.setDecimals(2)
        self.limit.setPrefix("$ ")
        self.limit.setValue(10.0)
        self.limit.setToolTip("Routing refuses calls in this scope once this much is spent")
        for text, widget in (
            ("S&cope:", self.scope),
            ("&Period:", self.period),
            ("&Limit:", self.limit),
        ):
            self.form.addRow(text, widget)
        if existing is not None:
            scope = str(existing.scope)
            if self.scope.findData(scope) < 0:
                self.scope.addItem(scope, scope)
            self.scope.setCurrentIndex(self.scope.findData(scope))
            self.period.setCurrentIndex(max(0, self.period.findData(str(existing.period))))
            self.limit.setValue(existing.limit)
        self.limit.valueChanged.connect(self.revalidate)
        self.finish_layout()
        self.resize(420, self.sizeHint().height())

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "scope": str(self.scope.currentData()),
            "period": str(self.period.currentData()),
            "limit": self.limit.value(),
        }
        if self.existing is not None:
            values["id"] = self.existing.id
        return values

    def local_problem(self) -> str | None:
        return None if self.limit.value() > 0 else "Set a limit above $0."
