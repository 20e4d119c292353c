"""The documented permission matrix, role by role, enforced by the real guard."""

from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.security.permissions import ACTIONS, BUILTIN_ROLES, RESOURCES
from tests.services.conftest import Stack

# resource -> actions granted, per role (r=read, w=write, x=execute, d=delete)
EXPECTED = {
    "admin": {r: "rwxd" for r in RESOURCES},
    "operator": {
        "workflows": "rwxd",
        "runs": "rwx",
        "integrations": "rx",
        "messages": "rwx",
        "analytics": "r",
        "ai": "rx",
        "settings": "r",
    },
    "analyst": {
        "workflows": "r",
        "runs": "r",
        "integrations": "r",
        "messages": "r",
        "analytics": "rwx",
        "ai": "rx",
        "audit": "r",
        "settings": "r",
    },
    "viewer": {
        "workflows": "r",
        "runs": "r",
        "integrations": "r",
        "messages": "r",
        "analytics": "r",
        "ai": "r",
        "settings": "r",
    },
}
LETTER = {"read": "r", "write": "w", "execute": "x", "delete": "d"}


@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_every_cell_of_the_matrix(stack: Stack, role: str) -> None:
    user = await stack.admin() if role == "admin" else await stack.user(f"{role}1", role)
    for resource in RESOURCES:
        for action in ACTIONS:
            expected = LETTER[action] in EXPECTED[role].get(resource, "")
            allowed = await stack.security.check_permission(user, resource, action)
            assert allowed is expected, (role, resource, action)
            if not expected:
                with pytest.raises(ServiceError) as info:
                    await stack.security.authorize(user, f"{resource}/x1", action)
                assert info.value.code is ErrorCode.UNAUTHORIZED


def test_matrix_in_code_matches_the_documented_one() -> None:
    for role, spec in BUILTIN_ROLES.items():
        granted = {
            f"{res}:{a}"
            for res, letters in EXPECTED[role].items()
            for a, c in LETTER.items()
            if c in letters
        }
        assert spec.permissions == granted, role


async def test_check_authorization_means_read_and_unknown_resources_are_denied(
    stack: Stack,
) -> None:
    viewer = await stack.user("vera", "viewer")
    assert await stack.security.check_authorization(viewer, "workflows/wf-1") is True
    assert await stack.security.check_authorization(viewer, "audit") is False
    assert await stack.security.check_permission(viewer, "nuclear_codes", "read") is False
    assert await stack.security.check_permission(viewer, "workflows", "launch") is False


async def test_denials_are_audited_and_a_burst_raises_an_alert(stack: Stack) -> None:
    viewer = await stack.user("vera", "viewer")
    alerts: list[dict] = []
    stack.events.subscribe("security_alert_raised", lambda e: alerts.append(e.payload))
    for _ in range(10):
        await stack.security.check_permission(viewer, "users", "write")
    page = await stack.audit.page()
    denials = [e for e in page.entries if e.action == "authorization.denied"]
    assert len(denials) == 10
    assert denials[0].actor == "vera"
    assert denials[0].outcome == "denied"
    assert denials[0].details == {
        "action": "write",
        "role": "viewer",
        "reason": "role lacks the permission",
    }
    assert [a["kind"] for a in alerts] == ["authorization_denial_burst"]
    assert any(e.action == "security.alert" and e.outcome == "alert" for e in page.entries)


async def test_custom_roles(stack: Stack) -> None:
    admin = await stack.admin()
    role = await stack.security.users.save_role(
        admin, "service_advisor", {"workflows:read", "runs:read", "runs:execute"}, "Service desk"
    )
    assert role.permissions == {"workflows:read", "runs:read", "runs:execute"}
    await stack.security.users.create_user(admin, "sam", "Service-Desk-2026!", "service_advisor")
    sam = (
        await stack.security.authenticate_user(
            {"username": "sam", "password": "Service-Desk-2026!"}
        )
    ).principal
    assert await stack.security.check_permission(sam, "runs", "execute")
    assert not await stack.security.check_permission(sam, "workflows", "write")
    with pytest.raises(ServiceError) as info:
        await stack.security.users.save_role(admin, "bad", {"runs:fly"})
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    with pytest.raises(ServiceError) as info:
        await stack.security.users.save_role(admin, "admin", {"runs:read"})
    assert info.value.code is ErrorCode.CONFLICT
    with pytest.raises(ServiceError) as info:
        await stack.security.users.delete_role(admin, "service_advisor")
    assert "still have the role" in info.value.message
    # a viewer cannot create roles: the guard refuses and audits
    viewer = await stack.user("vera", "viewer")
    with pytest.raises(ServiceError) as info:
        await stack.security.users.save_role(viewer, "sneaky", {"users:write"})
    assert info.value.code is ErrorCode.UNAUTHORIZED
