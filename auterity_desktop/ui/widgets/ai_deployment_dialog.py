"""Add or edit one model deployment: a provider, its address, a model and what it costs.

Choosing a provider fills in its usual address (unless one was typed). For Ollama,
*Load local models* asks the server for the models it has pulled (its /api/tags) and offers
them in the model box. The API key field is masked; what is typed goes to the system
keyring only, never into the database or the table. Editing leaves it empty: empty keeps the
stored key, a new value replaces it, and *Remove the stored key* deletes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.ui.models.ai_table_models import PROVIDER_TITLES
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.ai_form_dialog import AIFormDialog, Save, name_problem
from auterity_desktop.ui.widgets.integration_fields import SecretFieldEditor

PROVIDERS = ("openai", "anthropic", "ollama")
DEFAULT_BASES = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434",
}
BASE_TIPS = {
    "openai": "Any OpenAI-compatible server: OpenAI, vLLM, LM Studio, llama.cpp, Ollama's /v1",
    "anthropic": "Anthropic's messages API",
    "ollama": "An Ollama server (its native /api/chat); no key needed",
}
CAPABILITIES = (
    ("tools", "Tools", "It can call tools (functions)"),
    ("json", "JSON output", "It can answer in JSON matching a schema"),
    ("vision", "Vision", "It reads images"),
)
MAX_TOKENS_LIMIT = 100_000_000
DEFAULT_CONTEXT = 8192
REMOVE_KEY = ""  # the api_key value that deletes a stored key

LoadModels = Callable[[str], Coroutine[Any, Any, list[str]]]


@dataclass(frozen=True)
class _KeySpec:
    """What ``SecretFieldEditor`` reads of a field spec."""

    label: str = "API key"
    help: str = "Stored in the system keyring only; never in the database, the table or exports"
    default: None = None


def _spin(maximum: int, special: str, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setSpecialValueText(special)
    box.setSuffix(suffix)
    box.setGroupSeparatorShown(True)
    return box


def _price() -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 1000)
    box.setDecimals(6)
    box.setPrefix("$ ")
    box.setSingleStep(0.0005)
    return box


class DeploymentDialog(AIFormDialog):
    """``save(values)`` gets the spec plus ``api_key``: None keeps, "" removes, else sets."""

    def __init__(
        self,
        *,
        save: Save,
        tasks: Any,
        load_models: LoadModels | None,
        existing: Any | None = None,
        taken_names: Iterable[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        title = "Add deployment" if existing is None else f"Edit deployment — {existing.name}"
        super().__init__(title, save, tasks, parent)
        self.setObjectName("DeploymentDialog")
        self.existing = existing
        self.taken = {n.strip().lower() for n in taken_names}
        if existing is not None:
            self.taken.discard(existing.name.strip().lower())
        self._load_models = load_models
        self._load_task: asyncio.Task[Any] | None = None
        self._provider = "openai"

        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. gpt-4o-mini or local-llama")
        self.name.setToolTip("How workflows, policies and the playground refer to it")
        self.provider = QComboBox()
        for key in PROVIDERS:
            self.provider.addItem(PROVIDER_TITLES[key], key)
            self.provider.setItemData(
                self.provider.count() - 1, BASE_TIPS[key], Qt.ItemDataRole.ToolTipRole
            )
        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.api_base = QLineEdit(DEFAULT_BASES["openai"])
        self.api_base.setToolTip("Where the server answers (http:// or https://)")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setToolTip("The model name the server knows, e.g. gpt-4o-mini or llama3.2")
        self.model.lineEdit().setPlaceholderText("model name")
        self.load_button = QPushButton("L&oad local models")
        self.load_button.setToolTip("Ask the Ollama server which models it has pulled")
        self.load_button.clicked.connect(self.load_local_models)
        self.load_status = QLabel("")
        self.load_status.setObjectName("PageSubtitle")
        self.load_status.setWordWrap(True)
        self.load_status.hide()
        model_row = QHBoxLayout()
        model_row.setContentsMargins(0, 0, 0, 0)
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.load_button)
        model_box = QWidget()
        model_layout = QVBoxLayout(model_box)
        model_layout.setContentsMargins(0, 0, 0, 0)
        model_layout.setSpacing(2)
        model_layout.addLayout(model_row)
        model_layout.addWidget(self.load_status)
        model_box.setFocusProxy(self.model)

        self.price_in = _price()
        self.price_in.setToolTip("What 1,000 input (prompt) tokens cost; 0 for a local model")
        self.price_in.setAccessibleName("Price per 1k input tokens")
        self.price_out = _price()
        self.price_out.setToolTip("What 1,000 output (reply) tokens cost")
        self.price_out.setAccessibleName("Price per 1k output tokens")
        prices = QHBoxLayout()
        prices.setContentsMargins(0, 0, 0, 0)
        prices.addWidget(QLabel("in"))
        prices.addWidget(self.price_in, 1)
        prices.addSpacing(12)
        prices.addWidget(QLabel("out"))
        prices.addWidget(self.price_out, 1)
        prices_box = QWidget()
        prices_box.setLayout(prices)
        prices_box.setFocusProxy(self.price_in)
        self.context_window = _spin(MAX_TOKENS_LIMIT, "", " tokens")
        self.context_window.setMinimum(256)
        self.context_window.setValue(DEFAULT_CONTEXT)
        self.context_window.setSingleStep(1024)
        self.context_window.setToolTip(
            "The longest prompt plus reply it takes; routing skips it for longer requests"
        )
        self.capabilities: dict[str, QCheckBox] = {}
        capability_row = QHBoxLayout()
        capability_row.setContentsMargins(0, 0, 0, 0)
        for key, text, tip in CAPABILITIES:
            box = QCheckBox(text)
            box.setToolTip(tip)
            self.capabilities[key] = box
            capability_row.addWidget(box)
        capability_row.addStretch(1)
        capability_box = QWidget()
        capability_box.setLayout(capability_row)
        capability_box.setFocusProxy(self.capabilities["tools"])
        self.rpm = _spin(10_000_000, "no limit", " rpm")
        self.rpm.setToolTip("Requests per minute routing keeps it under")
        self.rpm.setAccessibleName("Requests per minute limit")
        self.tpm = _spin(1_000_000_000, "no limit", " tpm")
        self.tpm.setToolTip("Tokens per minute routing keeps it under")
        self.tpm.setAccessibleName("Tokens per minute limit")
        limits = QHBoxLayout()
        limits.setContentsMargins(0, 0, 0, 0)
        limits.addWidget(self.rpm, 1)
        limits.addWidget(self.tpm, 1)
        limits_box = QWidget()
        limits_box.setLayout(limits)
        limits_box.setFocusProxy(self.rpm)
        self.weight = QDoubleSpinBox()
        self.weight.setRange(0, 1000)
        self.weight.setDecimals(2)
        self.weight.setValue(1.0)
        self.weight.setToolTip("Its share under the weighted strategy (2 = twice as often as 1)")
        self.enabled = QCheckBox("Routing may use it")
        self.enabled.setChecked(True)
        self.enabled.setToolTip("Switch it off to keep its settings without it being called")
        self.api_key = SecretFieldEditor(_KeySpec())
        self.api_key.set_stored(bool(existing is not None and existing.has_key))
        self.remove_key = QCheckBox("Remove the stored key")
        self.remove_key.setToolTip("Delete the key from the system keyring when saving")
        self.remove_key.setVisible(bool(existing is not None and existing.has_key))
        self.remove_key.toggled.connect(self._remove_toggled)
        key_box = QWidget()
        key_layout = QVBoxLayout(key_box)
        key_layout.setContentsMargins(0, 0, 0, 0)
        key_layout.setSpacing(2)
        key_layout.addWidget(self.api_key)
        key_layout.addWidget(self.remove_key)
        key_box.setFocusProxy(self.api_key)

        for text, widget in (
            ("&Name:", self.name),
            ("&Provider:", self.provider),
            ("&Address:", self.api_base),
            ("&Model:", model_box),
            ("P&rice per 1k:", prices_box),
            ("&Context window:", self.context_window),
            ("Capa&bilities:", capability_box),
            ("&Limits:", limits_box),
            ("&Weight:", self.weight),
            ("", self.enabled),
            ("API &key:", key_box),
        ):
            self.form.addRow(text, widget)
        for edit in (self.name, self.api_base, self.model.lineEdit(), self.api_key.edit):
            edit.textChanged.connect(self.revalidate)
        if existing is not None:
            self._fill(existing)
        self._provider_changed()
        self.finish_layout()
        self.resize(580, self.sizeHint().height())

    # -- the form -----------------------------------------------------------------------
    def _fill(self, d: Any) -> None:
        self.name.setText(d.name)
        self.name.setReadOnly(True)
        self.name.setToolTip("The name is how policies and workflows find it; it stays")
        provider = str(getattr(d.provider, "value", d.provider))
        self._provider = provider
        self.provider.setCurrentIndex(max(0, self.provider.findData(provider)))
        self.api_base.setText(d.api_base or "")
        self.model.setEditText(d.model)
        self.price_in.setValue(d.price_input_per_1k or 0.0)
        self.price_out.setValue(d.price_output_per_1k or 0.0)
        self.context_window.setValue(d.context_window or DEFAULT_CONTEXT)
        owned = {str(getattr(c, "value", c)) for c in d.capabilities or ()}
        for key, box in self.capabilities.items():
            box.setChecked(key in owned)
        self.rpm.setValue(d.rpm or 0)
        self.tpm.setValue(d.tpm or 0)
        self.weight.setValue(d.weight)
        self.enabled.setChecked(bool(d.enabled))

    @property
    def provider_key(self) -> str:
        return str(self.provider.currentData())

    def _provider_changed(self, *_args: Any) -> None:
        provider = self.provider_key
        base = self.api_base.text().strip()
        if not base or base == DEFAULT_BASES.get(self._provider):
            self.api_base.setText(DEFAULT_BASES[provider])
        self._provider = provider
        self.api_base.setToolTip(BASE_TIPS[provider])
        self.load_button.setVisible(provider == "ollama" and self._load_models is not None)
        self.api_key.edit.setPlaceholderText(
            self.api_key.edit.placeholderText()
            if self.api_key.stored
            else "Not needed for Ollama"
            if provider == "ollama"
            else "Not set — type one to store it in the keyring"
        )
        self.revalidate()

    def _remove_toggled(self, remove: bool) -> None:
        self.api_key.edit.setEnabled(not remove)
        if remove:
            self.api_key.edit.clear()
        self.revalidate()

    def key_value(self) -> str | None:
        """None keeps what is stored, "" removes it, anything else is the new key."""
        if self.remove_key.isChecked():
            return REMOVE_KEY
        key = self.api_key.edit.text().strip()
        return key or None

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.text().strip(),
            "provider": self.provider_key,
            "api_base": self.api_base.text().strip().rstrip("/"),
            "model": self.model.currentText().strip(),
            "price_input_per_1k": self.price_in.value(),
            "price_output_per_1k": self.price_out.value(),
            "context_window": self.context_window.value(),
            "capabilities": [k for k, box in self.capabilities.items() if box.isChecked()],
            "rpm": self.rpm.value() or None,
            "tpm": self.tpm.value() or None,
            "weight": self.weight.value(),
            "enabled": self.enabled.isChecked(),
            "api_key": self.key_value(),
        }

    def local_problem(self) -> str | None:
        if problem := name_problem(self.name.text().strip(), self.taken, "deployment"):
            return problem
        url = urlparse(self.api_base.text().strip())
        if url.scheme not in ("http", "https") or not url.netloc:
            return "The address must be an http:// or https:// URL."
        if not self.model.currentText().strip():
            return "Name the model (for Ollama, Load local models lists them)."
        return None

    def mark_field(self, field: str, text: str) -> bool:
        widget = {
            "name": self.name,
            "api_base": self.api_base,
            "model": self.model,
            "api_key": self.api_key.edit,
        }.get(field)
        if widget is None:
            return False
        widget.setFocus()
        return True

    # -- local models -------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self._load_task is not None

    def load_local_models(self) -> asyncio.Task[Any] | None:
        if self._load_models is None or self.loading:
            return None
        base = self.api_base.text().strip().rstrip("/")
        self.load_button.setEnabled(False)
        self.load_status.setText(f"Asking {base} for its models…")
        self.load_status.setObjectName("PageSubtitle")
        self.load_status.show()
        self._load_task = self.tasks.spawn(
            self._load_models(base), on_done=self._models_loaded, on_error=self._load_failed
        )
        return self._load_task

    def _load_ended(self) -> bool:
        self._load_task = None
        if not shiboken6.isValid(self):
            return False
        self.load_button.setEnabled(True)
        return True

    def _models_loaded(self, names: list[str]) -> None:
        if not self._load_ended():
            return
        typed = self.model.currentText()
        self.model.clear()
        self.model.addItems(list(names))
        self.model.setEditText(typed if typed in names or not names else names[0])
        self._status(
            f"{len(names)} model{'' if len(names) == 1 else 's'} on this server: pick one."
            if names
            else "The server has no models yet: pull one (ollama pull llama3.2).",
            error=not names,
        )
        self.revalidate()

    def _load_failed(self, exc: BaseException) -> None:
        if not self._load_ended():
            return
        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)
            return
        self._status(f"Could not list the models: {exc.message}", error=True)

    def _status(self, text: str, error: bool) -> None:
        self.load_status.setText(text)
        self.load_status.show()
        restyle(self.load_status, "HealthError" if error else "PageSubtitle")

    def done(self, result: int) -> None:
        task, self._load_task = self._load_task, None
        if task is not None:
            task.cancel()
        super().done(result)
