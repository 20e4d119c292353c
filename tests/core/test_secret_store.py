"""Two consoles on one account keep their secrets apart when one names its own keyring
service; the real Secret Service of the test session holds both."""

from __future__ import annotations

import uuid

import pytest

from auterity_desktop.core.secret_store import SERVICE_NAME_VAR, SecretStore


async def test_a_named_keyring_service_keeps_its_secrets_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = f"test/{uuid.uuid4().hex}"
    trial_name = f"auterity-trial-{uuid.uuid4().hex[:8]}"
    live = SecretStore()
    monkeypatch.setenv(SERVICE_NAME_VAR, f"  {trial_name} ")
    trial = SecretStore()
    assert trial.service_name == trial_name
    assert live.service_name != trial_name
    try:
        await live.set(entry, "live-secret")
        await trial.set(entry, "trial-secret")
        assert await live.get(entry) == "live-secret"
        assert await trial.get(entry) == "trial-secret"
        await trial.delete(entry)
        assert await trial.get(entry) is None
        assert await live.get(entry) == "live-secret"
    finally:
        await live.delete(entry)
        await trial.delete(entry)


def test_an_empty_variable_means_the_usual_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVICE_NAME_VAR, " ")
    assert SecretStore().service_name == "auterity-desktop"
    monkeypatch.delenv(SERVICE_NAME_VAR)
    assert SecretStore().service_name == "auterity-desktop"
