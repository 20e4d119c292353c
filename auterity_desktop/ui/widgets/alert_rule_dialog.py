"""The rule editor: name, metric and labels, the settings of the chosen kind, for how long,
how severe, and optionally an integration to notify.

Every change is checked with the service's own ``validate_rule``, so the sentences under
the form are the ones the service would refuse with; Save is enabled only without
problems. The dialog does not save: it emits ``sig_submitted(data)`` and the page calls
the service, then ``accept()`` or ``show_error(...)`` (a name in use, an integration that
does not exist). "Check now" asks the page what the rule says about the current samples.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.monitoring.alert_rules import (
    COMPARATORS,
    KIND_TITLES,
    KINDS,
    MAX_SECONDS,
    PARAM_DEFAULTS,
    SEVERITIES,
    validate_rule,
)

METHOD_TITLES = {"ewma": "EWMA (exponentially weighted mean)", "mad": "MAD (median, robust)"}
DIRECTION_TITLES = {"both": "either way", "above": "above normal", "below": "below normal"}
KIND_HINTS = {
    "threshold": "Compares the latest sample with a number.",
    "rate": "Change per minute over the window; for counters (such as runs) their increase.",
    "anomaly": "How unusual the latest sample is compared with the window before it (a z-score).",
    "absence": "Fires when no sample arrives for this long.",
}


def _spin(low: float, high: float, decimals: int, suffix: str = "", step: float = 1.0) -> Any:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    if suffix:
        spin.setSuffix(suffix)
    return spin


def _combo(items: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    for key, title in items.items():
        combo.addItem(title, key)
    return combo


def _select(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


class RuleEditorDialog(QDialog):
    sig_submitted = Signal(object)  # the rule as a dict for create_rule / update_rule
    sig_preview_requested = Signal(object)  # the rule as a dict

    def __init__(
        self,
        metrics: list[str],
        integrations: list[tuple[str, str]],
        rule: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        """``integrations``: (name, kind) of those that can send (e-mail, REST, DMS)."""
        super().__init__(parent)
        self.rule = rule
        self.known_metrics = set(metrics)
        self.integration_kinds = dict(integrations)
        self.setWindowTitle(f"Edit rule · {rule.name}" if rule is not None else "New alert rule")
        self.setMinimumWidth(600)

        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.name.setPlaceholderText("e.g. Lead queue backlog")
        self.description = QLineEdit()
        self.description.setAccessibleName("Description")
        self.description.setPlaceholderText("What it means and what to do (optional)")
        self.kind = _combo({k: KIND_TITLES[k] for k in KINDS})
        self.kind.setAccessibleName("Kind")
        self.kind_hint = QLabel("")
        self.kind_hint.setObjectName("PageSubtitle")
        self.kind_hint.setWordWrap(True)
        self.metric_box = QComboBox()
        self.metric_box.setEditable(True)
        self.metric_box.setAccessibleName("Metric")
        self.metric_box.addItems(sorted(metrics))
        self.metric_box.setCurrentText("")
        self.metric_box.lineEdit().setPlaceholderText("e.g. auterity_queue_depth")
        self.labels = QLineEdit()
        self.labels.setAccessibleName("Labels")
        self.labels.setPlaceholderText("only these series, e.g. queue=crm.leads (optional)")

        # kind-specific settings, one page each
        self.fields: dict[str, dict[str, Any]] = {}
        self.pages = QStackedWidget()
        for kind in KINDS:
            self.pages.addWidget(self._kind_page(kind))

        self.for_seconds = _spin(0, MAX_SECONDS, 0, " s", 15)
        self.for_seconds.setAccessibleName("For")
        self.for_seconds.setToolTip(
            "How long the condition must hold before the alert fires (pending until then)"
        )
        self.severity = _combo({s: s for s in SEVERITIES})
        self.severity.setAccessibleName("Severity")
        _select(self.severity, "warning")
        self.enabled = QCheckBox("&Enabled")
        self.enabled.setChecked(True)
        self.integration = QComboBox()
        self.integration.setAccessibleName("Notify")
        self.integration.addItem("Only in the app (pop-up and list)", None)
        for name, kind in integrations:
            title = "e-mail" if kind == "email" else "POST to a REST API"
            self.integration.addItem(f"{name} ({title})", name)
        self.recipients = QLineEdit()
        self.recipients.setAccessibleName("Recipients")
        self.recipients.setPlaceholderText("ops@dealer.example, it@dealer.example")
        self.path = QLineEdit()
        self.path.setAccessibleName("Path")
        self.path.setPlaceholderText("/hooks/alerts")

        form = QFormLayout()
        form.addRow("&Name:", self.name)
        form.addRow("&Description:", self.description)
        form.addRow("&Kind:", self.kind)
        form.addRow("", self.kind_hint)
        form.addRow("&Metric:", self.metric_box)
        form.addRow("&Labels:", self.labels)
        form.addRow(self.pages)
        form.addRow("&For:", self.for_seconds)
        form.addRow("Se&verity:", self.severity)
        form.addRow("", self.enabled)
        form.addRow("N&otify:", self.integration)
        form.addRow("&Recipients:", self.recipients)
        form.addRow("&Path:", self.path)
        self.form = form

        self.problem = QLabel("")
        self.problem.setObjectName("HealthError")
        self.problem.setWordWrap(True)
        self.warning = QLabel("")
        self.warning.setObjectName("HealthWarning")
        self.warning.setWordWrap(True)
        self.preview = QLabel("")
        self.preview.setObjectName("PageSubtitle")
        self.preview.setWordWrap(True)
        self.check_button = QPushButton("Check &now")
        self.check_button.setToolTip("What this rule says about the samples collected so far")
        self.check_button.clicked.connect(self.request_preview)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.check_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.warning)
        layout.addWidget(self.preview)
        layout.addLayout(bottom)

        if rule is not None:
            self._load(rule)
        else:
            self._kind_changed()
        for line in (self.name, self.description, self.labels, self.recipients, self.path):
            line.textChanged.connect(lambda _t: self.check())
        self.metric_box.currentTextChanged.connect(lambda _t: self.check())
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.integration.currentIndexChanged.connect(lambda _i: self.check())
        self.severity.currentIndexChanged.connect(lambda _i: self.check())
        self.for_seconds.valueChanged.connect(lambda _v: self.check())
        self.enabled.toggled.connect(lambda _b: self.check())
        self.check()

    # -- building ---------------------------------------------------------------------
    def _kind_page(self, kind: str) -> QWidget:
        defaults = PARAM_DEFAULTS[kind]
        fields: dict[str, Any] = {}
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        if kind in ("threshold", "rate"):
            fields["comparator"] = _combo({c: c for c in COMPARATORS})
            suffix = " /min" if kind == "rate" else ""
            fields["threshold"] = _spin(-1e12, 1e12, 4, suffix, 0.05)
            row = QHBoxLayout()
            row.addWidget(fields["comparator"])
            row.addWidget(fields["threshold"], 1)
            form.addRow("Fires when the rate is:" if kind == "rate" else "Fires when the value is:",
                        row)  # fmt: skip
        if kind in ("rate", "anomaly"):
            fields["window"] = _spin(1 / 60, MAX_SECONDS / 60, 1, " min", 1)
            form.addRow("Over the last:", fields["window"])
        if kind == "anomaly":
            fields["method"] = _combo(METHOD_TITLES)
            fields["threshold"] = _spin(0.1, 1000, 2, "", 0.5)
            fields["direction"] = _combo(DIRECTION_TITLES)
            fields["min_samples"] = QSpinBox()
            fields["min_samples"].setRange(3, 100_000)
            fields["alpha"] = _spin(0.01, 1, 2, "", 0.05)
            form.addRow("Method:", fields["method"])
            form.addRow("Fires at a score of:", fields["threshold"])
            form.addRow("Direction:", fields["direction"])
            form.addRow("At least this many samples:", fields["min_samples"])
            form.addRow("Smoothing (EWMA α):", fields["alpha"])
            fields["method"].currentIndexChanged.connect(lambda _i: self._method_changed())
        if kind == "absence":
            fields["seconds"] = _spin(1, MAX_SECONDS, 0, " s", 60)
            form.addRow("Fires after no sample for:", fields["seconds"])
        for key, widget in fields.items():
            widget.setAccessibleName(key)
            value = defaults.get(key)
            if value is not None:
                self._set(widget, key, value)
            if isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(lambda _i: self.check())
            else:
                widget.valueChanged.connect(lambda _v: self.check())
        self.fields[kind] = fields
        page = QWidget()
        page.setLayout(form)
        return page

    @staticmethod
    def _set(widget: Any, key: str, value: Any) -> None:
        if isinstance(widget, QComboBox):
            _select(widget, value)
        elif key == "window":
            widget.setValue(float(value) / 60)
        else:
            widget.setValue(value)

    def _load(self, rule: Any) -> None:
        spec = rule.spec
        self.name.setText(spec.name)
        self.description.setText(spec.description)
        _select(self.kind, spec.kind)
        self.metric_box.setCurrentText(spec.metric)
        self.labels.setText(", ".join(f"{k}={v}" for k, v in sorted(spec.labels.items())))
        for key, value in spec.params.items():
            widget = self.fields[spec.kind].get(key)
            if widget is not None:
                self._set(widget, key, value)
        self.for_seconds.setValue(spec.for_seconds)
        _select(self.severity, spec.severity)
        self.enabled.setChecked(spec.enabled)
        notify = spec.notify or {}
        if notify.get("integration"):
            if self.integration.findData(notify["integration"]) < 0:  # gone or not sending
                self.integration.addItem(f"{notify['integration']} (missing)",
                                         notify["integration"])  # fmt: skip
            _select(self.integration, notify["integration"])
        self.recipients.setText(", ".join(notify.get("recipients") or []))
        self.path.setText(str(notify.get("path") or ""))
        self._kind_changed()

    # -- reading ----------------------------------------------------------------------
    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, widget in self.fields[self.current_kind()].items():
            if isinstance(widget, QComboBox):
                params[key] = widget.currentData()
            elif key == "window":
                params[key] = round(widget.value() * 60, 3)
            else:
                params[key] = widget.value()
        return params

    def data(self) -> dict[str, Any]:
        integration = self.integration.currentData()
        notify: dict[str, Any] | None = None
        if integration:
            notify = {"integration": integration}
            if self.integration_kinds.get(integration) == "email":
                notify["recipients"] = self.recipients.text()
            else:
                notify["path"] = self.path.text().strip() or "/"
        return {
            "name": self.name.text(),
            "description": self.description.text(),
            "kind": self.current_kind(),
            "metric": self.metric_box.currentText().strip(),
            "labels": self.labels.text(),
            "params": self.params(),
            "for_seconds": self.for_seconds.value(),
            "severity": self.severity.currentData(),
            "enabled": self.enabled.isChecked(),
            "notify": notify,
        }

    # -- checking ---------------------------------------------------------------------
    def _kind_changed(self) -> None:
        kind = self.current_kind()
        self.pages.setCurrentIndex(KINDS.index(kind))
        for index in range(self.pages.count()):  # only the shown kind's fields take room
            policy = (
                QSizePolicy.Policy.Preferred
                if index == self.pages.currentIndex()
                else QSizePolicy.Policy.Ignored
            )
            self.pages.widget(index).setSizePolicy(policy, policy)
        self.pages.adjustSize()
        self.adjustSize()
        self.kind_hint.setText(KIND_HINTS[kind])
        self._method_changed()
        self.check()

    def _method_changed(self) -> None:
        anomaly = self.fields["anomaly"]
        anomaly["alpha"].setEnabled(anomaly["method"].currentData() == "ewma")

    def problems(self) -> list[tuple[str, str]]:
        spec, problems = validate_rule(self.data())
        if (
            spec is not None
            and spec.notify
            and self.integration_kinds.get(spec.notify["integration"]) == "email"
            and not spec.notify.get("recipients")
        ):
            problems.append(("recipients", "Name at least one recipient for the e-mail"))
        return problems

    def check(self) -> bool:
        integration = self.integration.currentData()
        kind = self.integration_kinds.get(integration) if integration else None
        self.form.setRowVisible(self.recipients, kind == "email")
        self.form.setRowVisible(self.path, kind is not None and kind != "email")
        problems = self.problems()
        self.problem.setText("\n".join(message for _, message in problems))
        metric = self.metric_box.currentText().strip()
        warn = ""
        if metric and metric not in self.known_metrics and not problems:
            warn = f"Nothing has recorded {metric} yet: check the name (the rule is saved anyway)."
        self.warning.setText(warn)
        self.warning.setVisible(bool(warn))
        self.save_button.setEnabled(not problems)
        self.check_button.setEnabled(not problems)
        return not problems

    # -- the page's side --------------------------------------------------------------
    def submit(self) -> None:
        if self.check():
            self.save_button.setEnabled(False)
            self.sig_submitted.emit(self.data())

    def show_error(self, error: BaseException) -> None:
        """The service refused: say why and let the user fix it."""
        if isinstance(error, ServiceError):
            problems = error.details.get("problems") or []
            text = "\n".join(p["message"] for p in problems) or error.message
        else:
            text = str(error)
        self.problem.setText(text)
        self.save_button.setEnabled(True)

    def request_preview(self) -> None:
        if self.check():
            self.preview.setText("Checking…")
            self.sig_preview_requested.emit(self.data())

    def show_preview(self, outcomes: list[Any]) -> None:
        if not outcomes:
            self.preview.setText("Now: no recent samples match, so the rule stays quiet.")
            return
        lines = []
        for outcome in outcomes[:5]:
            verdict = "would fire" if outcome.active else "quiet"
            where = ", ".join(f"{k}={v}" for k, v in sorted(outcome.labels.items()))
            lines.append(f"Now{f' ({where})' if where else ''}: {outcome.message} — {verdict}")
        if len(outcomes) > 5:
            lines.append(f"… and {len(outcomes) - 5} more series")
        self.preview.setText("\n".join(lines))
