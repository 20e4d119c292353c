"""Walking the audit hash chain: the checker, and a SQLite walker for one segment.

This module imports only the standard library: it also runs as a small worker program
(``python -m auterity_desktop.services.compliance.chain_walk DB LO HI PREV``) so a long
chain can be checked in several processes at once. Each segment starts from the stored hash
of the entry just before it, and the segment owning that entry checks it, so together the
segments check every link exactly once.

The SQLite walk reads only ``(body, hash)`` and recomputes ``SHA-256(prev ‖ body)``; that
alone detects any edit, removal or reordering. Only when something is wrong does it run the
extra queries that name the first bad entry and say what happened to it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Fault:
    seq: int
    problem: str  # altered | removed | reordered
    message: str


class ChainChecker:
    """Feeds rows ``(seq, body, hash)`` in seq order; stops at the first fault."""

    def __init__(self, expected_seq: int | None, expected_prev: bytes) -> None:
        self.expected_seq = expected_seq
        self.expected_prev = expected_prev
        self.checked = 0
        self.fault: Fault | None = None

    def feed(self, rows: Iterable[Sequence[Any]]) -> bool:
        sha256 = hashlib.sha256
        expected_seq, prev = self.expected_seq, self.expected_prev
        checked = 0
        for seq, body, stored in rows:
            if expected_seq is not None and seq != expected_seq:
                if seq > expected_seq:
                    self.fault = Fault(
                        expected_seq,
                        "removed",
                        f"entry {expected_seq} is missing: the chain jumps to {seq}",
                    )
                else:
                    self.fault = Fault(seq, "reordered", f"entry {seq} appears out of order")
                break
            data = body if isinstance(body, bytes) else body.encode()
            if sha256(prev + data).digest() != stored:
                self.fault = _altered(seq)
                break
            prev = stored
            expected_seq = seq + 1
            checked += 1
        self.checked += checked
        self.expected_seq, self.expected_prev = expected_seq, prev
        return self.fault is None


def _altered(seq: int) -> Fault:
    return Fault(seq, "altered", f"entry {seq} was altered after it was written")


@dataclass
class SegmentResult:
    checked: int
    fault: Fault | None
    last_seq: int | None
    last_hash: bytes

    def to_json(self) -> str:
        data = asdict(self)
        data["last_hash"] = self.last_hash.hex()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> SegmentResult:
        data = json.loads(text)
        fault = Fault(**data["fault"]) if data["fault"] else None
        return cls(data["checked"], fault, data["last_seq"], bytes.fromhex(data["last_hash"]))


def _first_gap(conn: sqlite3.Connection, lo: int, hi: int) -> int | None:
    expected = lo
    for (seq,) in conn.execute(
        "SELECT seq FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq", (lo, hi)
    ):
        if seq != expected:
            return expected
        expected += 1
    return expected if expected <= hi else None


def walk_sqlite_segment(
    path: str,
    lo: int,
    hi: int,
    start_prev: bytes | None,
    batch: int = 65_536,
    progress: Callable[[int], None] | None = None,
) -> SegmentResult:
    """Check entries ``lo``…``hi``. ``start_prev`` None means: the stored hash of ``lo - 1``."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.text_factory = bytes
    try:
        if start_prev is None:
            row = conn.execute(
                "SELECT hash FROM audit_entries WHERE seq < ? ORDER BY seq DESC LIMIT 1", (lo,)
            ).fetchone()
            start_prev = bytes(row[0]) if row else bytes(32)
        sha256 = hashlib.sha256
        prev = start_prev
        position = 0
        cursor = conn.execute(
            "SELECT body, hash FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq", (lo, hi)
        )
        mismatch = False
        while not mismatch:
            chunk = 0
            for body, stored in itertools.islice(cursor, batch):
                if sha256(prev + body).digest() != stored:
                    mismatch = True
                    break
                prev = stored
                chunk += 1
            position += chunk
            if progress is not None:
                progress(position)
            if chunk < batch:
                break
        fault: Fault | None = None
        if mismatch:
            at = conn.execute(
                "SELECT seq FROM audit_entries WHERE seq BETWEEN ? AND ? "
                "ORDER BY seq LIMIT 1 OFFSET ?",
                (lo, hi, position),
            ).fetchone()[0]
            gap = _first_gap(conn, lo, at)
            fault = (
                Fault(gap, "removed", f"entry {gap} is missing from the chain")
                if gap is not None and gap < at
                else _altered(at)
            )
        elif position != hi - lo + 1:
            gap = _first_gap(conn, lo, hi)
            if gap is not None and position and gap <= lo + position - 1:
                fault = Fault(gap, "removed", f"entry {gap} is missing from the chain")
        last_seq = lo + position - 1 if position else None
        return SegmentResult(position, fault, last_seq, prev)
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    """Worker program: prints the SegmentResult of one segment as JSON."""
    path, lo, hi, prev = argv[0], int(argv[1]), int(argv[2]), argv[3]
    result = walk_sqlite_segment(path, lo, hi, None if prev == "-" else bytes.fromhex(prev))
    sys.stdout.write(result.to_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
