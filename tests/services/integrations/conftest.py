"""Shared pieces of the integration tests: the controller on the service stack with the
real keyring, a real HTTP API and a local SMTP server that keeps what it receives."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.integrations.controller import IntegrationController
from tests.services.conftest import Stack
from tests.services.integrations.api_server import Api, api_server


@pytest.fixture
async def controller(stack: Stack) -> AsyncIterator[IntegrationController]:
    built = IntegrationController(
        stack.database,
        stack.audit,
        stack.security.authz,
        SecretStore(),
        stack.events,
        MetricsCollector(),
        max_connections=10,
        health_interval=0,
    )
    await built.initialize()
    yield built
    await built.cleanup()


@pytest.fixture
def api() -> Iterator[Api]:
    with api_server() as server:
        yield server


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = closed_port()  # a free port: aiosmtpd checks the server by connecting to it
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()
