"""Register a model from a CSV file of reference data: pick the file, check what each column
is (a numeric or categorical feature, the target, the model's prediction or score, or not
used — guessed from the data and the column names), name the model and register it.

The file is read with pandas in a worker thread. A file with more rows than a reference set
may hold is sampled (seeded, so the same file gives the same sample) and the dialog says
so. The dialog calls ``submit`` with a ``Registration``; an expected error (a model of that
name and version exists, a column has text in a numeric feature) stays in the dialog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.monitoring import ml_data
from auterity_desktop.services.monitoring.ml_metrics import CLASSIFICATION, REGRESSION
from auterity_desktop.ui.tasks import TaskRunner

ROLES = {
    "numeric": "Feature · numeric",
    "categorical": "Feature · categorical",
    "target": "Target (actual value)",
    "prediction": "Model's prediction",
    "score": "Score of the positive class",
    "ignore": "Not used",
}
TARGET_NAMES = frozenset({"target", "label", "y", "actual", "outcome", "class"})
PREDICTION_NAMES = frozenset({"prediction", "predicted", "pred", "y_pred"})
SCORE_NAMES = frozenset({"score", "probability", "proba", "prob", "y_score"})
SAMPLE_SEED = 20_260_101


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    task: str
    features: dict[str, str]
    frame: pd.DataFrame
    target: str | None
    prediction_column: str | None
    score_column: str | None
    positive_label: str | None


def guess_roles(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's role: from its name for target, prediction and score, else its kind."""
    roles: dict[str, str] = {}
    kinds = ml_data.infer_kinds(frame)
    taken: set[str] = set()
    for column in frame.columns:
        name = str(column)
        lowered = name.strip().lower()
        for role, names in (
            ("target", TARGET_NAMES),
            ("prediction", PREDICTION_NAMES),
            ("score", SCORE_NAMES),
        ):
            if lowered in names and role not in taken:
                roles[name] = role
                taken.add(role)
                break
        else:
            roles[name] = kinds[name] or "ignore"
    return roles


def guess_task(frame: pd.DataFrame, target: str | None) -> str:
    if target is None:
        return CLASSIFICATION
    series = frame[target].dropna()
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
    return REGRESSION if numeric and series.nunique() > 10 else CLASSIFICATION


