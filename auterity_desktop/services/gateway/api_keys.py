"""Long-lived API keys for automation: created once, shown once, scoped to a role, revocable.

A key reads ``aut_<id>_<secret>``. The id finds the row without scanning; the secret is
compared as a SHA-256 digest in constant time. Every live key is held in memory (a console
has a handful), so checking one costs a dictionary lookup and a hash: no database round trip
on the request path. Revoking updates memory before it returns, so a revoked key is refused
from the very next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.gateway.models import ApiKeyRow
from auterity_desktop.services.security.principal import Principal

PREFIX = "aut_"
_KEY = re.compile(r"^aut_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
LAST_USED_EVERY = 60.0  # seconds between writes of a key's last-used time


@dataclass(frozen=True)
class ApiKeyInfo:
    id: str
    name: str
    role: str
    created_by: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > time.time()
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "role": self.role,
            "created_by": self.created_by, "created_at": self.created_at,
            "expires_at": self.expires_at, "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at, "active": self.active,
        }  # fmt: skip


@dataclass(frozen=True)
class NewApiKey:
    """What ``create`` returns: the only time the full key exists outside its holder."""

    key: str
    info: ApiKeyInfo


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        row.id, row.name, row.role, row.created_by, row.created_at, row.expires_at,
        row.last_used_at, row.revoked_at,
    )  # fmt: skip


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


class ApiKeyStore:
    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        permissions_of: Callable[[str], frozenset[str]],
        role_exists: Callable[[str], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.audit = audit
        self._permissions_of = permissions_of
        self._role_exists = role_exists
        self.clock = clock
        self._live: dict[str, tuple[str, ApiKeyInfo]] = {}  # id → (digest, info)
        self._principals: dict[str, Principal] = {}
        # keys already checked → their id: a busy client costs a lookup, not a hash
        self._verified: dict[str, str] = {}
        self._used: dict[str, float] = {}  # id → last use not yet written

    async def load(self) -> None:
        async with self.database.engine.connect() as conn:
            rows = (
                await conn.execute(select(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None)))
            ).all()
        self._live = {r.id: (r.key_hash, _info(r)) for r in rows}  # type: ignore[arg-type]
        self._principals = {k: p for k, p in self._principals.items() if k in self._live}

    async def create(
        self, actor: Principal, name: str, role: str, expires_in_days: float | None = None
    ) -> NewApiKey:
        if not isinstance(name, str) or not _NAME.match(name.strip()):
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "A key name is 1–100 letters, digits, spaces, '.', '_' or '-'",
                {"field": "name"},
            )
        if not isinstance(role, str) or not self._role_exists(role):
            raise ServiceError(
                ErrorCode.VALIDATION_ERROR,
                f"There is no role {str(role)[:64]!r}",
                {"field": "role"},
            )
        if expires_in_days is not None and (
            isinstance(expires_in_days, bool)
            or not isinstance(expires_in_days, int | float)
            or not 0 < expires_in_days <= 3650
        ):
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "expires_in_days is a number of days from 0 to 3650 (or empty: never)",
                {"field": "expires_in_days"},
            )
        name = name.strip()
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        now = self.clock()
        row = ApiKeyRow(
            id=key_id,
            name=name,
            key_hash=_digest(key),
            role=role,
            created_by=actor.username,
            created_at=now,
            expires_at=now + expires_in_days * 86_400 if expires_in_days else None,
        )
        async with self.database.session() as db:
            taken = (await db.execute(select(ApiKeyRow.id).where(ApiKeyRow.name == name))).first()
            if taken is not None:
                raise ServiceError(
                    ErrorCode.CONFLICT, f"An API key named {name!r} exists", {"name": name}
                )
            db.add(row)
            await db.flush()
            info = _info(row)
        self._live[key_id] = (row.key_hash, info)
        await self.audit.record(
            actor.username, "api_key.created", f"api_keys/{key_id}", "success",
            {"name": name, "role": role, "expires_at": info.expires_at},
        )  # fmt: skip
        return NewApiKey(key, info)

    async def revoke(self, actor: Principal, key_id: str) -> ApiKeyInfo:
        now = self.clock()
        async with self.database.session() as db:
            row = await db.get(ApiKeyRow, str(key_id)[:16])
            if row is None:
                raise ServiceError(ErrorCode.NOT_FOUND, "No such API key", {"id": str(key_id)[:16]})
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = now, actor.username
            info = _info(row)
        self._live.pop(info.id, None)
        self._used.pop(info.id, None)
        self._principals.pop(info.id, None)
        await self.audit.record(
            actor.username, "api_key.revoked", f"api_keys/{info.id}", "success",
            {"name": info.name},
        )  # fmt: skip
        return info

    async def list_keys(self) -> list[ApiKeyInfo]:
        async with self.database.engine.connect() as conn:
            rows = (await conn.execute(select(ApiKeyRow).order_by(ApiKeyRow.created_at))).all()
        return [_info(r) for r in rows]  # type: ignore[arg-type]

    def verify(self, key: str) -> Principal:
        """The principal of a live key; ``UNAUTHENTICATED`` with the reason otherwise."""
        known = self._verified.get(key)
        if known is not None and known in self._live:  # checked before and still live
            return self._checked(known)
        match = _KEY.match(key)
        entry = self._live.get(match.group(1)) if match else None
        if entry is None or not hmac.compare_digest(entry[0], _digest(key)):
            raise ServiceError(
                ErrorCode.UNAUTHENTICATED,
                "The API key is unknown or was revoked",
                {"reason": "unknown or revoked API key"},
            )
        if len(self._verified) >= 10_000:
            self._verified.clear()
        self._verified[key] = entry[1].id
        return self._checked(entry[1].id)

    def _checked(self, key_id: str) -> Principal:
        info = self._live[key_id][1]
        now = self.clock()
        if info.expires_at is not None and info.expires_at <= now:
            raise ServiceError(
                ErrorCode.UNAUTHENTICATED,
                f"The API key {info.name!r} has expired",
                {"reason": "API key expired", "key": info.id},
            )
        self._used[info.id] = now
        permissions = self._permissions_of(info.role)
        principal = self._principals.get(info.id)
        if principal is None or principal.permissions is not permissions:  # role edited
            principal = Principal(None, f"apikey:{info.name}", info.role, permissions)
            self._principals[info.id] = principal
        return principal

    async def flush_last_used(self) -> None:
        """Write last-used times in one go (called now and then, not per request)."""
        used, self._used = self._used, {}
        if not used:
            return
        async with self.database.begin() as conn:
            for key_id, when in used.items():
                await conn.execute(
                    update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=when)
                )
