"""The node registry: every node type's category, typed ports and parameter schema.

One registry feeds the editor's palette, validation and the engine, so they cannot disagree
about what a node accepts. Later features (AI, integrations, messages) register their types
into the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

ERROR_PORT = "error"
PORT_TYPES = ("any", "object", "list", "string", "number", "boolean")
PARAM_TYPES = ("string", "number", "integer", "boolean", "object", "list", "any", "enum")


@dataclass(frozen=True)
class PortSpec:
    name: str
    type: str = "any"
    multiple: bool = False  # an input that accepts several incoming edges (merge)
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in PORT_TYPES:
            raise ValueError(f"unknown port type {self.type!r}")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    expression: bool = True  # may hold a {{ … }} template
    description: str = ""
    check: Callable[[Any], str | None] | None = None  # extra rule: returns a problem or None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}")


def ports_compatible(source: str, target: str) -> bool:
    return "any" in (source, target) or source == target


@dataclass(frozen=True)
class NodeType:
    type: str
    title: str
    category: str
    description: str
    inputs: tuple[PortSpec, ...] = (PortSpec("main"),)
    outputs: tuple[PortSpec, ...] = (PortSpec("main"),)
    params: tuple[ParamSpec, ...] = ()
    trigger: bool = False
    dynamic_outputs: Callable[[Mapping[str, Any]], tuple[PortSpec, ...]] | None = field(
        default=None, compare=False
    )

    def output_ports(self, params: Mapping[str, Any]) -> tuple[PortSpec, ...]:
        return self.dynamic_outputs(params) if self.dynamic_outputs is not None else self.outputs

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str, params: Mapping[str, Any]) -> PortSpec | None:
        found = next((p for p in self.output_ports(params) if p.name == name), None)
        if found is None and name == ERROR_PORT and not self.trigger:
            return PortSpec(ERROR_PORT, "object")  # every node can route its failures
        return found

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


class NodeRegistry:
    def __init__(self, types: Iterable[NodeType] = ()) -> None:
        self._types: dict[str, NodeType] = {}
        for node_type in types:
            self.register(node_type)

    def register(self, node_type: NodeType) -> None:
        if node_type.type in self._types:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"Node type {node_type.type!r} is already registered",
                {"type": node_type.type},
            )
        self._types[node_type.type] = node_type

    def get(self, type_name: str) -> NodeType | None:
        return self._types.get(type_name)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types

    def all(self) -> list[NodeType]:
        return list(self._types.values())

    def categories(self) -> dict[str, list[NodeType]]:
        result: dict[str, list[NodeType]] = {}
        for node_type in self._types.values():
            result.setdefault(node_type.category, []).append(node_type)
        return result
