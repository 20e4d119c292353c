from __future__ import annotations

import pytest
from argon2 import PasswordHasher as RawArgon2

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.security.passwords import (
    OWASP_MEMORY_KIB,
    OWASP_PARALLELISM,
    OWASP_TIME_COST,
    PasswordHasher,
    check_password_policy,
)
from tests.services.conftest import ADMIN_PASSWORD, Stack


async def actions(stack: Stack) -> list[tuple[str, str, str]]:
    page = await stack.audit.page(descending=False)
    return [(e.action, e.actor, e.outcome) for e in page.entries]


def test_default_hasher_uses_owasp_argon2id_parameters() -> None:
    encoded = PasswordHasher().hash("Some-Long-Password-1")
    assert encoded.startswith("$argon2id$")
    assert f"m={OWASP_MEMORY_KIB},t={OWASP_TIME_COST},p={OWASP_PARALLELISM}" in encoded
    assert (OWASP_MEMORY_KIB, OWASP_TIME_COST, OWASP_PARALLELISM) == (19456, 2, 1)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "at least 12 characters"),
        ("alice-is-the-best-user", "must not contain the user name"),
        ("Password1234", "commonly used passwords"),
        ("aaaaaaaaaaaaaaaa", "more than three different characters"),
    ],
)
def test_password_policy(password: str, problem: str) -> None:
    with pytest.raises(ServiceError) as info:
        check_password_policy(password, "alice")
    assert info.value.code is ErrorCode.PASSWORD_REJECTED
    assert problem in info.value.message


async def test_first_admin_then_login_and_logout(stack: Stack) -> None:
    assert await stack.security.needs_first_admin()
    await stack.security.users.create_first_admin("alice", ADMIN_PASSWORD)
    assert not await stack.security.needs_first_admin()
    with pytest.raises(ServiceError) as info:
        await stack.security.users.create_first_admin("mallory", "Another-Pass-99")
    assert info.value.code is ErrorCode.CONFLICT
    session = await stack.security.authenticate_user(
        {"username": "alice", "password": ADMIN_PASSWORD}
    )
    assert session.principal.role == "admin"
    assert (await stack.security.resume(session.token)).username == "alice"
    await stack.security.logout(session.token)
    with pytest.raises(ServiceError) as info:
        await stack.security.resume(session.token)
    assert info.value.code is ErrorCode.UNAUTHENTICATED
    assert "signed out" in info.value.message
    assert await actions(stack) == [
        ("user.created", "system", "success"),
        ("auth.login", "alice", "success"),
        ("auth.logout", "alice", "success"),
        ("auth.token_rejected", "alice", "failure"),
    ]


async def test_wrong_password_unknown_user_and_bad_input(stack: Stack) -> None:
    await stack.admin()
    for credentials in (
        {"username": "alice", "password": "nope-nope-nope"},
        {"username": "ghost", "password": "whatever-12345"},
    ):
        with pytest.raises(ServiceError) as info:
            await stack.security.authenticate_user(credentials)
        assert info.value.code is ErrorCode.UNAUTHENTICATED
        assert info.value.message == "The user name or password is wrong."
    for bad in ({}, {"username": 5, "password": "x"}, "alice", {"username": " ", "password": "p"}):
        with pytest.raises(ServiceError) as info:
            await stack.security.authenticate_user(bad)  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.INVALID_INPUT
    failures = [
        e
        for e in (await stack.audit.page()).entries
        if e.action == "auth.login" and e.outcome == "failure"
    ]
    assert [f.details["reason"] for f in failures] == ["unknown_user", "wrong_password"]


async def test_lockout_with_exponential_delay(stack: Stack) -> None:
    await stack.admin()
    wrong = {"username": "alice", "password": "wrong-password-1"}
    for _ in range(2):
        with pytest.raises(ServiceError) as info:
            await stack.security.authenticate_user(wrong)
        assert info.value.code is ErrorCode.UNAUTHENTICATED
    with pytest.raises(ServiceError):
        await stack.security.authenticate_user(wrong)  # third failure: locked for 30 s
    right = {"username": "alice", "password": ADMIN_PASSWORD}
    with pytest.raises(ServiceError) as info:
        await stack.security.authenticate_user(right)
    assert info.value.code is ErrorCode.ACCOUNT_LOCKED
    assert info.value.details["retry_after"] == 30
    stack.clock.now += 31
    with pytest.raises(ServiceError):
        await stack.security.authenticate_user(wrong)  # fourth failure: 60 s
    stack.clock.now += 59
    with pytest.raises(ServiceError) as info:
        await stack.security.authenticate_user(right)
    assert info.value.code is ErrorCode.ACCOUNT_LOCKED
    assert info.value.details["retry_after"] == pytest.approx(1)
    stack.clock.now += 2
    assert (await stack.security.authenticate_user(right)).principal.username == "alice"
    # success resets the counter: two more failures do not lock
    for _ in range(2):
        with pytest.raises(ServiceError):
            await stack.security.authenticate_user(wrong)
    assert (await stack.security.authenticate_user(right)).principal.username == "alice"
    entries = (await stack.audit.page()).entries
    assert any(
        e.action == "security.alert" and e.details.get("username") == "alice" for e in entries
    )


async def test_failures_outside_the_window_do_not_accumulate(stack: Stack) -> None:
    await stack.admin()
    wrong = {"username": "alice", "password": "wrong-password-1"}
    for _ in range(2):
        with pytest.raises(ServiceError):
            await stack.security.authenticate_user(wrong)
    stack.clock.now += 301
    with pytest.raises(ServiceError) as info:
        await stack.security.authenticate_user(wrong)
    assert info.value.code is ErrorCode.UNAUTHENTICATED  # counted afresh, not locked


