"""Small styling helpers shared by widgets."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def restyle(widget: QWidget, object_name: str) -> None:
    """Switch a widget to another style-sheet role (e.g. ``HealthOk`` → ``HealthError``)."""
    widget.setObjectName(object_name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
