"""Secrets set through the API (e.g. the ABS token): Fernet-encrypted in PostgreSQL.

A stored value wins over the environment, so a user can rotate a token from the UI without
restarting workers. Values are write-only through the API: it can say a secret is set, and
from where, but never returns it.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.infra.crypto import decrypt, encrypt
from shared.models.jobs import StoredSecret

KNOWN = ("abs_token", "hardcover_token", "googlebooks_key", "mam_id", "qbit_password", "notify_urls")


def put_secret(session: Session, name: str, value: str) -> None:
    if name not in KNOWN:
        raise KeyError(name)
    stmt = insert(StoredSecret).values(name=name, ciphertext=encrypt(value))
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"ciphertext": stmt.excluded.ciphertext}))


def delete_secret(session: Session, name: str) -> None:
    session.execute(delete(StoredSecret).where(StoredSecret.name == name))


def stored_secret(session: Session, name: str) -> str | None:
    blob = session.scalar(select(StoredSecret.ciphertext).where(StoredSecret.name == name))
    return decrypt(blob) if blob is not None else None


def effective_secret(session: Session, name: str) -> tuple[str | None, str]:
    """(value, source): the stored value if any, else the MAMC_<NAME> environment value."""
    from shared.infra.settings import get_settings

    stored = stored_secret(session, name)
    if stored:
        return stored, "stored"
    env = getattr(get_settings(), name, None)
    if env is not None and env.get_secret_value():
        return env.get_secret_value(), "environment"
    return None, "unset"
