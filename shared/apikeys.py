"""API key minting and hashing, shared by the CLI (creates keys) and the gateway (checks them).

Keys are 256 bits from ``secrets`` with a recognisable prefix; only the SHA-256 hash is stored.
A random 256-bit key needs no slow KDF: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

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
