"""Small workflow documents the GUI tests build and run on the real engine."""

from __future__ import annotations

from itertools import pairwise
from typing import Any


def node(node_id: str, type_: str, name: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "name": name, "params": params}


def edge(source: str, target: str, source_port: str = "main") -> dict[str, Any]:
    return {
        "id": f"{source}-{target}",
        "source": source,
        "target": target,
        "source_port": source_port,
    }


def chain(name: str, *nodes: dict[str, Any], description: str = "") -> dict[str, Any]:
    """A workflow whose nodes run one after another."""
    return {
        "name": name,
        "description": description,
        "nodes": list(nodes),
        "edges": [edge(a["id"], b["id"]) for a, b in pairwise(nodes)],
    }


def quote_doc(name: str = "Price quote") -> dict[str, Any]:
    return chain(
        name,
        node("start", "manual_trigger", "Start"),
        node("price", "set_fields", "Price", fields={"total": "{{ $input.base * 1.2 }}"}),
        node("done", "log", "Done", message="quoted"),
        description="Quotes a price with tax",
    )
