"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile).

Why argon2id: memory-hard, so a stolen ``users`` table is expensive to brute-force on GPUs;
argon2-cffi is the well-kept binding. The hasher's parameters are part of each PHC string, so
raising them later re-hashes a password at its next login (:func:`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 takes any length; a cap keeps one login from costing unbounded CPU
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("not a password anyone has")


def check_strength(password: str) -> None:
    """ValueError naming the rule a new password breaks."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a None hash (no such person) still spends the same time."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
