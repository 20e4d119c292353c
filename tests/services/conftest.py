"""A started database + audit trail + security service with a hand-moved clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.passwords import PasswordHasher
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.security.service import SecurityService
from auterity_desktop.services.security.threat_detection import ThreatPolicy
from tests.fakes import FakeClock

# Cheap argon2id parameters keep the suite fast; the OWASP defaults are tested on their own.
FAST_HASHER = PasswordHasher(memory_cost=1024, time_cost=1)
ADMIN_PASSWORD = "Correct-Horse-42!"


@dataclass
class Stack:
    database: Database
    audit: AuditTrail
    security: SecurityService
    events: EventBus
    clock: FakeClock

    async def admin(self) -> Principal:
        if await self.security.needs_first_admin():
            await self.security.users.create_first_admin("alice", ADMIN_PASSWORD)
        session = await self.security.authenticate_user(
            {"username": "alice", "password": ADMIN_PASSWORD}
        )
        return session.principal

    async def user(self, name: str, role: str, password: str = "Sales-Floor-2026!") -> Principal:
        admin = await self.admin()
        await self.security.users.create_user(admin, name, password, role)
        session = await self.security.authenticate_user({"username": name, "password": password})
        return session.principal


async def build_stack(url: str, policy: ThreatPolicy | None = None) -> Stack:
    clock = FakeClock(1_800_000_000.0)
    database = Database(url)
    events = EventBus()
    audit = AuditTrail(database, events, retention_days=30, clock=clock)
    security = SecurityService(
        database,
        audit,
        events,
        SecretStore(),
        idle_timeout=600,
        max_age=3600,
        threat_policy=policy or ThreatPolicy(lockout_threshold=3, lockout_window=300, base_lock=30),
        hasher=FAST_HASHER,
        clock=clock,
    )
    await database.initialize()
    await audit.initialize()
    await security.initialize()
    for service in (database, audit, security):
        service._mark_started(True)
    return Stack(database, audit, security, events, clock)


async def close_stack(stack: Stack) -> None:
    await stack.security.cleanup()
    await stack.events.close()
    await stack.database.cleanup()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    built = await build_stack(f"sqlite:///{tmp_path / 'security.db'}")
    try:
        yield built
    finally:
        await close_stack(built)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    return str(request.getfixturevalue("postgres_url"))
