"""Resources, actions and the built-in roles' permission matrix (deny by default).

A permission is ``"<resource>:<action>"``. Roles hold a set of permissions; anything not
granted is denied. The matrix below is the documentation too: README's table is checked
against it by a test.
"""

from __future__ import annotations

from dataclasses import dataclass

RESOURCES = (
    "workflows",
    "runs",
    "integrations",
    "credentials",
    "messages",
    "analytics",
    "ai",
    "audit",
    "users",
    "settings",
)
ACTIONS = ("read", "write", "execute", "delete")

ALL = frozenset(f"{r}:{a}" for r in RESOURCES for a in ACTIONS)


def _grant(spec: dict[str, str]) -> frozenset[str]:
    """``{"workflows": "rwxd"}`` → permissions (r=read, w=write, x=execute, d=delete)."""
    letters = {"r": "read", "w": "write", "x": "execute", "d": "delete"}
    return frozenset(f"{res}:{letters[c]}" for res, codes in spec.items() for c in codes)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str
    permissions: frozenset[str]


BUILTIN_ROLES: dict[str, RoleSpec] = {
    "admin": RoleSpec(
        "admin", "Everything, including users, roles, credentials and settings.", ALL
    ),
    "operator": RoleSpec(
        "operator",
        "Builds and runs workflows, handles runs and messages; uses integrations without "
        "seeing their secrets.",
        _grant({"workflows": "rwxd", "runs": "rwx", "integrations": "rx", "messages": "rwx",
                "analytics": "r", "ai": "rx", "settings": "r"}),
    ),
    "analyst": RoleSpec(
        "analyst",
        "Reads everything operational, runs analyses and reads the audit trail.",
        _grant({"workflows": "r", "runs": "r", "integrations": "r", "messages": "r",
                "analytics": "rwx", "ai": "rx", "audit": "r", "settings": "r"}),
    ),
    "viewer": RoleSpec(
        "viewer",
        "Read-only access to workflows, runs, integrations, messages and analytics.",
        _grant({"workflows": "r", "runs": "r", "integrations": "r", "messages": "r",
                "analytics": "r", "ai": "r", "settings": "r"}),
    ),
}  # fmt: skip


def validate_permissions(permissions: list[str] | set[str] | frozenset[str]) -> frozenset[str]:
    from auterity_desktop.core.errors import ErrorCode, ServiceError

    unknown = sorted(p for p in permissions if p not in ALL)
    if unknown:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown permissions: {', '.join(unknown[:10])}",
            {"unknown": unknown[:50], "resources": RESOURCES, "actions": ACTIONS},
        )
    return frozenset(permissions)
