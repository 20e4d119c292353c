"""``/api/v1/security``: sign-in for REST clients, permission checks and the audit trail.

``login`` is public (it is how a client gets a token) but rate-limited by address like
every request, and failures feed the same lockout as the GUI's sign-in dialog.
``audit-logs`` pages by keyset: ``next_cursor`` is the last sequence number seen, stable
however many entries are written meanwhile.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from sqlalchemy import select

from auterity_desktop.api.schemas import (
    AuditPageOut,
    AuditQuery,
    Authorize,
    AuthorizeOut,
    Login,
    SessionOut,
)
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
from auterity_desktop.services.gateway.operations import Controller, Operation
from auterity_desktop.services.security.models import UserRow

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

AUDIT_FIELDS = ("seq", "time", "actor", "action", "resource", "outcome", "details", "hash")


def security_controller(platform: Platform) -> Controller:
    security = platform.security

    async def login(request: ApiRequest, body: Login) -> ApiResponse:
        session = await security.authenticate_user(
            {"username": body.username, "password": body.password}, client="api"
        )
        p = session.principal
        return ApiResponse.json(
            {"token": session.token, "expires_at": session.expires_at,
             "username": p.username, "role": p.role}
        )  # fmt: skip

    async def logout(request: ApiRequest) -> ApiResponse:
        token = platform.gateway.credential(request)
        if token:
            await security.logout(token)
        return ApiResponse(204, b"", "")

    async def authorize(request: ApiRequest, body: Authorize) -> ApiResponse:
        assert request.principal is not None
        await security.authorize(request.principal, "users", "read")
        column = UserRow.id if isinstance(body.user_id, int) else UserRow.username
        async with platform.database.engine.connect() as conn:
            user = (await conn.execute(select(UserRow).where(column == body.user_id))).first()
        if user is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND, "No such user", {"user_id": str(body.user_id)[:64]}
            )
        allowed = not user.disabled and f"{body.resource}:{body.action}" in (
            security.permissions_of(user.role)
        )
        return ApiResponse.json(
            {"allowed": allowed, "user_id": body.user_id, "username": user.username,
             "role": user.role, "resource": body.resource, "action": body.action}
        )  # fmt: skip

    async def audit_logs(request: ApiRequest, query: AuditQuery) -> ApiResponse:
        assert request.principal is not None
        await security.authorize(request.principal, "audit", "read")
        after = None
        if query.cursor is not None:
            after = (int(query.cursor), int(query.cursor))
        kind = query.type or None
        flt = AuditFilter(
            start=query.startDate.astimezone(UTC) if query.startDate else None,
            end=query.endDate.astimezone(UTC) if query.endDate else None,
            action=kind if kind and "." in kind else None,
            action_prefix=kind if kind and "." not in kind else None,
        )
        page = await platform.audit.page(flt, after=after, limit=query.limit)
        items = []
        for entry in page.entries:
            exported = entry.to_export()
            items.append({k: exported[k] for k in AUDIT_FIELDS})
        cursor = str(page.next_key[1]) if page.next_key else None
        return ApiResponse.json({"items": items, "next_cursor": cursor})

    tags = ("security",)
    return Controller(
        [
            Operation("POST", "/login", login, "Sign in; returns a bearer session token",
                      "login", auth=False, body=Login, response=SessionOut, tags=tags),
            Operation("POST", "/logout", logout, "Sign out the session of the bearer token",
                      "logout", status=204, tags=tags),
            Operation("POST", "/authorize", authorize,
                      "May a user do an action on a resource?", "authorize",
                      body=Authorize, response=AuthorizeOut, tags=tags),
            Operation("GET", "/audit-logs", audit_logs, "The audit trail, newest first",
                      "auditLogs", query=AuditQuery, response=AuditPageOut, tags=tags),
        ],
        "security",
    )  # fmt: skip
