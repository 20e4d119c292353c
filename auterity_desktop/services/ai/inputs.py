"""What callers send, checked into a ``ModelRequest`` before anything is routed.

Workflow nodes and the REST API hand over plain dicts; the GUI and the cognitive engine
build ``ModelRequest`` objects, which are checked too because a dataclass enforces no
types. Every problem becomes an ``INVALID_INPUT`` that names the field, so a workflow author
sees "temperature must be between 0 and 2" rather than a provider's 400 three hops away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.types import Capability, ChatMessage, ModelRequest

ROLES = ("system", "user", "assistant")
REQUEST_FIELDS = (
    "messages", "prompt", "system", "deployment", "policy", "max_tokens", "temperature",
    "json_schema", "capabilities", "cache", "timeout", "workflow_id", "run_id", "purpose",
)  # fmt: skip
FIELD_SET = frozenset(REQUEST_FIELDS)
KNOWN_CAPABILITIES = frozenset(c.value for c in Capability)
MAX_MESSAGES = 1000
MAX_CHARS = 4_000_000  # all message text together
MAX_TOKENS = 1_000_000
MAX_TIMEOUT = 3600.0


def invalid(message: str, field: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, {"field": field, **details})


def _optional_text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field} must be a non-empty text", field)
    if len(value) > limit:
        raise invalid(f"{field} is longer than {limit} characters", field)
    return value.strip()


def _message(value: Any, index: int) -> ChatMessage:
    role: Any
    content: Any
    if isinstance(value, ChatMessage):
        role, content = value.role, value.content
    elif isinstance(value, Mapping):
        extra = set(value) - {"role", "content"}
        if extra:
            raise invalid(
                f"message {index + 1} has unknown keys: {', '.join(sorted(map(str, extra)))}",
                "messages",
                index=index,
            )
        role, content = value.get("role"), value.get("content")
    else:
        raise invalid(f"message {index + 1} must be an object with role and content", "messages")
    if role not in ROLES:
        raise invalid(
            f"message {index + 1} has role {role!r}; use one of {', '.join(ROLES)}",
            "messages",
            index=index,
        )
    if not isinstance(content, str):
        raise invalid(f"message {index + 1} needs text content", "messages", index=index)
    return value if isinstance(value, ChatMessage) else ChatMessage(role, content)


def _messages(value: Any) -> list[ChatMessage]:
    if not isinstance(value, list | tuple) or not value:
        raise invalid("messages must be a non-empty list", "messages")
    if len(value) > MAX_MESSAGES:
        raise invalid(f"at most {MAX_MESSAGES} messages", "messages")
    messages = [_message(m, i) for i, m in enumerate(value)]
    if sum(len(m.content) for m in messages) > MAX_CHARS:
        raise invalid(f"the messages hold more than {MAX_CHARS:,} characters", "messages")
    if all(m.role == "system" for m in messages):
        raise invalid("the messages need at least one user or assistant message", "messages")
    return messages


def _positive_int(value: Any, field: str, limit: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise invalid(f"{field} must be a whole number from 1 to {limit:,}", field)
    return value


def _number(value: Any, field: str, low: float, high: float, *, open_low: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(f"{field} must be a number", field)
    if (value <= low if open_low else value < low) or value > high:
        if open_low:
            raise invalid(f"{field} must be above {low:g} and at most {high:g}", field)
        raise invalid(f"{field} must be between {low:g} and {high:g}", field)
    return float(value)


def _capabilities(value: Any) -> frozenset[Capability]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise invalid("capabilities must be a list", "capabilities")
    if not value:
        return frozenset()
    unknown = sorted(str(c) for c in value if c not in KNOWN_CAPABILITIES)
    if unknown:
        raise invalid(
            f"unknown capabilities {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_CAPABILITIES))}",
            "capabilities",
        )
    return frozenset(Capability(c) for c in value)


def _schema(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid("json_schema must be a JSON schema object", "json_schema")
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    try:
        validators.validator_for(value).check_schema(value)
    except SchemaError as exc:
        raise invalid(
            f"json_schema is not a valid JSON schema: {exc.message}", "json_schema"
        ) from None
    return dict(value)


def _build(get: Callable[[str, Any], Any]) -> ModelRequest:
    """Checked fields, straight into one ``ModelRequest``."""
    cache = get("cache", True)
    if not isinstance(cache, bool):
        raise invalid("cache must be true or false", "cache")
    return ModelRequest(
        messages=_messages(get("messages", None)),
        deployment=_optional_text(get("deployment", None), "deployment", 60),
        policy=_optional_text(get("policy", None), "policy", 60),
        max_tokens=_positive_int(get("max_tokens", None), "max_tokens", MAX_TOKENS),
        temperature=_number(get("temperature", None), "temperature", 0.0, 2.0, open_low=False),
        json_schema=_schema(get("json_schema", None)),
        capabilities=_capabilities(get("capabilities", None)),
        cache=cache,
        timeout=_number(get("timeout", None), "timeout", 0.0, MAX_TIMEOUT, open_low=True),
        workflow_id=_optional_text(get("workflow_id", None), "workflow_id", 64),
        run_id=_optional_text(get("run_id", None), "run_id", 64),
        purpose=_optional_text(get("purpose", None), "purpose", 40) or "chat",
    )


def check_request(request: ModelRequest) -> ModelRequest:
    """The same checks for a ``ModelRequest`` built in code; returns it normalised."""
    return _build(lambda name, _default: getattr(request, name))


def to_request(value: ModelRequest | Mapping[str, Any]) -> ModelRequest:
    """A checked ``ModelRequest`` from one or from a dict of its fields. A dict may give
    ``prompt`` (and ``system``) instead of ``messages``."""
    if isinstance(value, ModelRequest):
        return check_request(value)
    if not isinstance(value, Mapping):
        raise invalid("the request must be an object with messages or a prompt", "request")
    unknown = sorted(str(k) for k in value if k not in FIELD_SET)
    if unknown:
        raise invalid(
            f"unknown request fields: {', '.join(unknown)}",
            unknown[0],
            known=list(REQUEST_FIELDS),
        )
    data = dict(value)
    prompt, system = data.pop("prompt", None), data.pop("system", None)
    if prompt is not None or system is not None:
        if "messages" in data:
            raise invalid("give either messages or prompt (and system), not both", "messages")
        if not isinstance(prompt, str) or not prompt.strip():
            raise invalid("prompt must be a non-empty text", "prompt")
        if system is not None and not isinstance(system, str):
            raise invalid("system must be a text", "system")
        data["messages"] = [
            *([ChatMessage("system", system)] if system else []),
            ChatMessage("user", prompt),
        ]
    if "messages" not in data:
        raise invalid("the request needs messages or a prompt", "messages")
    return _build(data.get)
