"""A throw-away PostgreSQL server of the test's own, for tests that restart the server.

Restarting the shared server on port 5432 cuts every connection of every other test running
at the same time (the suite runs on parallel workers) and of anything else on the machine.
This server lives in a temporary folder on a free port and is gone after the test. It uses
the PostgreSQL binaries the README's test command installs; without them the test fails
saying so, it never skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")],
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.fail(
            "This test runs its own PostgreSQL server but no initdb was found. Run the "
            "README's test command, which installs PostgreSQL."
        )
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateServer:
    url: str
    data: Path
    _pg_ctl: list[str]

    def _ctl(self, *args: str) -> None:
        done = subprocess.run(
            [*self._pg_ctl, "-D", str(self.data), *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            log_file = self.data.parent / "server.log"
            log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise RuntimeError(f"pg_ctl {args[-1]} failed: {done.stderr}\n{log}")

    def restart(self) -> None:
        """Fast restart: every connection is cut, as when a server is restarted for real."""
        # the log file again: without it the new server would hold pg_ctl's output open
        self._ctl("-l", str(self.data.parent / "server.log"), "-m", "fast", "-w", "-t", "60",
                  "restart")  # fmt: skip


@contextmanager
def private_postgres_server() -> Iterator[PrivateServer]:
    bin_dir = _bin_dir()
    as_owner: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="auterity-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: the server runs as the postgres user
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    server = PrivateServer(url, data, [*as_owner, str(bin_dir / "pg_ctl")])
    try:
        subprocess.run(
            [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U",
             "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        server._ctl("-l", str(folder / "server.log"), "-o", options, "-w", "-t", "60", "start")
        yield server
    finally:
        subprocess.run(
            [*server._pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
