"""The API keys table: who made each key, for which role, and whether it still works.

A key's state is derived here, at display time, from its times (``expired`` is not stored:
a key simply passes its expiry), so the list says "expired" the moment it is, without
waiting for a reload. The model holds ``ApiKeyInfo`` rows only — never a key's secret,
which exists once, in the dialog that shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from auterity_desktop.ui.models.rows_model import KeyedRowsModel, SortRole
from auterity_desktop.ui.models.run_display import format_time

if TYPE_CHECKING:
    from auterity_desktop.services.gateway.api_keys import ApiKeyInfo

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "Role", "Created by", "Created", "Expires", "Last used", "State")
NAME, ROLE, CREATED_BY, CREATED, EXPIRES, LAST_USED, STATE = range(len(COLUMNS))
_STATE_COLOUR = {"active": "ok", "revoked": "muted_text", "expired": "warning"}


def key_state(info: ApiKeyInfo, now: float | None = None) -> str:
    """``active``, ``revoked`` or ``expired`` — revoked wins: it was someone's decision."""
    if info.revoked_at is not None:
        return "revoked"
    if info.expires_at is not None and info.expires_at <= (time.time() if now is None else now):
        return "expired"
    return "active"


class ApiKeysModel(KeyedRowsModel):
    headers = COLUMNS

    def __init__(
        self,
        colours: Callable[[], Mapping[str, str]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._colours = colours
        self._clock = clock

    def info(self, row: int) -> ApiKeyInfo:
        return self._rows[row]  # type: ignore[no-any-return]

    def state(self, row: int) -> str:
        return key_state(self._rows[row], self._clock())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        info: ApiKeyInfo = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(info, column)
        if role == SortRole:
            return {
                CREATED: info.created_at,
                EXPIRES: info.expires_at or float("inf"),
                LAST_USED: info.last_used_at or 0.0,
            }.get(column, self._text(info, column))
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            colour = self._colours().get(_STATE_COLOUR[key_state(info, self._clock())])
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(info, column)
        return None

    def _text(self, info: ApiKeyInfo, column: int) -> str:
        if column == NAME:
            return info.name
        if column == ROLE:
            return info.role
        if column == CREATED_BY:
            return info.created_by
        if column == CREATED:
            return format_time(info.created_at, seconds=False)
        if column == EXPIRES:
            return format_time(info.expires_at, seconds=False) if info.expires_at else "never"
        if column == LAST_USED:
            return format_time(info.last_used_at, seconds=False) if info.last_used_at else "never"
        return key_state(info, self._clock())

    def _tooltip(self, info: ApiKeyInfo, column: int) -> str | None:
        if column == NAME:
            return f"Key id {info.id} (the part after aut_ in the key)"
        if column == STATE and info.revoked_at is not None:
            return f"Revoked {format_time(info.revoked_at)}; requests with it answer 401."
        if column == LAST_USED:
            return "Written about once a minute, so a key just used may still read older."
        return None
