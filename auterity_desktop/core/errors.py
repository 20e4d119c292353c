"""The one error type services raise for expected failures, and its catalogue of codes.

Codes are part of the public contract (REST bodies, CLI exit messages, audit entries), so
they are an enum: a typo becomes an AttributeError at import time instead of a new code
nobody handles. Each code carries the HTTP status the REST API answers with.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes; the value is what clients see, ``http_status`` what REST sends."""

    http_status: int
    description: str

    def __new__(cls, value: str, http_status: int, description: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status
        member.description = description
        return member

    # Input and validation
    INVALID_INPUT = ("INVALID_INPUT", 400, "The request or file is malformed or has a wrong type.")
    VALIDATION_ERROR = ("VALIDATION_ERROR", 422, "The input is well-formed but breaks a rule.")
    PAYLOAD_TOO_LARGE = ("PAYLOAD_TOO_LARGE", 413, "The input exceeds a size limit.")
    CONFIG_INVALID = ("CONFIG_INVALID", 500, "A setting has a value that is not allowed.")
    # Identity and access
    UNAUTHENTICATED = ("UNAUTHENTICATED", 401, "No valid session or credentials.")
    UNAUTHORIZED = ("UNAUTHORIZED", 403, "The user may not do this.")
    ACCOUNT_LOCKED = ("ACCOUNT_LOCKED", 423, "Too many failed sign-ins; try again later.")
    PASSWORD_REJECTED = ("PASSWORD_REJECTED", 422, "The password does not meet the policy.")
    # Resources
    NOT_FOUND = ("NOT_FOUND", 404, "The object does not exist.")
    CONFLICT = ("CONFLICT", 409, "The object changed or already exists.")
    METHOD_NOT_ALLOWED = ("METHOD_NOT_ALLOWED", 405, "The address does not take this method.")
    UNSUPPORTED_MEDIA_TYPE = ("UNSUPPORTED_MEDIA_TYPE", 415, "The body is not in a format taken.")
    # Capacity and availability
    RATE_LIMITED = ("RATE_LIMITED", 429, "Too many requests; retry after the given delay.")
    TIMEOUT = ("TIMEOUT", 504, "The operation did not finish in time.")
    POOL_EXHAUSTED = ("POOL_EXHAUSTED", 503, "No pooled connection became free in time.")
    CIRCUIT_OPEN = ("CIRCUIT_OPEN", 503, "Calls are suspended after repeated failures.")
    SERVICE_UNAVAILABLE = ("SERVICE_UNAVAILABLE", 503, "A service or dependency is down.")
    CANCELLED = ("CANCELLED", 499, "The operation was cancelled.")
    SECRET_STORE_UNAVAILABLE = (
        "SECRET_STORE_UNAVAILABLE",
        503,
        "No usable system keyring to keep secrets in.",
    )
    # Lifecycle and storage
    SERVICE_START_FAILED = ("SERVICE_START_FAILED", 500, "A service could not start.")
    DEPENDENCY_ERROR = ("DEPENDENCY_ERROR", 500, "Services declare missing or circular needs.")
    DATABASE_ERROR = ("DATABASE_ERROR", 500, "The database refused or failed an operation.")
    DATABASE_TOO_NEW = ("DATABASE_TOO_NEW", 409, "The database was written by a newer version.")
    # Domain
    WORKFLOW_ERROR = ("WORKFLOW_ERROR", 422, "A workflow could not be run.")
    INTERNAL_ERROR = ("INTERNAL_ERROR", 500, "An unexpected failure; see the log.")


class ServiceError(Exception):
    """An expected failure with a stable code, a sentence for people and data for programs.

    ``details`` must be JSON-serialisable: it travels in REST bodies and log records.
    """

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        try:
            self.code = code if isinstance(code, ErrorCode) else ErrorCode.__members__[code]
        except KeyError:
            raise ValueError(f"unknown error code {code!r}; add it to ErrorCode") from None
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(f"{self.code.value}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the constructor's arguments: errors cross into and out of worker
        processes (process mining), where the default (``self.args``) cannot rebuild it; a
        subclass arrives as a plain ``ServiceError`` with the same code, message and details."""
        return (ServiceError, (self.code, self.message, self.details))

    @property
    def http_status(self) -> int:
        return self.code.http_status

    def to_dict(self) -> dict[str, Any]:
        """The REST error body's ``error`` object."""
        return {"code": self.code.value, "message": self.message, "details": self.details}

    def __repr__(self) -> str:
        return f"ServiceError({self.code.value!r}, {self.message!r}, {self.details!r})"
