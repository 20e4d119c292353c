"""Role-based authorization, deny by default, and the one guard every service uses.

``authorize`` is the guard: it allows, or writes the denial to the audit trail, feeds threat
detection and raises ``UNAUTHORIZED``. Services apply it with the ``guarded`` decorator
rather than copying checks, so a service method cannot forget to audit a denial.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.permissions import ACTIONS, RESOURCES
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.security.threat_detection import ThreatDetector

P = ParamSpec("P")
R = TypeVar("R")

AlertSink = Callable[[str, dict[str, Any]], Awaitable[None]]


def split_resource(resource: str) -> tuple[str, str]:
    """``"workflows/wf-1"`` → ``("workflows", "wf-1")``; ``"audit"`` → ``("audit", "")``."""
    kind, _, target = resource.partition("/")
    return kind, target


class AuthorizationService:
    def __init__(self, audit: AuditTrail, threats: ThreatDetector, alert: AlertSink) -> None:
        self.audit = audit
        self.threats = threats
        self._alert = alert

    async def check_permission(self, user: Principal, resource: str, action: str) -> bool:
        """True when ``user`` may ``action`` on ``resource``; a denial is audited."""
        kind, target = split_resource(resource)
        if kind not in RESOURCES or action not in ACTIONS:
            await self._denied(user, kind, action, target, "unknown resource or action")
            return False
        if user.can(kind, action):
            return True
        await self._denied(user, kind, action, target, "role lacks the permission")
        return False

    async def check_authorization(self, user: Principal, resource: str) -> bool:
        """The catalogue's form: may ``user`` access (read) ``resource`` at all?"""
        return await self.check_permission(user, resource, "read")

    async def authorize(self, user: Principal, resource: str, action: str) -> None:
        """The guard: return when allowed, otherwise raise ``UNAUTHORIZED``."""
        if user.can(resource, action):  # granted permissions are all valid pairs: done
            return
        if not await self.check_permission(user, resource, action):
            kind, target = split_resource(resource)
            raise ServiceError(
                ErrorCode.UNAUTHORIZED,
                f"{user.username} ({user.role}) may not {action} {kind}",
                {"resource": kind, "target": target, "action": action, "role": user.role},
            )

    async def _denied(
        self, user: Principal, kind: str, action: str, target: str, reason: str
    ) -> None:
        await self.audit.record(
            user.username,
            "authorization.denied",
            f"{kind}/{target}" if target else kind,
            "denied",
            {"action": action, "role": user.role, "reason": reason},
        )
        if self.threats.denial(user.username):
            await self._alert(
                "authorization_denial_burst",
                {
                    "actor": user.username,
                    "window_seconds": self.threats.policy.burst_window,
                    "threshold": self.threats.policy.denial_burst,
                },
            )


class _HasSecurity(Protocol):
    @property
    def authz(self) -> AuthorizationService: ...


def guarded(
    resource: str, action: str
) -> Callable[[Callable[..., Awaitable[R]]], Callable[..., Awaitable[R]]]:
    """Decorate ``async def method(self, actor: Principal, ...)`` of a service whose
    ``self.authz`` is the AuthorizationService: the call runs only if ``actor`` may
    ``action`` on ``resource``."""

    def decorate(method: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        @functools.wraps(method)
        async def wrapper(self: _HasSecurity, actor: Principal, *args: Any, **kwargs: Any) -> R:
            if not isinstance(actor, Principal):
                raise ServiceError(ErrorCode.UNAUTHENTICATED, "Sign in first", {})
            await self.authz.authorize(actor, resource, action)
            return await method(self, actor, *args, **kwargs)

        wrapper.__guard__ = (resource, action)  # type: ignore[attr-defined]
        return wrapper

    return decorate
