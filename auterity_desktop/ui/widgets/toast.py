"""Toasts: small notes that appear in a window's bottom-right corner and go away by
themselves, for news the user did not ask for (an alert that started firing).

``ToastArea`` owns the toasts of one window: the newest at the bottom, at most a few at a
time (the oldest give way), kept in the corner when the window is resized. A toast never
takes the focus; it has an optional action button and a close button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

MARGIN = 16
SPACING = 8
WIDTH = 360
MAX_TOASTS = 3
TIMEOUT_MS = 8000


class ToastWidget(QFrame):
    sig_closed = Signal(object)  # self

    def __init__(
        self,
        title: str,
        text: str,
        colours: dict[str, str],
        accent: str,
        action: tuple[str, Callable[[], object]] | None = None,
        timeout_ms: int = TIMEOUT_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Toast")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedWidth(WIDTH)
        self.setStyleSheet(
            f"#Toast {{ background: {colours['surface']}; border: 1px solid {colours['border']};"
            f" border-left: 5px solid {accent}; border-radius: 8px; }}"
            f"#Toast QLabel {{ background: transparent; border: none; }}"
            f"#ToastText {{ color: {colours['muted_text']}; }}"
        )
        self.title = QLabel(title)
        self.title.setObjectName("ToastTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel(text)
        self.text.setObjectName("ToastText")
        self.text.setWordWrap(True)
        self.close_button = QPushButton()
        self.close_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton)
        )
        self.close_button.setObjectName("ToastClose")
        self.close_button.setFlat(True)
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.setToolTip("Dismiss")
        self.close_button.setFixedWidth(28)
        self.close_button.clicked.connect(self.dismiss)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 10)
        layout.addLayout(head)
        layout.addWidget(self.text)
        self.action_button: QPushButton | None = None
        if action is not None:
            label, callback = action
            self.action_button = QPushButton(label)
            self.action_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.action_button.clicked.connect(lambda: (callback(), self.dismiss()))
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(self.action_button)
            layout.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(timeout_ms)
        self.timer.timeout.connect(self.dismiss)
        self.timer.start()

    def enterEvent(self, event: object) -> None:
        self.timer.stop()  # reading it: stay

    def leaveEvent(self, event: object) -> None:
        self.timer.start()

    def dismiss(self) -> None:
        self.timer.stop()
        self.hide()
        self.sig_closed.emit(self)
        self.deleteLater()


class ToastArea(QObject):
    """The toasts of one window, stacked in its bottom-right corner."""

    def __init__(self, host: QWidget, bottom_offset: Callable[[], int] = lambda: 0) -> None:
        super().__init__(host)
        self.host = host
        self.bottom_offset = bottom_offset
        self.toasts: list[ToastWidget] = []
        host.installEventFilter(self)

    def show_toast(
        self,
        title: str,
        text: str,
        colours: dict[str, str],
        accent: str,
        action: tuple[str, Callable[[], object]] | None = None,
        timeout_ms: int = TIMEOUT_MS,
    ) -> ToastWidget:
        while len(self.toasts) >= MAX_TOASTS:
            self.toasts[0].dismiss()
        toast = ToastWidget(title, text, colours, accent, action, timeout_ms, self.host)
        toast.sig_closed.connect(self._closed)
        self.toasts.append(toast)
        toast.adjustSize()
        toast.show()
        toast.raise_()
        self.place()
        return toast

    def _closed(self, toast: ToastWidget) -> None:
        if toast in self.toasts:
            self.toasts.remove(toast)
            self.place()

    def place(self) -> None:
        y = self.host.height() - self.bottom_offset() - MARGIN
        for toast in reversed(self.toasts):  # newest at the bottom
            toast.adjustSize()
            y -= toast.height()
            toast.move(self.host.width() - toast.width() - MARGIN, max(y, MARGIN))
            toast.raise_()
            y -= SPACING

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize:
            self.place()
        return False