async def test_unknown_user_burst_raises_an_alert(stack: Stack) -> None:
    alerts: list[str] = []
    stack.events.subscribe("security_alert_raised", lambda e: alerts.append(e.payload["kind"]))
    for i in range(10):
        with pytest.raises(ServiceError):
            await stack.security.authenticate_user({"username": f"scan{i}", "password": "x" * 12})
    assert alerts == ["unknown_user_burst"]


async def test_sessions_expire_when_idle_and_at_max_age(stack: Stack) -> None:
    await stack.admin()
    token = (
        await stack.security.authenticate_user({"username": "alice", "password": ADMIN_PASSWORD})
    ).token
    stack.clock.now += 599
    assert (await stack.security.resume(token)).username == "alice"  # refreshes the idle timer
    stack.clock.now += 599
    assert (await stack.security.resume(token)).username == "alice"
    stack.clock.now += 601
    with pytest.raises(ServiceError) as info:
        await stack.security.resume(token)
    assert "inactivity" in info.value.message
    token = (
        await stack.security.authenticate_user({"username": "alice", "password": ADMIN_PASSWORD})
    ).token
    for _ in range(7):
        stack.clock.now += 500
        await stack.security.resume(token)
    stack.clock.now += 200  # 3,700 s after sign-in: beyond the 3,600 s maximum age
    with pytest.raises(ServiceError) as info:
        await stack.security.resume(token)
    assert "maximum age" in info.value.message


async def test_forged_and_malformed_tokens_are_rejected_and_audited(stack: Stack) -> None:
    await stack.admin()
    token = (
        await stack.security.authenticate_user({"username": "alice", "password": ADMIN_PASSWORD})
    ).token
    session_id, signature = token.split(".")
    forged = [
        f"{session_id}.{signature[:-2]}AA",
        f"{session_id[:-1]}x.{signature}",
        "not-a-token",
        "a.b.c",
        "",
        "x" * 10_000,
    ]
    for bad in forged:
        with pytest.raises(ServiceError) as info:
            await stack.security.resume(bad)
        assert info.value.code is ErrorCode.UNAUTHENTICATED
    rejected = [e for e in (await stack.audit.page()).entries if e.action == "auth.token_rejected"]
    assert len(rejected) == len(forged)


async def test_password_is_rehashed_when_parameters_change(stack: Stack) -> None:
    old = RawArgon2(time_cost=1, memory_cost=512, parallelism=1)
    await stack.admin()
    from sqlalchemy import select

    from auterity_desktop.services.security.models import UserRow

    async with stack.database.session() as db:
        user = (await db.execute(select(UserRow).where(UserRow.username == "alice"))).scalar_one()
        user.password_hash = old.hash(ADMIN_PASSWORD)
    await stack.security.authenticate_user({"username": "alice", "password": ADMIN_PASSWORD})
    async with stack.database.session() as db:
        stored = (
            await db.execute(select(UserRow.password_hash).where(UserRow.username == "alice"))
        ).scalar_one()
    assert "m=1024,t=1,p=1" in stored  # the service's current parameters
    login = next(e for e in (await stack.audit.page()).entries if e.action == "auth.login")
    assert login.details["rehashed"] is True


async def test_disabled_users_cannot_sign_in_and_lose_their_sessions(stack: Stack) -> None:
    admin = await stack.admin()
    await stack.security.users.create_user(admin, "bob", "Garage-Door-2026", "operator")
    token = (
        await stack.security.authenticate_user({"username": "bob", "password": "Garage-Door-2026"})
    ).token
    await stack.security.users.set_disabled(admin, "bob", True)
    with pytest.raises(ServiceError):
        await stack.security.resume(token)
    with pytest.raises(ServiceError) as info:
        await stack.security.authenticate_user({"username": "bob", "password": "Garage-Door-2026"})
    assert "disabled" in info.value.message
    with pytest.raises(ServiceError) as info:
        await stack.security.users.set_disabled(admin, "alice", True)
    assert "last enabled admin" in info.value.message
    with pytest.raises(ServiceError) as info:
        await stack.security.users.assign_role(admin, "alice", "viewer")
    assert "last enabled admin" in info.value.message


async def test_user_admin_validation(stack: Stack) -> None:
    admin = await stack.admin()
    with pytest.raises(ServiceError) as info:
        await stack.security.users.create_user(admin, "bad name!", "Long-Enough-Pass-1", "viewer")
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    with pytest.raises(ServiceError) as info:
        await stack.security.users.create_user(admin, "carol", "Long-Enough-Pass-1", "pilot")
    assert "no role" in info.value.message
    await stack.security.users.create_user(admin, "carol", "Long-Enough-Pass-1", "viewer")
    with pytest.raises(ServiceError) as info:
        await stack.security.users.create_user(admin, "carol", "Long-Enough-Pass-1", "viewer")
    assert info.value.code is ErrorCode.CONFLICT
    await stack.security.users.reset_password(admin, "carol", "Brand-New-Pass-77")
    assert (
        await stack.security.authenticate_user(
            {"username": "carol", "password": "Brand-New-Pass-77"}
        )
    ).principal
    users = await stack.security.users.list_users(admin)
    assert [u.username for u in users] == ["alice", "carol"]


async def test_keyring_holds_the_signing_key(stack: Stack) -> None:
    instance = await stack.database.instance_id()
    key = await stack.security.secrets.get(f"session-signing-key/{instance}")
    assert key is not None
    assert len(stack.security.auth.signer._key) == 32  # type: ignore[union-attr]
