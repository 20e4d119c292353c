"""A dealership system (DMS/CRM) over REST: resources by our names, fields translated
between our names and the system's, so workflows stay the same when a dealer group
changes vendor."""

from __future__ import annotations

from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.integrations.rest_client import RestClient


def to_theirs(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {mapping.get(k, k): v for k, v in record.items()}


def to_ours(record: Any, mapping: dict[str, str]) -> Any:
    """Their field names back to ours, at every depth (answers wrap records in envelopes
    such as ``{"data": [...]}``)."""
    reverse = {theirs: ours for ours, theirs in mapping.items()}
    if isinstance(record, list):
        return [to_ours(item, mapping) for item in record]
    if isinstance(record, dict):
        return {reverse.get(k, k): to_ours(v, mapping) for k, v in record.items()}
    return record


class DmsClient(RestClient):
    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.config.get("field_mapping") or {})

    def path(self, resource: str, record_id: str | None = None) -> str:
        resources = dict(self.config.get("resources") or {})
        if resource not in resources:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"This system has no resource {resource!r} (configured: "
                f"{', '.join(sorted(resources)) or 'none'})",
                {"resource": resource},
            )
        base = resources[resource].rstrip("/")
        return f"{base}/{record_id}" if record_id else base

    async def fetch(
        self, resource: str, record_id: str | None = None, query: dict[str, Any] | None = None
    ) -> Any:
        response = await self.request("GET", self.path(resource, record_id), params=query)
        return to_ours(response.body, self.mapping)

    async def push(self, resource: str, record: dict[str, Any]) -> Any:
        response = await self.request(
            "POST", self.path(resource), json_body=to_theirs(record, self.mapping)
        )
        return to_ours(response.body, self.mapping)
