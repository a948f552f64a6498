"""How to reach qBittorrent: the WebUI URL, the user and the password, set in the environment or the API.

A value set through ``PUT /api/v1/settings/qbittorrent`` wins over ``MAMC_QBIT_URL`` /
``MAMC_QBIT_USER`` / ``MAMC_QBIT_PASSWORD``, so a person fixes a refused login from the UI without
restarting workers (the download workers read this on every job). The URL and user are kept in
``app_settings`` (JSON, row ``qbittorrent``); the password is a stored secret, encrypted like the ABS
token, and never leaves this module except to the client that logs in.

Category and save path stay environment-only (``MAMC_QBIT_CATEGORY``, ``MAMC_QBIT_SAVE_PATH``):
changing them moves where new grabs go, a deployment decision rather than a credential.
Writers flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.infra.secret_store import delete_secret, effective_secret, put_secret
from shared.infra.settings import get_settings
from shared.models.crawl import AppSetting

SETTING_NAME = "qbittorrent"
PASSWORD_SECRET = "qbit_password"
Source = Literal["stored", "environment"]
SecretSource = Literal["stored", "environment", "unset"]


@dataclass(frozen=True, slots=True)
class QbitConnection:
    """The effective connection settings and where each came from (the password is never printed)."""

    url: str
    username: str
    password: str | None = field(repr=False)
    url_source: Source
    username_source: Source
    password_source: SecretSource


def load_connection(session: Session) -> QbitConnection:
    settings = get_settings()
    stored = session.scalar(select(AppSetting.value).where(AppSetting.name == SETTING_NAME)) or {}
    url = stored.get("url") if isinstance(stored.get("url"), str) and stored.get("url") else None
    username = stored.get("username") if isinstance(stored.get("username"), str) else None
    password, password_source = effective_secret(session, PASSWORD_SECRET)
    source: SecretSource = "stored" if password_source == "stored" else (
        "environment" if password_source == "environment" else "unset")
    return QbitConnection(
        url=url or settings.qbit_url,
        username=username if username is not None else settings.qbit_user,
        password=password,
        url_source="stored" if url else "environment",
        username_source="stored" if username is not None else "environment",
        password_source=source,
    )


def save_connection(session: Session, *, url: str, username: str) -> None:
    """Store the URL and user (replacing both); the password is set apart (write-only)."""
    value = {"url": url, "username": username}
    stmt = insert(AppSetting).values(name=SETTING_NAME, value=value, updated_at=func.now())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[AppSetting.name], set_={"value": stmt.excluded.value, "updated_at": func.now()}))
    session.flush()


def save_password(session: Session, password: str) -> None:
    put_secret(session, PASSWORD_SECRET, password)
    session.flush()


def forget_password(session: Session) -> None:
    """Drop the stored password: ``MAMC_QBIT_PASSWORD`` applies again (if set)."""
    delete_secret(session, PASSWORD_SECRET)
    session.flush()


def forget_connection(session: Session) -> None:
    """Drop every stored value: the environment applies again."""
    session.execute(delete(AppSetting).where(AppSetting.name == SETTING_NAME))
    forget_password(session)
