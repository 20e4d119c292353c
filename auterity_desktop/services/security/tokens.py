"""Session tokens: a random id plus an HMAC-SHA256 signature made with a key in the keyring.

Only the SHA-256 of the id is stored, so neither a database copy nor a log can be replayed
as a token, and a token edited by hand fails the signature check before any lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("signing key must be at least 32 bytes")
        self._key = key

    @staticmethod
    def new_key() -> str:
        return _b64(secrets.token_bytes(32))

    @staticmethod
    def decode_key(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    def issue(self) -> tuple[str, str]:
        """Return ``(token, id_hash)``: give the token to the client, store the hash."""
        session_id = secrets.token_urlsafe(32)
        return f"{session_id}.{self._sign(session_id)}", id_hash(session_id)

    def _sign(self, session_id: str) -> str:
        return _b64(hmac.new(self._key, session_id.encode(), hashlib.sha256).digest())

    def open(self, token: str) -> str | None:
        """The stored hash for a genuine token, or None for a forged or malformed one."""
        if not isinstance(token, str) or len(token) > 512 or token.count(".") != 1:
            return None
        session_id, signature = token.split(".")
        if not session_id or not hmac.compare_digest(self._sign(session_id), signature):
            return None
        return id_hash(session_id)


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
