"""Selecting one whole row of a table view in code, as a click would."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex
from PySide6.QtWidgets import QAbstractItemView


def select_row(view: QAbstractItemView, index: QModelIndex, *, current: bool = True) -> None:
    view.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    if current:
        view.setCurrentIndex(index)
    view.scrollTo(index)
