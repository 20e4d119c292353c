"""Password hashing (argon2id, OWASP parameters) and the password policy."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from auterity_desktop.core.errors import ErrorCode, ServiceError

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
OWASP_MEMORY_KIB = 19_456
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1
MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing a megabyte of "password" is a denial of service, not security


class PasswordHasher:
    def __init__(
        self,
        memory_cost: int = OWASP_MEMORY_KIB,
        time_cost: int = OWASP_TIME_COST,
        parallelism: int = OWASP_PARALLELISM,
    ) -> None:
        self._argon = _Argon2(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self._argon.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return bool(self._argon.check_needs_rehash(stored))
        except InvalidHashError:
            return True


@cache
def common_passwords() -> frozenset[str]:
    text = (
        resources.files("auterity_desktop.resources")
        .joinpath("security", "common-passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def check_password_policy(password: str, username: str) -> None:
    """Raise PASSWORD_REJECTED listing every rule the password breaks."""
    if not isinstance(password, str):
        raise ServiceError(ErrorCode.INVALID_INPUT, "The password must be text", {})
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"it must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"it must be at most {MAX_LENGTH} characters long")
    lowered = password.lower()
    if username and username.lower() in lowered and len(username) >= 3:
        problems.append("it must not contain the user name")
    if lowered in common_passwords():
        problems.append("it is on the list of commonly used passwords")
    if len(set(password)) < 4:
        problems.append("it must use more than three different characters")
    if problems:
        raise ServiceError(
            ErrorCode.PASSWORD_REJECTED,
            "The password is not accepted: " + "; ".join(problems) + ".",
            {"problems": problems},
        )
