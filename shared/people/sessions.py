"""Server-side login sessions: an opaque cookie token, its SHA-256 hash stored with an expiry.

Sliding expiry: each use extends a session to ``idle`` from now, never past ``max_age`` from its
start. The extension is written at most once a minute, so a page's burst of requests costs one
read each, not a write each.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shared.models.people import User, UserSession

_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Login:
    """A valid session: who it is, and the CSRF token its unsafe requests must carry."""

    user_id: int
    name: str
    csrf_token: str


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie value; only its hash is stored
    csrf_token: str
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int, *, idle: timedelta, max_age: timedelta) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now: datetime = session.scalar(select(func.now()))  # type: ignore[assignment]  # now() is never NULL
    expires = min(now + idle, now + max_age)
    session.add(UserSession(token_hash=hash_token(token), user_id=user_id, csrf_token=csrf, created_at=now,
                            last_seen_at=now, expires_at=expires))
    session.flush()
    return NewSession(token, csrf, expires)


def lookup(session: Session, token: str, *, idle: timedelta, max_age: timedelta) -> Login | None:
    """The live session behind ``token`` (extending it), or None when unknown or expired."""
    row = session.execute(
        select(UserSession.user_id, User.name, UserSession.csrf_token, UserSession.created_at,
               UserSession.last_seen_at, func.now())
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token), UserSession.expires_at > func.now())
    ).first()
    if row is None:
        return None
    user_id, name, csrf, created, seen, now = row
    if now - seen >= _TOUCH_EVERY:
        session.execute(update(UserSession).where(UserSession.token_hash == hash_token(token))
                        .values(last_seen_at=now, expires_at=min(now + idle, created + max_age)))
    return Login(user_id, name, csrf)


def end(session: Session, token: str) -> bool:
    result = session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))
    return bool(getattr(result, "rowcount", 0))


def end_all(session: Session, user_id: int) -> int:
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0))


def purge_expired(session: Session) -> int:
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= func.now()))
    return int(getattr(result, "rowcount", 0))


def csrf_matches(expected: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())
