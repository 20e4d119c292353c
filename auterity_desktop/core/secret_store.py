"""Secrets live only in the operating system's keyring, never in the database or files.

``keyring`` silently falls back to a backend that fails every call (or, with keyrings.alt,
to plain-text files) when no Secret Service, Keychain or Credential Locker is reachable.
This store refuses both with one clear ``SECRET_STORE_UNAVAILABLE`` error instead. Keyring
calls block on D-Bus, so they run in a worker thread.

Every entry sits under one keyring service name. ``AUTERITY_KEYRING_SERVICE`` names another,
so a second console on the same account (a trial copy beside the live one, or each of the
test suite's parallel workers) keeps its secrets apart instead of overwriting the first's.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

SERVICE_NAME = "auterity-desktop"
SERVICE_NAME_VAR = "AUTERITY_KEYRING_SERVICE"
_UNUSABLE_BACKENDS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def default_service_name() -> str:
    """Read when a store is made, not at import, so the variable may be set late."""
    return os.environ.get(SERVICE_NAME_VAR, "").strip() or SERVICE_NAME


class SecretStore:
    def __init__(self, service_name: str | None = None, backend: Any | None = None) -> None:
        self.service_name = service_name or default_service_name()
        self._backend = backend

    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def backend_name(self) -> str:
        backend = self._keyring()
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def check_available(self) -> None:
        name = self.backend_name()
        if name.startswith(_UNUSABLE_BACKENDS) or getattr(self._keyring(), "priority", 1) <= 0:
            raise ServiceError(
                ErrorCode.SECRET_STORE_UNAVAILABLE,
                "No usable system keyring was found, so secrets cannot be stored safely. "
                "On Linux start and unlock a Secret Service (GNOME Keyring or KWallet); "
                "secrets are never written to files instead.",
                {"backend": name},
            )

    async def _call(self, method: str, *args: str) -> Any:
        self.check_available()
        backend = self._keyring()
        try:
            return await asyncio.to_thread(getattr(backend, method), self.service_name, *args)
        except Exception as exc:  # keyring raises many backend-specific types
            if method == "delete_password" and type(exc).__name__ == "PasswordDeleteError":
                return None
            raise ServiceError(
                ErrorCode.SECRET_STORE_UNAVAILABLE,
                f"The system keyring refused the request: {type(exc).__name__}: {exc}",
                {"backend": self.backend_name(), "operation": method},
            ) from None

    async def get(self, name: str) -> str | None:
        value = await self._call("get_password", name)
        return value if value is None else str(value)

    async def set(self, name: str, value: str) -> None:
        await self._call("set_password", name, value)

    async def delete(self, name: str) -> None:
        await self._call("delete_password", name)
