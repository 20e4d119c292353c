"""``auterity apikey`` and ``auterity serve`` as a user runs them: a key made on the command
line authenticates against the headless server, revoking it locks it out, and SIGTERM stops
the server cleanly."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.cli.test_security_cli import ROOT, cli


def test_apikey_create_serve_revoke(data_dir: Path) -> None:
    created = cli("apikey", "create", "dms sync", "--role", "operator")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert re.fullmatch(r"aut_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    assert "not shown again" in created.stderr
    listed = cli("apikey", "list")
    assert "dms sync" in listed.stdout and "operator" in listed.stdout
    assert key not in listed.stdout
    key_id = key.split("_")[1]

    headers = {"authorization": f"Bearer {key}"}
    with serving() as (server, url):
        ok = httpx.get(f"{url}/api/v1/workflows", headers=headers, timeout=30)
        assert ok.status_code == 200 and ok.json() == {"items": []}
        revoked = cli("apikey", "revoke", key_id)  # another process, while serving
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        deadline = time.monotonic() + 30
        while (
            status := httpx.get(f"{url}/api/v1/workflows", headers=headers, timeout=30).status_code
        ) == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status == 401  # within the key refresh interval
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    with serving() as (server, _url):
        server.send_signal(signal.SIGINT)
        assert server.wait(60) == 0


@contextlib.contextmanager
def serving() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``auterity serve --port 0`` and the address it printed."""
    with subprocess.Popen(
        [sys.executable, "-m", "auterity_desktop", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert url, line
            yield server, url.group(0)
        finally:
            if server.poll() is None:
                server.kill()


def test_serve_reports_a_taken_port_in_one_line(data_dir: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"auterity: error SERVICE_UNAVAILABLE: Cannot listen on 127.0.0.1:{port}: "
        "Address already in use"
    ]
