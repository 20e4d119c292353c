"""The OpenAPI 3.1 document, built from the operations the gateway actually serves.

Every operation documents its success body and a ``default`` response with the one error
body, so any error status a client (or schemathesis) meets is described.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from auterity_desktop import __version__
from auterity_desktop.api.schemas import ErrorBody
from auterity_desktop.services.gateway.operations import Operation
from auterity_desktop.services.gateway.service import APIGatewayService

REF = "#/components/schemas/{model}"


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel] | dict[str, Any], mode: str) -> dict[str, Any]:
        if isinstance(model, dict):
            return model
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        name = model.__name__
        self.components.setdefault(name, schema)
        return {"$ref": REF.format(model=name)}


def _parameters(op: Operation, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                    "pattern": "^[A-Za-z0-9_.:-]+$"}}
        for name in op.path_params
    ]  # fmt: skip
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            prop.pop("title", None)
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            param["schema"] = prop
            if prop.get("type") == "array":
                param["style"], param["explode"] = "form", True
            params.append(param)
    return params


def build_openapi(gateway: APIGatewayService) -> dict[str, Any]:
    schemas = _Schemas()
    error = schemas.ref(ErrorBody, "serialization")
    paths: dict[str, Any] = {}
    for prefix, controller in gateway.controllers():
        for op in controller.operations:
            path = (prefix.rstrip("/") + op.documented_path) or "/"
            item: dict[str, Any] = {
                "operationId": op.operation_id,
                "summary": op.summary,
                "tags": list(op.tags),
                "responses": {"default": {
                    "description": "An error: the status comes from the error code",
                    "content": {"application/json": {"schema": error}},
                }},
            }  # fmt: skip
            success: dict[str, Any] = {"description": op.summary}
            if op.response is not None:
                media = op.content_type.split(";", 1)[0]
                success["content"] = {media: {"schema": schemas.ref(op.response, "serialization")}}
            for status in (op.status, *op.also):
                item["responses"][str(status)] = success
            params = _parameters(op, schemas)
            if params:
                item["parameters"] = params
            if op.body is not None:
                item["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": schemas.ref(op.body, "validation")}},
                }
            elif op.raw_body:
                item["requestBody"] = {
                    "required": False,
                    "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                          "format": "binary"}}},
                }  # fmt: skip
            if op.auth:
                item["security"] = [{"bearer": []}, {"apiKey": []}]
            paths.setdefault(path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Auterity Desktop REST API",
            "version": __version__,
            "description": "The console's local REST API. Authenticate with a session token "
            "(POST /api/v1/security/login) or an API key, as `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
