"""HMAC signatures of inbound webhook bodies: how a caller signs, how we check.

Checked in constant time, over the exact bytes received, so neither timing nor
re-serialisation can make a forged request pass."""

from __future__ import annotations

import hashlib
import hmac

ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def sign(body: bytes, secret: str, algorithm: str = "sha256") -> str:
    digest = hmac.new(secret.encode(), body, ALGORITHMS[algorithm]).hexdigest()
    return f"{algorithm}={digest}"


def verify(body: bytes, signature: str | None, secret: str, algorithm: str = "sha256") -> bool:
    if not signature or not secret:
        return False
    return hmac.compare_digest(sign(body, secret, algorithm), signature.strip())
