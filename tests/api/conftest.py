"""A started platform serving the REST API on a free port, and clients for it over a real
socket (httpx), signed in as the first admin or with an API key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from auterity_desktop.api.server import ApiServer
from auterity_desktop.platform import Platform
from auterity_desktop.services.security.principal import Principal

PASSWORD = "Correct-Horse-42!"


@dataclass
class Api:
    platform: Platform
    server: ApiServer
    admin: Principal
    token: str

    def client(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        auth = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.server.url, headers={**auth, **headers}, timeout=30)

    async def sign_in(self, username: str, password: str) -> str:
        session = await self.platform.security.authenticate_user(
            {"username": username, "password": password}
        )
        return session.token

    async def user(self, name: str, role: str, password: str = "Sales-Floor-2026!") -> str:
        await self.platform.security.users.create_user(self.admin, name, password, role)
        return await self.sign_in(name, password)


@pytest.fixture
async def api(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv("AUTERITY_API_RATE_LIMIT", "1000")
    monkeypatch.setenv("AUTERITY_API_RATE_BURST", "1000")
    monkeypatch.setenv("AUTERITY_API_MAX_BODY", str(1024 * 1024))
    async with Platform.from_environment(background=False) as platform:
        await platform.security.users.create_first_admin("alice", PASSWORD)
        session = await platform.security.authenticate_user(
            {"username": "alice", "password": PASSWORD}
        )
        server = ApiServer(platform, "127.0.0.1", 0)
        await server.start()
        try:
            yield Api(platform, server, session.principal, session.token)
        finally:
            await server.stop()


@pytest.fixture
async def admin_client(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with api.client(api.token) as client:
        yield client
