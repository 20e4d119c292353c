"""Who is acting: the ``user`` passed to ``check_authorization`` and every guarded call."""

from __future__ import annotations

from dataclasses import dataclass

from auterity_desktop.services.security.permissions import ALL


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    role: str
    permissions: frozenset[str]
    session_expires_at: float | None = None

    def can(self, resource: str, action: str) -> bool:
        return f"{resource}:{action}" in self.permissions

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.username == "system"


# The product itself (retention, first-run setup from the CLI): all permissions, audited as
# "system".
SYSTEM = Principal(None, "system", "admin", ALL)
