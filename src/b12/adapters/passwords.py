"""Password hashes: argon2id through pwdlib (the web extra, `pip install 'b12[web]'`)."""

from __future__ import annotations

from typing import Any

from b12.errors import B12Error

#: RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): a login costs ~0.1-0.3 s here.
STRONG: dict[str, Any] = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
#: For tests only: the same algorithm at the smallest cost.
LIGHT: dict[str, Any] = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


class MissingExtraError(B12Error):
    """A part of b12 that needs an optional extra was used without it."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"this needs the {extra!r} extra ({module} is not installed): "
            f"pip install 'b12[{extra}]'"
        )


class Argon2id:
    """hash() and verify() of services.accounts.PasswordHasher, argon2id with ``parameters``."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        try:
            from pwdlib import PasswordHash
            from pwdlib.hashers.argon2 import Argon2Hasher
        except ImportError:
            raise MissingExtraError("web", "pwdlib") from None
        self._hash: Any = PasswordHash((Argon2Hasher(**parameters),))

    def hash(self, password: str) -> str:
        return str(self._hash.hash(password))

    def verify(self, password: str, hashed: str) -> bool:
        try:
            return bool(self._hash.verify(password, hashed))
        except Exception:  # a malformed stored hash never logs anyone in
            return False


def argon2id(*, light: bool = False) -> Argon2id:
    return Argon2id(LIGHT if light else STRONG)
