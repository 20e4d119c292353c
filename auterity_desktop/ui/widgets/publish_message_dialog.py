"""Publish a test message: a topic (known topics offered), a JSON payload checked as you
type, a priority and a delay. The dialog only collects and checks; the page publishes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.messaging.topics import validate_topic

DEFAULT_PAYLOAD = '{\n  "test": true,\n  "note": "sent from the Messages page"\n}'


@dataclass(frozen=True)
class TestMessage:
    topic: str
    payload: Any
    priority: int
    delay: float


class PublishMessageDialog(QDialog):
    def __init__(self, topics: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Publish test message")
        self.setMinimumWidth(520)
        self.topic = QComboBox()
        self.topic.setEditable(True)
        self.topic.setAccessibleName("Topic")
        self.topic.addItems(topics)
        self.topic.setCurrentText(topics[0] if topics else "test.hello")
        self.topic.lineEdit().setPlaceholderText("e.g. sales.lead.created")
        self.payload = QPlainTextEdit(DEFAULT_PAYLOAD)
        self.payload.setAccessibleName("Payload")
        self.payload.setTabChangesFocus(True)  # Tab goes on to the buttons, as in a form
        self.payload.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.priority = QSpinBox()
        self.priority.setRange(0, 255)
        self.priority.setToolTip("Higher priorities are delivered first")
        self.delay = QDoubleSpinBox()
        self.delay.setRange(0, 30 * 86_400)
        self.delay.setDecimals(1)
        self.delay.setSuffix(" s")
        self.delay.setToolTip("Deliver no earlier than this many seconds from now")
        self.problem = QLabel("")
        self.problem.setObjectName("HealthError")
        self.problem.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&Topic:", self.topic)
        form.addRow("&Payload (JSON):", self.payload)
        form.addRow("P&riority:", self.priority)
        form.addRow("&Delay:", self.delay)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.publish_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.publish_button.setText("&Publish")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.topic.currentTextChanged.connect(lambda _t: self.check())
        self.payload.textChanged.connect(self.check)
        self.check()

    def check(self) -> str | None:
        """The first problem with the form, shown under it; ``None`` when it can be sent."""
        problem: str | None = None
        try:
            validate_topic(self.topic.currentText().strip())
        except ServiceError as exc:
            problem = exc.message
        if problem is None:
            try:
                json.loads(self.payload.toPlainText())
            except ValueError as exc:
                problem = f"The payload is not JSON: {exc}"
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None)
        self.publish_button.setEnabled(problem is None)
        return problem

    def message(self) -> TestMessage:
        return TestMessage(
            self.topic.currentText().strip(),
            json.loads(self.payload.toPlainText()),
            self.priority.value(),
            self.delay.value(),
        )

    def accept(self) -> None:
        if self.check() is None:
            super().accept()
