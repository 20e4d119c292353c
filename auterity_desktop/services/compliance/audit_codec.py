"""The canonical encoding of an audit entry and the hash that chains it to the previous one.

``hash = SHA-256(prev_hash ‖ body)``: the previous entry's 32-byte digest followed by the
entry's ``body``, its compact JSON with sorted keys in UTF-8 (the first entry follows 32 zero
bytes). Exports show digests in hex, so anyone can re-verify with nothing but SHA-256:
``sha256(bytes.fromhex(prev_hash) + body.encode()).hexdigest() == hash``.

Details are sanitised before encoding: keys that look like secrets
are redacted, and oversized values are cut, so the log can never leak a password or be
flooded by one huge payload.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

GENESIS_HASH = bytes(32)
MAX_DETAILS_BYTES = 16_384
MAX_STRING = 2_000
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|authori[sz]ation|credential|private[_-]?key)",
    re.I,
)
FIELDS = ("seq", "ts_us", "actor", "action", "resource", "outcome", "details")


def sanitise(value: Any, depth: int = 0) -> Any:
    """JSON-safe copy of ``value`` with secrets redacted and sizes bounded."""
    if depth > 8:
        return "[nested too deep]"
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for key, item in list(value.items())[:200]:
            key = str(key)[:200]
            if _SECRET_KEY.search(key) and not key.endswith(("_ref", "_reference")):
                clean[key] = REDACTED
            else:
                clean[key] = sanitise(item, depth + 1)
        return clean
    if isinstance(value, list | tuple | set | frozenset):
        return [sanitise(item, depth + 1) for item in list(value)[:500]]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = str(value)
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "…[truncated]"


def encode_details(details: dict[str, Any] | None) -> dict[str, Any]:
    clean = sanitise(details or {})
    if len(json.dumps(clean, ensure_ascii=False)) > MAX_DETAILS_BYTES:
        return {"truncated": True, "keys": sorted(clean)[:50]}
    assert isinstance(clean, dict)
    return clean


def canonical_body(
    seq: int,
    ts_us: int,
    actor: str,
    action: str,
    resource: str,
    outcome: str,
    details: dict[str, Any],
) -> str:
    return json.dumps(
        {
            "seq": seq,
            "ts_us": ts_us,
            "actor": actor,
            "action": action,
            "resource": resource,
            "outcome": outcome,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def chain_bytes(prev_hash: bytes, body: str) -> bytes:
    return prev_hash + body.encode()


def chain_hash(prev_hash: bytes, body: str) -> bytes:
    return hashlib.sha256(chain_bytes(prev_hash, body)).digest()
