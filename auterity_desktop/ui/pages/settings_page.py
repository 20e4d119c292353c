"""Settings: appearance, the effective configuration, where the data lives and the REST API.

Configuration is shown read-only with the source of each value; it is changed in the
environment or the settings file (and applies on the next start), which keeps one truth for
GUI, CLI and headless workers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.config import default_config_file, describe_settings
from auterity_desktop.core.logging import LOG_FILE_NAME
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.settings_table_model import SettingsTableModel
from auterity_desktop.ui.theme import ThemeMode
from auterity_desktop.ui.widgets.api_server_panel import ApiServerPanel

THEME_CHOICES = (
    (ThemeMode.SYSTEM, "Follow the system"),
    (ThemeMode.LIGHT, "Light"),
    (ThemeMode.DARK, "Dark"),
)


class SettingsPage(QWidget):
    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Page_settings")
        self._context = context
        settings = context.settings

        # Appearance
        self.theme_combo = QComboBox()
        self.theme_combo.setAccessibleName("Theme")
        self.theme_combo.setMaximumWidth(320)
        for mode, label in THEME_CHOICES:
            self.theme_combo.addItem(label, mode.value)
        self.theme_combo.setCurrentIndex(self.theme_combo.findData(context.theme.mode.value))
        self.theme_combo.currentIndexChanged.connect(self._theme_chosen)
        context.theme.sig_mode_changed.connect(self._sync_theme_combo)
        appearance = QGroupBox("Appearance")
        form = QFormLayout(appearance)
        theme_label = QLabel("&Theme:")
        theme_label.setBuddy(self.theme_combo)
        form.addRow(theme_label, self.theme_combo)

        # Configuration
        self.model = SettingsTableModel(describe_settings(settings, context.sources))
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.table.setModel(self.model)
        self.table.setObjectName("SettingsTable")
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setMinimumHeight(
            self.table.verticalHeader().defaultSectionSize() * (self.model.rowCount() + 1) + 8
        )
        config_file = default_config_file()
        note = QLabel(
            f"Values come from environment variables, the settings file "
            f"<code>{config_file}</code> (same names as keys, TOML) or the defaults. "
            "Changes apply the next time the console starts. Hover a row for its meaning."
        )
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.RichText)
        note.setObjectName("PageSubtitle")
        configuration = QGroupBox("Configuration")
        config_layout = QVBoxLayout(configuration)
        config_layout.addWidget(note)
        config_layout.addWidget(self.table)

        # Locations
        locations = QGroupBox("Where your data is kept")
        loc_form = QFormLayout(locations)
        self.location_labels: dict[str, QLabel] = {}
        for key, label, path, folder in (
            ("data", "Data folder", settings.data_dir, settings.data_dir),
            ("database", "Database", None, None),
            ("log", "Log file", settings.log_dir / LOG_FILE_NAME, settings.log_dir),
            ("config", "Settings file", config_file, config_file.parent),
        ):
            text = (
                _database_label(settings.effective_database_url) if key == "database" else str(path)
            )
            value = QLabel(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.location_labels[key] = value
            row = QHBoxLayout()
            row.addWidget(value, 1)
            if folder is not None:
                button = QPushButton("Open folder")
                button.setToolTip(f"Open {folder} in the file manager")
                button.clicked.connect(lambda _=False, f=folder: _open_folder(f))
                row.addWidget(button)
            loc_form.addRow(f"{label}:", row)

        # REST API: the local server, API keys, the live request log
        self.api_panel = ApiServerPanel(context)

        content = QWidget()
        layout = page_layout(content)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addWidget(appearance)
        layout.addWidget(configuration)
        layout.addWidget(locations)
        layout.addWidget(self.api_panel)
        layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

    def show_api_section(self) -> None:
        """Scroll to the REST API section (the place people come back to)."""
        bar = self.scroll.verticalScrollBar()
        bar.setValue(min(bar.maximum(), self.api_panel.y()))

    def _theme_chosen(self, index: int) -> None:
        self._context.theme.set_mode(self.theme_combo.itemData(index))

    def _sync_theme_combo(self, _mode: str = "") -> None:
        index = self.theme_combo.findData(self._context.theme.mode.value)
        if index != self.theme_combo.currentIndex():
            self.theme_combo.blockSignals(True)
            self.theme_combo.setCurrentIndex(index)
            self.theme_combo.blockSignals(False)


def _database_label(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite file {url.split(':///', 1)[-1]}"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://…@{rest.rpartition('@')[2]}" if "@" in rest else url


def _open_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
