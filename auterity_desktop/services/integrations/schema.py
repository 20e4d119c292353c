"""What each connector type asks for: a declared list of fields that the setup screens
turn into a form and the controller checks before anything is stored or called.

Fields of type ``secret`` never reach the database; the controller moves them into the OS
keyring and keeps only a reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FIELD_TYPES = ("string", "url", "integer", "number", "boolean", "enum", "secret", "text", "mapping")
NAME_RE = re.compile(r"^[\w .:@()/-]{1,120}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""
    show_if: tuple[str, str] | None = None  # relevant only when that field has that value
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown field type {self.type!r}")

    @property
    def secret(self) -> bool:
        return self.type == "secret"


@dataclass(frozen=True)
class ConnectorSpec:
    kind: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def relevant(self, config: Mapping[str, Any]) -> list[FieldSpec]:
        """The fields that apply given the other values (OAuth2 fields only for OAuth2)."""
        result = []
        for spec in self.fields:
            if spec.show_if is not None:
                other, wanted = spec.show_if
                other_spec = self.field(other)
                value = config.get(other, other_spec.default if other_spec else None)
                if value != wanted:
                    continue
            result.append(spec)
        return result

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.secret)


def _check(spec: FieldSpec, value: Any) -> str | None:
    """Why ``value`` does not fit ``spec``, or None."""
    if spec.type in ("string", "secret", "text"):
        if not isinstance(value, str):
            return "must be text"
        if spec.type != "text" and len(value) > 4096:
            return "is longer than 4,096 characters"
    elif spec.type == "url":
        if not isinstance(value, str):
            return "must be a URL"
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "must be an http:// or https:// address"
    elif spec.type in ("integer", "number"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if spec.type == "integer":
            ok = ok and float(value).is_integer()
        if not ok:
            return "must be a whole number" if spec.type == "integer" else "must be a number"
        if spec.minimum is not None and value < spec.minimum:
            return f"must be at least {spec.minimum:g}"
        if spec.maximum is not None and value > spec.maximum:
            return f"must be at most {spec.maximum:g}"
    elif spec.type == "boolean":
        if not isinstance(value, bool):
            return "must be on or off"
    elif spec.type == "enum":
        if value not in spec.choices:
            return f"must be one of {', '.join(spec.choices)}"
    elif spec.type == "mapping" and (
        not isinstance(value, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return "must map names to names"
    return None


def validate_config(
    spec: ConnectorSpec,
    config: Mapping[str, Any],
    *,
    stored_secrets: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """Every problem of a configuration as ``(field, message)`` ("" for the whole).

    A secret already stored (``stored_secrets``) may be left empty: editing keeps it."""
    problems: list[tuple[str, str]] = []
    if not isinstance(config, Mapping):
        return [("", "The configuration must be an object")]
    known = {f.name for f in spec.fields} | {"name", "kind"}
    for extra in sorted(set(config) - known):
        problems.append((extra, f"{spec.title} has no setting {extra!r}"))
    for field in spec.relevant(config):
        value = config.get(field.name)
        empty = value is None or value == "" or value == {}
        if empty:
            if field.required and not (field.secret and field.name in stored_secrets):
                problems.append((field.name, f"{field.label} is required"))
            continue
        reason = _check(field, value)
        if reason:
            problems.append((field.name, f"{field.label} {reason}"))
    return problems


def check_name(name: Any) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "An integration needs a name"
    if not NAME_RE.match(name.strip()):
        return "Use at most 120 letters, digits, spaces and . : @ ( ) / - _"
    return None


def with_defaults(spec: ConnectorSpec, config: Mapping[str, Any]) -> dict[str, Any]:
    result = {f.name: f.default for f in spec.fields if f.default is not None and not f.secret}
    result.update({k: v for k, v in config.items() if v is not None and v != ""})
    return result
