"""Which process drives a run, and whether that process is still there.

Several processes may open one database: the console, the CLI, later workers. A process that
starts must not take another live process's runs for crashed ones, so each run names its
owner (host, process id, and a token for this engine) and the owner refreshes a heartbeat.
A run is orphaned when its owner is a dead process on this host, or its heartbeat is older
than the lease.
"""

from __future__ import annotations

import os
import socket
import uuid

HEARTBEAT_INTERVAL = 10.0  # seconds between two heartbeats of an engine's runs
LEASE = 45.0  # a heartbeat older than this means the owner is gone


def make_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def orphaned(
    owner: str | None, heartbeat: float | None, now: float, me: str, lease: float = LEASE
) -> bool:
    if owner is None or heartbeat is None:
        return True  # written before owners were recorded
    if owner == me:
        return False
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname()[:60] and pid.isdigit() and not pid_alive(int(pid)):
        return True
    return now - heartbeat > lease
