"""The AI playground: ask a deployment (or let a routing policy pick one) and watch the
reply arrive token by token.

System and prompt editors, a target (default routing, a policy or one deployment), max
tokens and temperature. *Send* (Ctrl+Enter) streams the reply into a read-only view; when
it ends, one line says which model answered, how long it took (and until the first token),
the tokens in and out and what it cost, and *Routing decision* unfolds why that deployment
answered and why others were skipped. *Stop* (Esc) cancels the stream and keeps what came.
Errors show inline with their code and message. Nothing here blocks the GUI: the stream
runs on the page's task runner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.ai.types import ModelRequest, ModelResponse, StreamDelta
from auterity_desktop.ui.models.ai_table_models import STRATEGY_TITLES, money, seconds
from auterity_desktop.ui.style import restyle

Stream = Callable[[ModelRequest], AsyncIterator[Any]]
DEFAULT_TARGET = ""


def decision_text(decision: Any) -> str:
    """The routing decision as lines: chosen and why, each skipped one and why, attempts."""
    if decision is None:
        return "No routing decision was reported."
    strategy = getattr(decision, "strategy", None)
    strategy_key = str(getattr(strategy, "value", strategy or ""))
    how = STRATEGY_TITLES.get(strategy_key, strategy_key) if strategy_key else "a direct call"
    lines = [
        f"Policy: {decision.policy or 'none (a direct call)'} · strategy: {how}",
        f"Chosen: {decision.chosen or 'none'} — {decision.reason}",
    ]
    skipped = dict(decision.skipped or {})
    if skipped:
        lines.append("Skipped:")
        lines += [f"  • {name}: {why}" for name, why in skipped.items()]
    else:
        lines.append("Skipped: none")
    attempts = list(decision.attempts or ())
    if attempts:
        lines.append("Attempts:")
        for a in attempts:
            status = f" HTTP {a.status}" if a.status else ""
            error = f" — {a.error}" if a.error else ""
            lines.append(f"  {a.deployment}: {a.outcome}{status} in {seconds(a.latency_s)}{error}")
    return "\n".join(lines)


def response_summary(response: ModelResponse) -> str:
    """Two lines: who answered (deployment and the provider's model name), then latency,
    time to first token, tokens in and out, and cost."""
    usage = response.usage
    ttft = response.time_to_first_token_s
    who = f"{response.deployment} · model {response.model}"
    if response.cached:
        who += " · from the cache"
    parts = [
        f"latency {seconds(response.latency_s)}",
        f"first token {seconds(ttft)}" if ttft is not None else "first token —",
        f"tokens {usage.input_tokens:,} in / {usage.output_tokens:,} out",
        f"cost {money(response.cost)}",
    ]
    return who + "\n" + " · ".join(parts)


class PlaygroundWidget(QWidget):
    sig_started = Signal()
    sig_delta = Signal(str)  # each piece of text as it arrives
    sig_finished = Signal(object)  # the ModelResponse
    sig_failed = Signal(object)  # the ServiceError
    sig_stopped = Signal()

    def __init__(self, tasks: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AIPlayground")
        self.tasks = tasks
        self._stream: Stream | None = None
        self._task: asyncio.Task[Any] | None = None
        self.deltas = 0  # pieces received by the current (or last) call
        self.response: ModelResponse | None = None
        self.error: ServiceError | None = None
        self._started = 0.0
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        # the request
        self.system = QPlainTextEdit()
        self.system.setObjectName("PlaygroundSystem")
        self.system.setAccessibleName("System prompt")
        self.system.setPlaceholderText(
            "Optional: how the assistant should behave, e.g. “You answer dealership customers "
            "briefly and politely.”"
        )
        self.system.setTabChangesFocus(True)
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("PlaygroundPrompt")
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setPlaceholderText("Your message. Ctrl+Enter sends it.")
        self.prompt.setTabChangesFocus(True)
        self.prompt.textChanged.connect(self._update_buttons)
        self.target = QComboBox()
        self.target.setAccessibleName("Target")
        self.target.setMinimumWidth(220)
        self.target.setToolTip(
            "Who answers: the default routing policy, a policy you choose, or one deployment"
        )
        self.max_tokens = QSpinBox()
        self.max_tokens.setAccessibleName("Max tokens")
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("model default")
        self.max_tokens.setValue(512)
        self.max_tokens.setGroupSeparatorShown(True)
        self.max_tokens.setToolTip("The longest reply, in tokens")
        self.temperature = QDoubleSpinBox()
        self.temperature.setAccessibleName("Temperature")
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setSpecialValueText("default")
        self.temperature.setValue(0.7)
        self.temperature.setToolTip("0 answers the same way each time; higher varies more")
        self.send_button = QPushButton("&Send")
        self.send_button.setObjectName("PlaygroundSend")
        self.send_button.setToolTip("Send the prompt and stream the reply (Ctrl+Enter)")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("S&top")
        self.stop_button.setToolTip("Stop the reply; what arrived stays (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.clear_button = QPushButton("C&lear")
        self.clear_button.setToolTip("Empty the reply and its details")
        self.clear_button.clicked.connect(self.clear_reply)
        self.not_allowed = QLabel("Your role may look at AI settings but not call models.")
        self.not_allowed.setObjectName("PageSubtitle")
        self.not_allowed.hide()

        options = QFormLayout()
        options.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for text, widget in (
            ("Tar&get:", self.target),
            ("Max to&kens:", self.max_tokens),
            ("Te&mperature:", self.temperature),
        ):
            options.addRow(text, widget)
        actions = QHBoxLayout()
        actions.addWidget(self.send_button)
        actions.addWidget(self.stop_button)
        actions.addWidget(self.clear_button)
        actions.addStretch(1)
        request_box = QGroupBox("Request")
        request_layout = QVBoxLayout(request_box)
        system_label = QLabel("S&ystem:")
        system_label.setBuddy(self.system)
        prompt_label = QLabel("Pr&ompt:")
        prompt_label.setBuddy(self.prompt)
        request_layout.addWidget(system_label)
        request_layout.addWidget(self.system, 2)
        request_layout.addWidget(prompt_label)
        request_layout.addWidget(self.prompt, 3)
        request_layout.addLayout(options)
        request_layout.addLayout(actions)
        request_layout.addWidget(self.not_allowed)

        # the reply
        self.reply = QPlainTextEdit()
        self.reply.setObjectName("PlaygroundReply")
        self.reply.setAccessibleName("Reply")
        self.reply.setReadOnly(True)
        self.reply.setPlaceholderText("The reply streams in here.")
        self.reply.setTabChangesFocus(True)
        self.state = QLabel("")
        self.state.setObjectName("PageSubtitle")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel("")
        self.summary.setObjectName("PlaygroundSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.hide()
        self.error_label = QLabel("")
        self.error_label.setObjectName("HealthError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.decision_toggle = QToolButton()
        self.decision_toggle.setText("Routing decision")
        self.decision_toggle.setCheckable(True)
        self.decision_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.decision_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.decision_toggle.setAutoRaise(True)
        self.decision_toggle.setToolTip("Why this deployment answered and why others did not")
        self.decision_toggle.toggled.connect(self._toggle_decision)
        self.decision_toggle.hide()
        self.decision = QPlainTextEdit()
        self.decision.setObjectName("PlaygroundDecision")
        self.decision.setAccessibleName("Routing decision")
        self.decision.setReadOnly(True)
        self.decision.setFont(mono)
        self.decision.setMaximumHeight(130)
        self.decision.setTabChangesFocus(True)
        self.decision.hide()
        reply_box = QGroupBox("Reply")
        reply_layout = QVBoxLayout(reply_box)
        reply_layout.addWidget(self.reply, 1)
        reply_layout.addWidget(self.state)
        reply_layout.addWidget(self.summary)
        reply_layout.addWidget(self.error_label)
        reply_layout.addWidget(self.decision_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        reply_layout.addWidget(self.decision)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(request_box)
        splitter.addWidget(reply_box)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([440, 640])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)

        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.send, context=scope)
        QShortcut(QKeySequence("Escape"), self, activated=self.stop, context=scope)
        self.set_targets([], [], None)
        self.set_allowed(False)

    # -- set up -------------------------------------------------------------------------
    def set_stream(self, stream: Stream | None) -> None:
        """What sends a request: None when the signed-in role may not call models."""
        self._stream = stream
        self.set_allowed(stream is not None)

    def set_allowed(self, allowed: bool) -> None:
        for widget in (self.send_button, self.stop_button, self.clear_button):
            widget.setVisible(allowed)
        self.not_allowed.setVisible(not allowed)
        self._update_buttons()

    def set_targets(
        self, deployments: Sequence[str], policies: Sequence[str], default_policy: str | None
    ) -> None:
        """Fill the target box, keeping the chosen one when it still exists."""
        keep = self.target.currentData() or DEFAULT_TARGET
        self.target.blockSignals(True)
        self.target.clear()
        default = (
            f"Default routing (policy {default_policy})" if default_policy else "Default routing"
        )
        self.target.addItem(default, DEFAULT_TARGET)
        for name in policies:
            self.target.addItem(f"Policy: {name}", f"policy:{name}")
        for name in deployments:
            self.target.addItem(f"Deployment: {name}", f"deployment:{name}")
        index = self.target.findData(keep)
        self.target.setCurrentIndex(max(0, index))
        self.target.blockSignals(False)
        self._update_buttons()

    def choose_target(self, kind: str, name: str) -> bool:
        index = self.target.findData(f"{kind}:{name}")
        if index >= 0:
            self.target.setCurrentIndex(index)
        return index >= 0

    # -- the request --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None

    def request(self) -> ModelRequest:
        kind, _, name = str(self.target.currentData() or DEFAULT_TARGET).partition(":")
        temperature = self.temperature.value()
        return ModelRequest.from_prompt(
            self.prompt.toPlainText(),
            system=self.system.toPlainText().strip() or None,
            deployment=name if kind == "deployment" else None,
            policy=name if kind == "policy" else None,
            max_tokens=self.max_tokens.value() or None,
            temperature=None if temperature < 0 else temperature,
            cache=False,  # the playground is for trying things: always ask the model
            purpose="playground",
        )

    def send(self) -> asyncio.Task[Any] | None:
        if self._stream is None or self.running or not self.prompt.toPlainText().strip():
            return None
        request = self.request()
        self.clear_reply()
        self.state.setText("Waiting for the first token…")
        restyle(self.state, "PageSubtitle")
        self._started = time.monotonic()
        self._task = self.tasks.spawn(
            self._run(request), on_done=self._ended, on_error=self._failed
        )
        self._update_buttons()
        self.sig_started.emit()
        return self._task

    async def _run(self, request: ModelRequest) -> ModelResponse | None:
        assert self._stream is not None
        stream = self._stream(request)
        final: ModelResponse | None = None
        try:
            async for item in stream:
                if isinstance(item, StreamDelta):
                    self._append(item.text)
                elif isinstance(item, ModelResponse):
                    final = item
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        return final

    def _append(self, text: str) -> None:
        if not text or not shiboken6.isValid(self.reply):
            return
        self.deltas += 1
        if self.deltas == 1:
            self.state.setText("Streaming…")
        cursor = self.reply.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.reply.setTextCursor(cursor)
        self.reply.ensureCursorVisible()
        self.sig_delta.emit(text)

    def _ended(self, response: ModelResponse | None) -> None:
        self._task = None
        if not shiboken6.isValid(self):
            return
        self._update_buttons()
        if response is None:
            self.state.setText("The stream ended without a final answer.")
            restyle(self.state, "HealthWarning")
            return
        self.response = response
        if not self.reply.toPlainText() and response.text:
            self.reply.setPlainText(response.text)  # a cached answer arrives in one piece
        self.state.setText(f"✔ Done{_finish(response)}")
        restyle(self.state, "HealthOk")
        self.summary.setText(response_summary(response))
        self.summary.show()
        self._show_decision(response.decision)
        self.sig_finished.emit(response)

    def _failed(self, exc: BaseException) -> None:
        self._task = None
        if not shiboken6.isValid(self):
            return
        self._update_buttons()
        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)
            self.state.setText("")
            return
        self.error = exc
        self.state.setText("")
        self.error_label.setText(f"✖ {exc.code.value}: {exc.message}")
        self.error_label.show()
        details = exc.details if isinstance(exc.details, dict) else {}
        decision = details.get("decision")
        if isinstance(decision, dict) and decision:
            self.decision.setPlainText(_dict_decision_text(decision))
            self.decision_toggle.show()
        self.sig_failed.emit(exc)

    def stop(self) -> bool:
        task, self._task = self._task, None
        if task is None:
            return False
        task.cancel()
        received = len(self.reply.toPlainText())
        self.state.setText(
            f"Stopped after {time.monotonic() - self._started:.1f} s — "
            f"{received:,} characters received."
        )
        restyle(self.state, "HealthWarning")
        self._update_buttons()
        self.sig_stopped.emit()
        return True

    def clear_reply(self) -> None:
        if self.running:
            return
        self.deltas = 0
        self.response = None
        self.error = None
        self.reply.clear()
        self.state.setText("")
        self.summary.setText("")
        self.summary.hide()
        self.error_label.hide()
        self.decision.clear()
        self.decision_toggle.setChecked(False)
        self.decision_toggle.hide()
        self._update_buttons()

    # -- details ------------------------------------------------------------------------
    def _show_decision(self, decision: Any) -> None:
        self.decision.setPlainText(decision_text(decision))
        self.decision_toggle.show()
        chosen = getattr(decision, "chosen", None)
        self.decision_toggle.setText(
            f"Routing decision: {chosen}" if chosen else "Routing decision"
        )

    def _toggle_decision(self, shown: bool) -> None:
        self.decision.setVisible(shown)
        self.decision_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def _update_buttons(self) -> None:
        running = self.running
        self.send_button.setEnabled(
            self._stream is not None and not running and bool(self.prompt.toPlainText().strip())
        )
        self.stop_button.setEnabled(running)
        self.clear_button.setEnabled(not running and bool(self.reply.toPlainText()))

    def shutdown(self) -> None:
        """The page goes away: stop a stream that is still running."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()


def _finish(response: ModelResponse) -> str:
    """Why the reply ended, when it is worth saying (a normal end is not)."""
    reason = response.finish_reason
    if reason in (None, "stop", "end_turn", "stop_sequence"):
        return ""
    if reason in ("length", "max_tokens"):
        return " · cut off at the max tokens"
    return f" · ended: {reason}"


def _dict_decision_text(decision: dict[str, Any]) -> str:
    lines = [f"Chosen: {decision.get('chosen') or 'none'} — {decision.get('reason', '')}"]
    for name, why in (decision.get("skipped") or {}).items():
        lines.append(f"  • {name}: {why}")
    for attempt in decision.get("attempts") or ():
        if isinstance(attempt, dict):
            lines.append(
                f"  {attempt.get('deployment')}: {attempt.get('outcome')}"
                + (f" — {attempt['error']}" if attempt.get("error") else "")
            )
    return "\n".join(lines)
