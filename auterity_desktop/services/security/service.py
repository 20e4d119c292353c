"""``SecurityService``: authentication, authorization, threat detection and user admin.

It owns the session-signing key, which lives only in the OS keyring (one per database
instance), seeds the built-in roles, and turns threat detections into security alerts:
an audit entry with outcome ``alert`` and a ``security_alert_raised`` event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.core.service import BaseService, Health, HealthState
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authentication import AuthenticationService, Session
from auterity_desktop.services.security.authorization import AuthorizationService
from auterity_desktop.services.security.models import RoleRow
from auterity_desktop.services.security.passwords import PasswordHasher
from auterity_desktop.services.security.permissions import BUILTIN_ROLES
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.security.threat_detection import ThreatDetector, ThreatPolicy
from auterity_desktop.services.security.tokens import TokenSigner
from auterity_desktop.services.security.user_admin import UserAdminService


class SecurityService(BaseService):
    name = "security"
    dependencies = ("database", "audit")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        events: EventBus,
        secrets: SecretStore,
        *,
        idle_timeout: float = 3600,
        max_age: float = 8 * 3600,
        threat_policy: ThreatPolicy | None = None,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.database = database
        self.audit = audit
        self.events = events
        self.secrets = secrets
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self.threats = ThreatDetector(threat_policy, clock)
        self._roles: dict[str, frozenset[str]] = {}
        self.authz = AuthorizationService(audit, self.threats, self.raise_alert)
        self.auth = AuthenticationService(
            database, audit, self.threats, self.hasher, self.permissions_of, self.raise_alert,
            idle_timeout=idle_timeout, max_age=max_age, clock=clock,
        )  # fmt: skip
        self.users = UserAdminService(
            database, audit, self.authz, self.auth, self.hasher, self._role_changed, clock
        )

    # -- lifecycle ----------------------------------------------------------------------
    async def initialize(self) -> None:
        self.secrets.check_available()
        instance = await self.database.instance_id()
        key_name = f"session-signing-key/{instance}"
        stored = await self.secrets.get(key_name)
        if stored is None:
            stored = TokenSigner.new_key()
            await self.secrets.set(key_name, stored)
        self.auth.signer = TokenSigner(TokenSigner.decode_key(stored))
        async with self.database.session() as db:
            for spec in BUILTIN_ROLES.values():
                row = await db.get(RoleRow, spec.name)
                if row is None:
                    db.add(
                        RoleRow(
                            name=spec.name,
                            description=spec.description,
                            builtin=True,
                            permissions=sorted(spec.permissions),
                        )
                    )
                else:  # built-in roles follow the code, whatever was edited in the database
                    row.builtin, row.description = True, spec.description
                    row.permissions = sorted(spec.permissions)
            rows = (await db.execute(select(RoleRow))).scalars()
            self._roles = {r.name: frozenset(r.permissions) for r in rows}

    async def cleanup(self) -> None:
        self.auth.signer = None

    async def health(self) -> Health:
        if not self.started:
            return await super().health()
        return Health(HealthState.OK, f"keyring: {self.secrets.backend_name()}")

    # -- roles cache --------------------------------------------------------------------
    def permissions_of(self, role: str) -> frozenset[str]:
        return self._roles.get(role, frozenset())  # an unknown role grants nothing

    def _role_changed(self, name: str, permissions: frozenset[str] | None) -> None:
        if permissions is None:
            self._roles.pop(name, None)
        else:
            self._roles[name] = permissions

    # -- the catalogue's API ------------------------------------------------------------
    async def authenticate_user(
        self, credentials: Mapping[str, Any], client: str = "gui"
    ) -> Session:
        return await self.auth.authenticate_user(credentials, client)

    async def resume(self, token: str) -> Principal:
        return await self.auth.resume(token)

    async def logout(self, token: str) -> None:
        await self.auth.logout(token)

    async def check_authorization(self, user: Principal, resource: str) -> bool:
        return await self.authz.check_authorization(user, resource)

    async def check_permission(self, user: Principal, resource: str, action: str) -> bool:
        return await self.authz.check_permission(user, resource, action)

    async def authorize(self, user: Principal, resource: str, action: str) -> None:
        await self.authz.authorize(user, resource, action)

    async def needs_first_admin(self) -> bool:
        return await self.users.user_count() == 0

    # -- alerts -------------------------------------------------------------------------
    async def raise_alert(self, kind: str, details: dict[str, Any]) -> None:
        await self.audit.record("system", "security.alert", f"security/{kind}", "alert", details)
        self.events.publish("security_alert_raised", {"kind": kind, **details}, source="security")
