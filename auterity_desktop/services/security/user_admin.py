"""Users and roles: create, disable, reset passwords, assign roles, edit custom roles.

Every method is guarded (``users:write`` and friends) and audited; built-in roles cannot be
changed, and the last enabled admin can be neither disabled nor demoted, so an installation
can never lock itself out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authentication import AuthenticationService
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.models import RoleRow, UserRow
from auterity_desktop.services.security.passwords import PasswordHasher, check_password_policy
from auterity_desktop.services.security.permissions import BUILTIN_ROLES, validate_permissions
from auterity_desktop.services.security.principal import Principal

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    locked_until: float | None
    last_login_at: float | None


@dataclass(frozen=True)
class RoleInfo:
    name: str
    description: str
    builtin: bool
    permissions: frozenset[str]


def _user_info(row: UserRow) -> UserInfo:
    return UserInfo(
        row.id,
        row.username,
        row.display_name,
        row.role,
        row.disabled,
        row.locked_until,
        row.last_login_at,
    )


class UserAdminService:
    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        auth: AuthenticationService,
        hasher: PasswordHasher,
        roles_changed: Callable[[str, frozenset[str] | None], None],
        clock: Callable[[], float],
    ) -> None:
        self.database = database
        self.audit = audit
        self.authz = authz
        self.auth = auth
        self.hasher = hasher
        self._roles_changed = roles_changed
        self.clock = clock

    # -- queries ------------------------------------------------------------------------
    async def user_count(self) -> int:
        async with self.database.session() as db:
            return int((await db.execute(select(func.count()).select_from(UserRow))).scalar_one())

    @guarded("users", "read")
    async def list_users(self, actor: Principal) -> list[UserInfo]:
        async with self.database.session() as db:
            rows = (await db.execute(select(UserRow).order_by(UserRow.username))).scalars()
            return [_user_info(r) for r in rows]

    async def list_roles(self) -> list[RoleInfo]:
        """Roles are not secret: the GUI shows every user what their role allows."""
        async with self.database.session() as db:
            rows = (
                await db.execute(select(RoleRow).order_by(RoleRow.builtin.desc(), RoleRow.name))
            ).scalars()
            return [
                RoleInfo(r.name, r.description, r.builtin, frozenset(r.permissions)) for r in rows
            ]

    # -- users --------------------------------------------------------------------------
    async def create_first_admin(
        self, username: str, password: str, display_name: str = ""
    ) -> UserInfo:
        """First run only: creates an admin when there are no users at all."""
        if await self.user_count() > 0:
            raise ServiceError(
                ErrorCode.CONFLICT, "Users already exist; sign in as an admin to add more", {}
            )
        return await self._create(username, password, "admin", display_name, "system")

    @guarded("users", "write")
    async def create_user(
        self, actor: Principal, username: str, password: str, role: str, display_name: str = ""
    ) -> UserInfo:
        return await self._create(username, password, role, display_name, actor.username)

    async def _create(
        self, username: str, password: str, role: str, display_name: str, by: str
    ) -> UserInfo:
        if not isinstance(username, str) or not USERNAME.match(username):
            raise ServiceError(
                ErrorCode.VALIDATION_ERROR,
                "A user name is 2–64 letters, digits or . _ @ - and starts with a letter or digit",
                {"field": "username"},
            )
        check_password_policy(password, username)
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        now = self.clock()
        async with self.database.session() as db:
            if await db.get(RoleRow, role) is None:
                raise ServiceError(
                    ErrorCode.VALIDATION_ERROR, f"There is no role {role!r}", {"field": "role"}
                )
            exists = (
                await db.execute(select(UserRow.id).where(UserRow.username == username))
            ).first()
            if exists:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    f"The user {username} already exists",
                    {"username": username},
                )
            row = UserRow(
                username=username,
                display_name=(display_name or "")[:200],
                password_hash=password_hash,
                role=role,
                disabled=False,
                created_at=now,
                password_changed_at=now,
                failed_logins=0,
            )
            db.add(row)
            await db.flush()
            info = _user_info(row)
        await self.audit.record(
            by,
            "user.created",
            f"users/{username}",
            "success",
            {"role": role, "display_name": display_name},
        )
        return info

    async def _user(self, db: Any, username: str) -> UserRow:
        row = (
            await db.execute(select(UserRow).where(UserRow.username == username))
        ).scalar_one_or_none()
        if row is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"There is no user {username!r}", {"username": username}
            )
        return row  # type: ignore[no-any-return]

    async def _ensure_other_admin(self, db: Any, row: UserRow) -> None:
        if row.role != "admin" or row.disabled:
            return
        others = (
            await db.execute(
                select(func.count())
                .select_from(UserRow)
                .where(UserRow.role == "admin", UserRow.disabled.is_(False), UserRow.id != row.id)
            )
        ).scalar_one()
        if others == 0:
            raise ServiceError(
                ErrorCode.CONFLICT,
                "This is the last enabled admin; make someone else admin first",
                {},
            )

    @guarded("users", "write")
    async def set_disabled(self, actor: Principal, username: str, disabled: bool) -> UserInfo:
        async with self.database.session() as db:
            row = await self._user(db, username)
            if disabled:
                await self._ensure_other_admin(db, row)
            row.disabled = disabled
            info = _user_info(row)
        if disabled:
            await self.auth.revoke_all(info.id)
        await self.audit.record(
            actor.username,
            "user.disabled" if disabled else "user.enabled",
            f"users/{username}",
            "success",
            {},
        )
        return info

    @guarded("users", "write")
    async def assign_role(self, actor: Principal, username: str, role: str) -> UserInfo:
        async with self.database.session() as db:
            if await db.get(RoleRow, role) is None:
                raise ServiceError(
                    ErrorCode.VALIDATION_ERROR, f"There is no role {role!r}", {"field": "role"}
                )
            row = await self._user(db, username)
            if role != "admin":
                await self._ensure_other_admin(db, row)
            old = row.role
            row.role = role
            info = _user_info(row)
        await self.audit.record(
            actor.username,
            "user.role_assigned",
            f"users/{username}",
            "success",
            {"from": old, "to": role},
        )
        return info

    @guarded("users", "write")
    async def reset_password(self, actor: Principal, username: str, new_password: str) -> None:
        check_password_policy(new_password, username)
        password_hash = await asyncio.to_thread(self.hasher.hash, new_password)
        async with self.database.session() as db:
            row = await self._user(db, username)
            row.password_hash = password_hash
            row.password_changed_at = self.clock()
            row.failed_logins, row.locked_until, row.first_failure_at = 0, None, None
            user_id = row.id
        await self.auth.revoke_all(user_id)
        await self.audit.record(
            actor.username, "user.password_reset", f"users/{username}", "success", {}
        )

    async def change_own_password(
        self, actor: Principal, old_password: str, new_password: str
    ) -> None:
        """Any signed-in user may change their own password, knowing the current one."""
        async with self.database.session() as db:
            row = await self._user(db, actor.username)
            stored = row.password_hash
        if not await asyncio.to_thread(self.hasher.verify, stored, old_password):
            await self.audit.record(
                actor.username,
                "user.password_changed",
                f"users/{actor.username}",
                "failure",
                {"reason": "wrong current password"},
            )
            raise ServiceError(ErrorCode.UNAUTHENTICATED, "The current password is wrong", {})
        check_password_policy(new_password, actor.username)
        password_hash = await asyncio.to_thread(self.hasher.hash, new_password)
        async with self.database.session() as db:
            row = await self._user(db, actor.username)
            row.password_hash, row.password_changed_at = password_hash, self.clock()
        await self.audit.record(
            actor.username, "user.password_changed", f"users/{actor.username}", "success", {}
        )

    # -- roles --------------------------------------------------------------------------
    @guarded("users", "write")
    async def save_role(
        self,
        actor: Principal,
        name: str,
        permissions: set[str] | frozenset[str] | list[str],
        description: str = "",
    ) -> RoleInfo:
        if not isinstance(name, str) or not ROLE_NAME.match(name):
            raise ServiceError(
                ErrorCode.VALIDATION_ERROR,
                "A role name is 2–64 lower-case letters, digits, _ or -",
                {"field": "name"},
            )
        if name in BUILTIN_ROLES:
            raise ServiceError(
                ErrorCode.CONFLICT, f"The built-in role {name} cannot be changed", {"role": name}
            )
        perms = validate_permissions(set(permissions))
        async with self.database.session() as db:
            row = await db.get(RoleRow, name)
            created = row is None
            if row is None:
                row = RoleRow(
                    name=name, builtin=False, description=description, permissions=sorted(perms)
                )
                db.add(row)
            else:
                row.permissions = sorted(perms)
                row.description = description
        self._roles_changed(name, perms)
        await self.audit.record(
            actor.username,
            "role.created" if created else "role.updated",
            f"roles/{name}",
            "success",
            {"permissions": sorted(perms)},
        )
        return RoleInfo(name, description, False, perms)

    @guarded("users", "delete")
    async def delete_role(self, actor: Principal, name: str) -> None:
        if name in BUILTIN_ROLES:
            raise ServiceError(
                ErrorCode.CONFLICT, f"The built-in role {name} cannot be deleted", {"role": name}
            )
        async with self.database.session() as db:
            row = await db.get(RoleRow, name)
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"There is no role {name!r}", {"role": name}
                )
            users = (
                await db.execute(
                    select(func.count()).select_from(UserRow).where(UserRow.role == name)
                )
            ).scalar_one()
            if users:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    f"{users} user(s) still have the role {name}",
                    {"users": users},
                )
            await db.delete(row)
        self._roles_changed(name, None)
        await self.audit.record(actor.username, "role.deleted", f"roles/{name}", "success", {})
