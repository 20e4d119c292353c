"""Passwords, session tokens and signing keys never reach the database, logs or exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.platform import Platform

PASSWORDS = ("Correct-Horse-42!", "Wrong-Guess-0001", "Brand-New-Pass-77")


async def test_secrets_are_absent_from_database_logs_and_exports(
    data_dir: Path, tmp_path: Path
) -> None:
    async with Platform.from_environment() as platform:
        users = platform.security.users
        await users.create_first_admin("alice", PASSWORDS[0])
        session = await platform.security.authenticate_user(
            {"username": "alice", "password": PASSWORDS[0]}
        )
        with pytest.raises(ServiceError):
            await platform.security.authenticate_user(
                {"username": "alice", "password": PASSWORDS[1]}
            )
        await users.create_user(session.principal, "bob", "Garage-Door-2026", "viewer")
        await users.reset_password(session.principal, "bob", PASSWORDS[2])
        await platform.audit.record(
            "alice",
            "integration.saved",
            "integrations/dms",
            "success",
            {"password": PASSWORDS[2], "token": session.token},
        )
        instance = await platform.database.instance_id()
        key = await platform.secrets.get(f"session-signing-key/{instance}")
        await platform.audit.export(tmp_path / "audit.jsonl", "jsonl")
        await platform.audit.export(tmp_path / "audit.csv", "csv")
        token = session.token
        await platform.security.logout(token)
    assert key
    secrets = [*PASSWORDS, "Garage-Door-2026", token, token.split(".")[0], key]
    files = [p for p in data_dir.rglob("*") if p.is_file()] + [
        tmp_path / "audit.jsonl",
        tmp_path / "audit.csv",
    ]
    assert any(p.name == "auterity.db" for p in files)
    assert any(p.name == "auterity.log" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{secret[:6]}… found in {path.name}"
