"""Runs the REST API on uvicorn inside whatever asyncio loop is running (the console's
qasync loop, or ``auterity serve``'s own).

The socket is bound here, not by uvicorn: a port in use then becomes a ``ServiceError``
the Settings page can show, instead of uvicorn's ``sys.exit``. Signals are left to the
host (the console has its own clean shutdown), and binding anything but a loopback address
is logged as a warning, because the API then answers the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from auterity_desktop.api import mount_api
from auterity_desktop.api.asgi import GatewayApp
from auterity_desktop.core.errors import ErrorCode, ServiceError

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

logger = logging.getLogger(__name__)
SHUTDOWN_GRACE = 5


class _HostedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServiceError(
            ErrorCode.CONFIG_INVALID, f"Cannot resolve the API host {host!r}: {exc.strerror}",
            {"host": host},
        ) from None  # fmt: skip
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"Cannot listen on {host}:{port}: {exc.strerror}",
            {"host": host, "port": port, "errno": exc.errno},
        ) from None
    sock.setblocking(False)
    return sock


class ApiServer:
    def __init__(self, platform: Platform, host: str | None = None, port: int | None = None):
        self.platform = platform
        self.host = host or platform.settings.api_host
        self.port = platform.settings.api_gateway_port if port is None else port
        self._server: _HostedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        if self.running:
            return
        mount_api(self.platform)
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]  # port 0 picks a free one
        if not is_loopback(self.host):
            logger.warning(
                "the REST API listens beyond this computer",
                extra={"host": self.host, "port": self.port},
            )
        # Requests are logged by the gateway (the live request log, metrics, audit);
        # uvicorn's access log would write every request to the log file a second time.
        access = logging.getLogger("uvicorn.access")
        access.handlers, access.propagate, access.disabled = [], False, True
        config = uvicorn.Config(
            GatewayApp(self.platform.gateway),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            http="httptools",
            ws="none",
        )
        # The started platform is some 200,000 long-lived objects; every full collection
        # walked them all (87 ms each, ~10% of a busy server's time). Frozen, collections
        # only look at what requests create.
        gc.freeze()
        self._server = server = _HostedServer(config)
        self._socket = sock
        self._task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not self._task.done():  # noqa: ASYNC110 - uvicorn sets a flag
            await asyncio.sleep(0.01)
        if self._task.done():
            error = self._task.exception()
            await self.stop()
            raise ServiceError(
                ErrorCode.SERVICE_START_FAILED, f"The REST API did not start: {error}", {}
            )
        logger.info("REST API listening", extra={"url": self.url})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None

    async def serve_forever(self) -> None:
        """Until ``stop`` (``auterity serve``)."""
        await self.start()
        assert self._task is not None
        await asyncio.shield(self._task)
