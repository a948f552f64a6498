"""API key minting and hashing, shared by the CLI (creates keys) and the gateway (checks them).

Keys are 256 bits from ``secrets`` with a recognisable prefix; only the SHA-256 hash is stored.
A random 256-bit key needs no slow KDF: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.models.jobs import ApiKey

KEY_PREFIX = "mamc_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_api_key(session: Session, name: str) -> str:
    key = new_key()
    session.add(ApiKey(name=name, key_hash=hash_key(key), prefix=key[:12]))
    session.flush()
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, revoked ones too (the prefix identifies a key without revealing it)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, name: str) -> bool:
    """Revoke the key named ``name``; False when there is no such active key.

    The gateway caches a key lookup for a few seconds per process (api/auth.py), so a revoked
    key stops working within that time, not instantly.
    """
    result = session.execute(update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
                             .values(revoked_at=func.now()))
    return bool(getattr(result, "rowcount", 0))


def revoke_api_key_id(session: Session, key_id: int) -> bool:
    """Revoke key ``key_id``; True when it exists (revoking a revoked key changes nothing)."""
    key = session.get(ApiKey, key_id)
    if key is None:
        return False
    if key.revoked_at is None:
        key.revoked_at = func.now()
    return True
