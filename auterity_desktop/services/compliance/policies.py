"""Declarative compliance policies and the rules that evaluate them.

A policy is data (id, title, severity, what it applies to, and a rule with parameters), so
users can add their own from the GUI or a JSON file without code. Shipped defaults cover the
usual dealership concerns: HTTPS only, secrets only by keyring reference, no personal data
to outbound nodes, and a minimum audit retention.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auterity_desktop.core.errors import ErrorCode, ServiceError

RuleKind = Literal[
    "require_https", "no_inline_secrets", "no_personal_data_egress", "min_audit_retention"
]
DEFAULT_OUTBOUND = [
    "http_request",
    "send_email",
    "integration_request",
    "webhook_response",
    "ai_prompt",  # its text goes to the model's provider
]
_WHOLE_INPUT = re.compile(r"\{\{\s*\$input\s*\}\}")
_SECRET_PARAM = re.compile(r"(pass(word)?|secret|token|api[_-]?key|credential|authorization)", re.I)


class PolicyRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RuleKind
    node_types: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTBOUND))
    param: str = "url"
    min_days: int = Field(default=30, ge=1, le=36_500)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{2,99}$")
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=2000)
    severity: Literal["low", "medium", "high"] = "medium"
    applies_to: Literal["workflow", "settings"] = "workflow"
    rule: PolicyRule

    @field_validator("title")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


def parse_policy(data: Any) -> Policy:
    """Validate a policy definition; every problem is listed in one ServiceError."""
    try:
        if isinstance(data, str | bytes):
            data = json.loads(data)
        return Policy.model_validate(data)
    except (ValueError, ValidationError) as exc:
        problems = (
            [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            if isinstance(exc, ValidationError)
            else [str(exc)]
        )
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            "The policy is not valid: " + "; ".join(problems[:5]),
            {"problems": problems},
        ) from None


DEFAULT_POLICIES: tuple[Policy, ...] = tuple(
    parse_policy(p)
    for p in (
        {
            "id": "https-only",
            "title": "External HTTP calls use HTTPS",
            "severity": "high",
            "description": "Plain http:// sends customer data and credentials readable on "
            "the network.",
            "rule": {
                "kind": "require_https",
                "node_types": ["http_request", "integration_request", "webhook_response"],
                "param": "url",
            },
        },
        {
            "id": "secrets-by-reference",
            "title": "Credentials only by keyring reference",
            "severity": "high",
            "description": "Passwords, tokens and API keys must not be typed into workflows; "
            "reference an integration or a keyring entry instead.",
            "rule": {"kind": "no_inline_secrets"},
        },
        {
            "id": "no-personal-data-egress",
            "title": "Personal data stays inside",
            "severity": "high",
            "description": "Nodes that send data outside must not receive fields marked personal.",
            "rule": {"kind": "no_personal_data_egress"},
        },
        {
            "id": "audit-retention",
            "title": "Audit entries are kept long enough",
            "severity": "medium",
            "applies_to": "settings",
            "description": "Keep the audit trail for at least 30 days (raise it for PCI DSS: 365).",
            "rule": {"kind": "min_audit_retention", "min_days": 30},
        },
    )
)


@dataclass(frozen=True)
class Violation:
    policy_id: str
    severity: str
    message: str
    node_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "severity": self.severity,
            "message": self.message,
            "node_id": self.node_id,
        }


# -- rules ------------------------------------------------------------------------------
def _nodes(workflow: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [n for n in workflow.get("nodes", []) if isinstance(n, Mapping)]


def _params(node: Mapping[str, Any]) -> Mapping[str, Any]:
    params = node.get("params")
    return params if isinstance(params, Mapping) else {}


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    else:
        yield path, value


def _is_reference(value: Any) -> bool:
    if isinstance(value, Mapping):
        return set(value) <= {"keyring", "integration", "credential_ref"} and bool(value)
    if isinstance(value, str):
        stripped = value.strip()
        return (
            not stripped
            or stripped.startswith(("keyring:", "integration:"))
            or "$credentials" in stripped
            or "$integration" in stripped
        )
    return value is None


def _require_https(policy: Policy, workflow: Mapping[str, Any]) -> list[Violation]:
    found = []
    for node in _nodes(workflow):
        if node.get("type") not in policy.rule.node_types:
            continue
        url = _params(node).get(policy.rule.param)
        if isinstance(url, str) and url.strip().lower().startswith("http://"):
            found.append(
                Violation(
                    policy.id,
                    policy.severity,
                    f"Node {node.get('name') or node.get('id')} calls {url.strip()[:100]} "
                    "without HTTPS",
                    str(node.get("id")),
                )
            )
    return found


def _no_inline_secrets(policy: Policy, workflow: Mapping[str, Any]) -> list[Violation]:
    found = []
    for node in _nodes(workflow):
        for path, value in _walk(_params(node)):
            leaf = re.split(r"[.\[]", path)[-1] if path else ""
            if _SECRET_PARAM.search(leaf) and not leaf.endswith(("_ref", "_reference")):
                if not _is_reference(value):
                    found.append(
                        Violation(
                            policy.id,
                            policy.severity,
                            f"Node {node.get('name') or node.get('id')} has a secret typed into "
                            f"'{path}'; use a keyring or integration reference",
                            str(node.get("id")),
                        )
                    )
            elif isinstance(value, str) and value.lower().startswith(("bearer ", "basic ")):
                found.append(
                    Violation(
                        policy.id,
                        policy.severity,
                        f"Node {node.get('name') or node.get('id')} has a literal credential in "
                        f"'{path}'",
                        str(node.get("id")),
                    )
                )
    return found


def _downstream(workflow: Mapping[str, Any], start: str) -> set[str]:
    edges: dict[str, list[str]] = {}
    for edge in workflow.get("edges", []):
        if isinstance(edge, Mapping):
            edges.setdefault(str(edge.get("source")), []).append(str(edge.get("target")))
    seen: set[str] = set()
    queue = deque(edges.get(start, []))
    while queue:
        node = queue.popleft()
        if node not in seen:
            seen.add(node)
            queue.extend(edges.get(node, []))
    return seen


def _no_personal_data_egress(policy: Policy, workflow: Mapping[str, Any]) -> list[Violation]:
    """Personal fields are declared on the workflow (``personal_fields``) or by the node
    that produces them (``params.personal_fields``). An outbound node reachable from such a
    source violates the policy when its parameters reference a personal field, or when it
    forwards its whole input (``{{ $input }}``)."""
    nodes = {str(n.get("id")): n for n in _nodes(workflow)}
    workflow_fields = [f for f in workflow.get("personal_fields", []) if isinstance(f, str)]
    sources: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        fields = _params(node).get("personal_fields") or []
        if fields:
            sources[node_id] = [f for f in fields if isinstance(f, str)]
    if workflow_fields:
        for node_id, node in nodes.items():
            if str(node.get("type", "")).endswith("trigger"):
                sources.setdefault(node_id, []).extend(workflow_fields)
    found = []
    reported: set[str] = set()
    for source, fields in sources.items():
        for target in sorted(_downstream(workflow, source)):
            found_node = nodes.get(target)
            if found_node is None or found_node.get("type") not in policy.rule.node_types:
                continue
            if target in reported:
                continue
            node = found_node
            params = _params(node)
            text = json.dumps(params, default=str)
            leaked = [f for f in fields if f in text]
            forwards_all = bool(_WHOLE_INPUT.search(text))
            if leaked or forwards_all:
                what = (
                    ", ".join(leaked)
                    if leaked
                    else "its whole input, which includes " + ", ".join(fields)
                )
                found.append(
                    Violation(
                        policy.id,
                        policy.severity,
                        f"Node {node.get('name') or target} sends personal data outside: {what}",
                        target,
                    )
                )
                reported.add(target)
    return found


def _min_audit_retention(policy: Policy, settings: Mapping[str, Any]) -> list[Violation]:
    days = settings.get("audit_log_retention")
    if isinstance(days, int) and days < policy.rule.min_days:
        return [
            Violation(
                policy.id,
                policy.severity,
                f"AUDIT_LOG_RETENTION is {days} days; the policy requires at least "
                f"{policy.rule.min_days}",
            )
        ]
    return []


RULES: dict[str, Callable[[Policy, Mapping[str, Any]], list[Violation]]] = {
    "require_https": _require_https,
    "no_inline_secrets": _no_inline_secrets,
    "no_personal_data_egress": _no_personal_data_egress,
    "min_audit_retention": _min_audit_retention,
}


def evaluate(policy: Policy, subject: Mapping[str, Any]) -> list[Violation]:
    return RULES[policy.rule.kind](policy, subject)
