"""Creating, listing and authenticating people (the CLI and the gateway both call these)."""

from __future__ import annotations

import re

from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session

from shared.models.people import User
from shared.people import passwords

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class UserExists(ValueError):
    pass


class NotFirst(Exception):
    """Somebody exists already: the first-run account can no longer be made."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError("a name is 1-100 letters, digits or . _ @ - (starting with a letter or digit)")
    return name


def create_user(session: Session, name: str, password: str) -> User:
    """Add a person; ValueError for a bad name or a weak password, UserExists for a taken name."""
    check_name(name)
    if session.scalar(select(User.id).where(func.lower(User.name) == name.lower())) is not None:
        raise UserExists(f"a person named {name!r} already exists")
    user = User(name=name, password_hash=passwords.hash_password(password))
    session.add(user)
    session.flush()
    return user


def anyone(session: Session) -> bool:
    return bool(session.scalar(select(exists().select_from(User))))


def create_first_user(session: Session, name: str, password: str) -> User:
    """The first person, only while nobody exists (the web UI's first-run page); NotFirst after.

    Serialised by a transaction-scoped advisory lock, so two first-run requests at once cannot both
    find the table empty and both create someone: the second waits, then sees the first.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('mamc:first-user'))"))
    if anyone(session):
        raise NotFirst("a person exists already: log in, or create people with `mamcrawler user create`")
    return create_user(session, name, password)


def set_password(session: Session, name: str, password: str) -> bool:
    user = session.scalar(select(User).where(func.lower(User.name) == name.lower()))
    if user is None:
        return False
    user.password_hash = passwords.hash_password(password)
    return True


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The person whose name and password match (names compare case-insensitively), else None.

    Costs one argon2 verification either way, so timing does not tell which names exist.
    """
    user = session.scalar(select(User).where(func.lower(User.name) == name.lower()))
    if not passwords.verify(user.password_hash if user else None, password):
        return None
    assert user is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = func.now()
    return user