class RegisterModelDialog(QDialog):
    def __init__(
        self,
        tasks: TaskRunner,
        submit: Callable[[Registration], Coroutine[Any, Any, Any]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Register model")
        self.setMinimumSize(640, 560)
        self.tasks = tasks
        self._submit = submit
        self.frame: pd.DataFrame | None = None
        self.sampled_from: int | None = None
        self.result_info: Any = None
        self.loading: asyncio.Task[Any] | None = None

        self.path = QLineEdit()
        self.path.setReadOnly(True)
        self.path.setPlaceholderText("A CSV file of reference data (e.g. the training set)")
        self.path.setAccessibleName("Reference file")
        self.browse_button = QPushButton("&Choose file…")
        self.browse_button.clicked.connect(self.browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(self.browse_button)
        self.name = QLineEdit()
        self.name.setAccessibleName("Model name")
        self.name.setPlaceholderText("e.g. trade-in-price")
        self.version = QLineEdit("1")
        self.version.setAccessibleName("Version")
        self.task = QComboBox()
        self.task.addItem("Classification", CLASSIFICATION)
        self.task.addItem("Regression", REGRESSION)
        self.positive = QLineEdit()
        self.positive.setPlaceholderText('optional; default "1" or the last label')
        self.positive.setToolTip("The class precision, recall, F1 and ROC AUC are about")
        form = QFormLayout()
        form.addRow("&Reference data:", file_row)
        form.addRow("&Name:", self.name)
        form.addRow("&Version:", self.version)
        form.addRow("&Task:", self.task)
        form.addRow("&Positive label:", self.positive)

        self.columns = QTableWidget(0, 3)
        self.columns.setHorizontalHeaderLabels(["Column", "Use as", "Example values"])
        self.columns.verticalHeader().hide()
        self.columns.setTabKeyNavigation(False)  # Tab goes from choice to choice, then on
        header = self.columns.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.combos: dict[str, QComboBox] = {}
        self.summary = QLabel("Choose a file to see its columns.")
        self.summary.setObjectName("PageSubtitle")
        self.summary.setWordWrap(True)
        self.problem = QLabel("")
        self.problem.setObjectName("HealthError")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.register_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.register_button.setText("&Register")
        self.buttons.accepted.connect(self.submit_form)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Columns:"))
        layout.addWidget(self.columns, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for edit in (self.name, self.version, self.positive):
            edit.textChanged.connect(lambda _t: self.check())
        self.task.currentIndexChanged.connect(lambda _i: self.check())
        self.check()

    # -- the file -------------------------------------------------------------------------
    def browse(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Reference data", "", "CSV files (*.csv *.txt);;All files (*)"
        )
        if path:
            self.load_file(path)

    def load_file(self, path: str | Path) -> asyncio.Task[Any]:
        """Read the file in a worker thread, then show its columns."""
        self.path.setText(str(path))
        self.summary.setText("Reading…")
        self.loading = self.tasks.spawn(
            asyncio.to_thread(pd.read_csv, path),
            on_done=lambda frame: self.set_frame(frame, Path(path).stem),
            on_error=self._read_failed,
        )
        return self.loading

    def _read_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, OSError | ValueError | UnicodeDecodeError):
            self.tasks.report_error(exc)
            return
        self.frame = None
        self.columns.setRowCount(0)
        self.summary.setText("")
        self.problem.setText(f"Cannot read {Path(self.path.text()).name}: {exc}")
        self.problem.setVisible(True)
        self.register_button.setEnabled(False)

    def set_frame(self, frame: pd.DataFrame, stem: str = "") -> None:
        limit = ml_data.MAX_REFERENCE_ROWS
        self.sampled_from = None
        if len(frame) > limit:
            self.sampled_from = len(frame)
            frame = frame.sample(limit, random_state=SAMPLE_SEED).sort_index()
        self.frame = frame
        if stem and not self.name.text().strip():
            self.name.setText(stem)
        roles = guess_roles(frame)
        self.columns.setRowCount(len(frame.columns))
        self.combos = {}
        for row, column in enumerate(frame.columns):
            name = str(column)
            self.columns.setItem(row, 0, QTableWidgetItem(name))
            combo = QComboBox()
            combo.setAccessibleName(f"Use of {name}")
            for role, text in ROLES.items():
                combo.addItem(text, role)
            combo.setCurrentIndex(combo.findData(roles[name]))
            combo.currentIndexChanged.connect(lambda _i: self._roles_changed())
            self.columns.setCellWidget(row, 1, combo)
            self.combos[name] = combo
            examples = ", ".join(str(v) for v in frame[column].dropna().unique()[:4].tolist())
            self.columns.setItem(row, 2, QTableWidgetItem(examples))
        target = next((c for c, r in self.roles().items() if r == "target"), None)
        self.task.setCurrentIndex(self.task.findData(guess_task(frame, target)))
        self.check()

    def roles(self) -> dict[str, str]:
        return {name: str(combo.currentData()) for name, combo in self.combos.items()}

    def set_role(self, column: str, role: str) -> None:
        combo = self.combos[column]
        combo.setCurrentIndex(combo.findData(role))

    def _roles_changed(self) -> None:
        self.check()

    # -- checking and sending -------------------------------------------------------------
    def _single(self, roles: dict[str, str], role: str) -> str | None:
        chosen = [c for c, r in roles.items() if r == role]
        return chosen[0] if chosen else None

    def check(self) -> str | None:
        """The first problem with the form, shown under it; ``None`` when it can be sent."""
        problem: str | None = None
        roles = self.roles()
        features = [c for c, r in roles.items() if r in ("numeric", "categorical")]
        if self.frame is None:
            problem = "Choose the CSV file of reference data."
        elif not self.name.text().strip():
            problem = "Name the model."
        elif not self.version.text().strip():
            problem = "Give the model a version."
        elif not features:
            problem = "Use at least one column as a feature."
        else:
            for role in ("target", "prediction", "score"):
                if sum(r == role for r in roles.values()) > 1:
                    problem = f"Only one column can be the {ROLES[role].lower()}."
            if (
                problem is None
                and "prediction" in roles.values()
                and "target" not in roles.values()
            ):
                problem = "The model's prediction is compared with a target column: choose one."
        if self.frame is not None:
            sampled = f" (a sample of {self.sampled_from:,} rows)" if self.sampled_from else ""
            self.summary.setText(
                f"{len(self.frame):,} reference rows{sampled} · {len(features)} feature"
                f"{'' if len(features) == 1 else 's'}"
                + (
                    f" · target {self._single(roles, 'target')}"
                    if "target" in roles.values()
                    else ""
                )
            )
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None and self.frame is not None)
        self.register_button.setEnabled(problem is None)
        return problem

    def registration(self) -> Registration:
        assert self.frame is not None
        roles = self.roles()
        features = {c: r for c, r in roles.items() if r in ("numeric", "categorical")}
        frame = self.frame
        cells = max(len(features), 1)
        most = min(ml_data.MAX_REFERENCE_ROWS, ml_data.MAX_REFERENCE_CELLS // cells)
        if len(frame) > most:
            frame = frame.sample(most, random_state=SAMPLE_SEED).sort_index()
        return Registration(
            name=self.name.text().strip(),
            version=self.version.text().strip(),
            task=str(self.task.currentData()),
            features=features,
            frame=frame,
            target=self._single(roles, "target"),
            prediction_column=self._single(roles, "prediction"),
            score_column=self._single(roles, "score"),
            positive_label=self.positive.text().strip() or None,
        )

    def submit_form(self) -> asyncio.Task[Any] | None:
        if self.check() is not None:
            return None
        self.register_button.setEnabled(False)
        self.summary.setText("Registering…")

        def done(info: Any) -> None:
            self.result_info = info
            self.accept()

        def failed(exc: BaseException) -> None:
            self.register_button.setEnabled(True)
            if isinstance(exc, ServiceError):
                self.problem.setText(exc.message)
                self.problem.setVisible(True)
            else:
                self.tasks.report_error(exc)

        return self.tasks.spawn(self._submit(self.registration()), on_done=done, on_error=failed)
