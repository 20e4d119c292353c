"""Acknowledging and silencing an alert: small dialogs that collect what the service needs.

They only collect and check; the Alerts page calls the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

DURATIONS = (
    ("15 minutes", 15 * 60),
    ("1 hour", 3600),
    ("4 hours", 4 * 3600),
    ("8 hours", 8 * 3600),
    ("24 hours", 86_400),
    ("7 days", 7 * 86_400),
)


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class AcknowledgeDialog(QDialog):
    """Who is on it is recorded from the session; this asks for an optional note."""

    def __init__(self, alert: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Acknowledge alert")
        self.setMinimumWidth(460)
        about = QLabel(f"<b>{_escape(alert.name)}</b><br>{_escape(alert.message)}")
        about.setWordWrap(True)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText("e.g. Looking into it; exports are being moved")
        self.note.setMaxLength(2000)
        self.hint = QLabel(
            "Acknowledging resolves an alert reported by model monitoring."
            if alert.source != "rule"
            else "The alert keeps firing until its condition clears; everyone sees you are on it."
        )
        self.hint.setObjectName("PageSubtitle")
        self.hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&Note:", self.note)
        self.buttons = _buttons(self, "&Acknowledge")
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)

    def value(self) -> str:
        return self.note.text().strip()


@dataclass(frozen=True)
class SilenceRequest:
    rule_id: str | None
    alert_id: str | None
    duration: float
    reason: str


class SilenceDialog(QDialog):
    """Silence this alert, or every alert of its rule, for a while, saying why."""

    def __init__(self, alert: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alert = alert
        self.setWindowTitle("Silence alert")
        self.setMinimumWidth(480)
        about = QLabel(f"<b>{_escape(alert.name)}</b>")
        about.setWordWrap(True)
        self.only_this = QRadioButton("&This alert only")
        self.whole_rule = QRadioButton("Every alert of the &rule")
        self.only_this.setChecked(True)
        self.whole_rule.setEnabled(alert.rule_id is not None)
        if alert.rule_id is None:
            self.whole_rule.setToolTip("Reported by another service: there is no rule")
        group = QButtonGroup(self)
        group.addButton(self.only_this)
        group.addButton(self.whole_rule)
        self.duration = QComboBox()
        self.duration.setAccessibleName("Duration")
        for label, seconds in DURATIONS:
            self.duration.addItem(label, seconds)
        self.duration.setCurrentIndex(1)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("e.g. Planned maintenance of the archive disk")
        self.reason.setMaxLength(2000)
        self.problem = QLabel("")
        self.problem.setObjectName("HealthError")
        self.problem.setWordWrap(True)
        hint = QLabel(
            "A silenced alert still changes state and shows here; no e-mail or webhook is "
            "sent and no pop-up is shown until the silence ends."
        )
        hint.setObjectName("PageSubtitle")
        hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Silence:", self.only_this)
        form.addRow("", self.whole_rule)
        form.addRow("&For:", self.duration)
        form.addRow("&Reason:", self.reason)
        self.buttons = _buttons(self, "&Silence")
        self.silence_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(lambda _t: self.check())
        self.check()

    def check(self) -> bool:
        ok = bool(self.reason.text().strip())
        self.problem.setText("" if ok else "Say why, so others know when to lift it.")
        self.silence_button.setEnabled(ok)
        return ok

    def request(self) -> SilenceRequest:
        rule = self.whole_rule.isChecked() and self.alert.rule_id is not None
        return SilenceRequest(
            rule_id=self.alert.rule_id if rule else None,
            alert_id=None if rule else self.alert.id,
            duration=float(self.duration.currentData()),
            reason=self.reason.text().strip(),
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
