"""Sign-in, sessions and sign-out.

``authenticate_user({"username", "password"})`` returns a session token. Sessions end after
``idle_timeout`` seconds without use (``AUTH_TOKEN_EXPIRY``) and after ``max_age`` seconds in
any case; ``logout`` revokes. Every outcome is audited, failures feed the lockout, and a
stored hash made with older parameters is upgraded on the next successful sign-in.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.models import SessionRow, UserRow
from auterity_desktop.services.security.passwords import PasswordHasher
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.security.threat_detection import ThreatDetector
from auterity_desktop.services.security.tokens import TokenSigner

TOUCH_INTERVAL = 30.0  # seconds between last-seen updates of one session
_GENERIC_FAILURE = "The user name or password is wrong."


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal
    expires_at: float  # the earlier of idle and absolute expiry, as of issue


class AuthenticationService:
    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        threats: ThreatDetector,
        hasher: PasswordHasher,
        permissions_of: Callable[[str], frozenset[str]],
        alert: Callable[[str, dict[str, Any]], Awaitable[None]],
        *,
        idle_timeout: float,
        max_age: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.audit = audit
        self.threats = threats
        self.hasher = hasher
        self._permissions_of = permissions_of
        self._alert = alert
        self.idle_timeout = idle_timeout
        self.max_age = max_age
        self.clock = clock
        self.signer: TokenSigner | None = None
        # Called after sessions are revoked, so caches of live sessions (the API gateway's)
        # forget them at once rather than when their entries run out.
        self.revocation_listeners: list[Callable[[], None]] = []

    def _revoked(self) -> None:
        for listener in list(self.revocation_listeners):
            listener()

    def _signer(self) -> TokenSigner:
        if self.signer is None:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, "The security service is not started", {}
            )
        return self.signer

    def principal_for(self, user: UserRow, expires_at: float | None = None) -> Principal:
        return Principal(
            user.id, user.username, user.role, self._permissions_of(user.role), expires_at
        )

    async def authenticate_user(
        self, credentials: Mapping[str, Any], client: str = "gui"
    ) -> Session:
        username = credentials.get("username") if isinstance(credentials, Mapping) else None
        password = credentials.get("password") if isinstance(credentials, Mapping) else None
        if not isinstance(username, str) or not isinstance(password, str) or not username.strip():
            raise ServiceError(ErrorCode.INVALID_INPUT, "Enter a user name and a password", {})
        username = username.strip()[:64]
        now = self.clock()
        async with self.database.session() as db:
            user = (
                await db.execute(select(UserRow).where(UserRow.username == username))
            ).scalar_one_or_none()
            if user is None:
                # same work as a real check, so timing does not reveal which names exist
                await asyncio.to_thread(self.hasher.verify, _dummy_hash(), password)
                await self._failed(username, "unknown_user")
                if self.threats.unknown_user():
                    await self._alert("unknown_user_burst", {"last_username": username})
                raise ServiceError(ErrorCode.UNAUTHENTICATED, _GENERIC_FAILURE, {})
            if user.locked_until is not None and user.locked_until > now:
                wait = round(user.locked_until - now, 1)
                await self._failed(username, "locked", {"retry_after": wait})
                raise ServiceError(
                    ErrorCode.ACCOUNT_LOCKED,
                    f"Too many failed sign-ins. Try again in {wait:g} seconds.",
                    {"retry_after": wait},
                )
            ok = await asyncio.to_thread(self.hasher.verify, user.password_hash, password)
            if not ok:
                failures, since = self.threats.failures_in_window(
                    user.failed_logins, user.first_failure_at
                )
                user.failed_logins, user.first_failure_at = failures, since
                lock = self.threats.lock_duration(failures)
                if lock:
                    user.locked_until = now + lock
                details = {"failures": failures, "locked_for": lock}
                await db.flush()
            if ok and user.disabled:
                await self._failed(username, "disabled")
                raise ServiceError(ErrorCode.UNAUTHENTICATED, "This account is disabled.", {})
            if ok:
                rehashed = self.hasher.needs_rehash(user.password_hash)
                if rehashed:
                    user.password_hash = await asyncio.to_thread(self.hasher.hash, password)
                user.failed_logins, user.first_failure_at, user.locked_until = 0, None, None
                user.last_login_at = now
                token, digest = self._signer().issue()
                db.add(
                    SessionRow(
                        id_hash=digest,
                        user_id=user.id,
                        created_at=now,
                        last_seen_at=now,
                        client=client,
                    )
                )
                principal = self.principal_for(user, now + min(self.idle_timeout, self.max_age))
        if not ok:
            await self._failed(username, "wrong_password", details)
            if details["locked_for"]:
                await self._alert("account_locked", {"username": username, **details})
            raise ServiceError(ErrorCode.UNAUTHENTICATED, _GENERIC_FAILURE, {})
        await self.audit.record(
            username,
            "auth.login",
            f"users/{username}",
            "success",
            {"client": client, "rehashed": rehashed},
        )
        return Session(token, principal, principal.session_expires_at or now)

    async def _failed(
        self, username: str, reason: str, details: dict[str, Any] | None = None
    ) -> None:
        await self.audit.record(
            username,
            "auth.login",
            f"users/{username}",
            "failure",
            {"reason": reason, **(details or {})},
        )

    async def resume(self, token: str) -> Principal:
        """The principal behind a live token; refreshes its idle timer."""
        digest = self._signer().open(token)
        if digest is None:
            await self._rejected("forged or malformed token")
        now = self.clock()
        async with self.database.session() as db:
            row = await db.get(SessionRow, digest)
            user = await db.get(UserRow, row.user_id) if row is not None else None
            if row is None or user is None or row.revoked_at is not None:
                reason = "unknown session" if row is None else "session was signed out"
            elif now - row.last_seen_at > self.idle_timeout:
                reason = "session expired after inactivity"
            elif now - row.created_at > self.max_age:
                reason = "session reached its maximum age"
            elif user.disabled:
                reason = "account is disabled"
            else:
                if now - row.last_seen_at >= TOUCH_INTERVAL:
                    row.last_seen_at = now
                expires = min(row.last_seen_at + self.idle_timeout, row.created_at + self.max_age)
                return self.principal_for(user, expires)
        await self._rejected(reason, user.username if user else "anonymous")
        raise AssertionError("unreachable")

    async def _rejected(self, reason: str, actor: str = "anonymous") -> None:
        await self.audit.record(
            actor, "auth.token_rejected", "sessions", "failure", {"reason": reason}
        )
        raise ServiceError(
            ErrorCode.UNAUTHENTICATED, f"Please sign in again: {reason}.", {"reason": reason}
        )

    async def logout(self, token: str) -> None:
        digest = self._signer().open(token)
        if digest is None:
            return
        async with self.database.session() as db:
            row = await db.get(SessionRow, digest)
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = self.clock()
            user = await db.get(UserRow, row.user_id)
        self._revoked()
        name = user.username if user else "unknown"
        await self.audit.record(name, "auth.logout", f"users/{name}", "success", {})

    async def revoke_all(self, user_id: int) -> None:
        async with self.database.session() as db:
            await db.execute(
                update(SessionRow)
                .where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
        self._revoked()


@functools.cache
def _dummy_hash() -> str:
    """A valid argon2id hash, verified against when the user does not exist."""
    return PasswordHasher().hash("dummy-password-for-constant-time-checks")
