"""What a gateway request and response are, apart from any HTTP server.

The ASGI adapter turns HTTP into ``ApiRequest`` and ``ApiResponse`` back into HTTP; tests
and in-process callers build them directly. Errors travel in one body everywhere:
``{"error": {"code", "message", "details"}}`` with the status of the ``ServiceError`` code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.security.principal import Principal

JSON = "application/json"
MAX_JSON_DEPTH = 64


@dataclass(slots=True)
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    client: str = "local"  # the peer's address
    principal: Principal | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    route: str = ""  # the registered prefix that matched

    def json(self) -> Any:
        """The body as JSON; ``INVALID_INPUT`` (400) for anything that is not."""
        content_type = self.headers.get("content-type", JSON).split(";", 1)[0].strip().lower()
        if content_type and content_type != JSON and not content_type.endswith("+json"):
            raise ServiceError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                f"Send the body as {JSON}",
                {"content_type": content_type[:100]},
            )
        try:
            value = json.loads(self.body or b"null", parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            position = getattr(exc, "pos", None)
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "The body is not valid JSON",
                {"position": position, "reason": str(exc)[:200]},
            ) from None
        if _depth(value) > MAX_JSON_DEPTH:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"The body nests deeper than {MAX_JSON_DEPTH} levels",
                {"max_depth": MAX_JSON_DEPTH},
            )
        return value

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any, level: int = 0) -> int:
    """How deeply ``value`` nests, stopping once past the limit (cheap on huge flat bodies)."""
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _jsonable(value: Any) -> Any:
    """JSON has no NaN or infinity: send them as null rather than invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str)


def dumps(data: Any) -> bytes:
    try:
        return _ENCODER.encode(data).encode()
    except ValueError:  # NaN or infinity somewhere
        return _ENCODER.encode(_jsonable(data)).encode()


@dataclass(slots=True)
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    error: ServiceError | None = None

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> ApiResponse:
        return cls(status, dumps(data), JSON, list(headers or []))

    @classmethod
    def text(cls, text: str, content_type: str, status: int = 200) -> ApiResponse:
        return cls(status, text.encode(), content_type)

    @classmethod
    def from_error(cls, error: ServiceError) -> ApiResponse:
        headers: list[tuple[str, str]] = []
        retry = error.details.get("retry_after")
        if error.code in (ErrorCode.RATE_LIMITED, ErrorCode.ACCOUNT_LOCKED) and retry:
            headers.append(("retry-after", str(max(1, math.ceil(float(retry))))))
        if error.code is ErrorCode.UNAUTHENTICATED:
            headers.append(("www-authenticate", 'Bearer realm="auterity"'))
        if error.code is ErrorCode.METHOD_NOT_ALLOWED and error.details.get("allowed"):
            headers.append(("allow", ", ".join(error.details["allowed"])))
        response = cls.json({"error": error.to_dict()}, error.http_status, headers)
        response.error = error
        return response
