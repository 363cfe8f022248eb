"""Password hashing with argon2id (argon2-cffi's recommended parameters).

Example:
    >>> h = hash_password("correct horse")
    >>> verify_password(h, "correct horse"), verify_password(h, "wrong")
    (True, False)
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mled.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password is shorter than {MIN_PASSWORD_LENGTH} characters",
            hint="Choose a longer password, e.g. a passphrase of four words.",
        )


def hash_password(password: str) -> str:
    """An argon2id hash string (salt and parameters included)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
