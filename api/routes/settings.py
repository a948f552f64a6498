"""``/api/v1/settings/*``: credentials set from the API, write-only and encrypted at rest.

``/settings/abs``: the Audiobookshelf API key. ``/settings/metadata-keys``: the Hardcover token and the
Google Books key. ``/settings/qbittorrent``: the WebUI URL and user
(stored in ``app_settings``, over ``MAMC_QBIT_URL``/``MAMC_QBIT_USER``) and its password (a stored
secret, over ``MAMC_QBIT_PASSWORD``).

A GET says whether a secret is set and where it comes from (stored or environment); no route
ever returns a secret's value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from sqlalchemy.orm import Session

from api.deps import get_session
from api.problems import documented
from shared.download import qbit_gate, qbit_settings
from shared.infra.secret_store import delete_secret, effective_secret, put_secret
from shared.infra.settings import get_settings

router = APIRouter(prefix="/settings", tags=["settings"])
SessionDep = Annotated[Session, Depends(get_session)]


class AbsSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr = Field(description="Audiobookshelf API key (write-only)")


class AbsSettingsOut(BaseModel):
    """Whether the Audiobookshelf key is set and where it comes from; never the key itself."""

    url: str
    token_set: bool
    token_source: Literal["stored", "environment", "unset"]


def _abs_view(session: Session) -> AbsSettingsOut:
    value, source = effective_secret(session, "abs_token")
    return AbsSettingsOut(url=get_settings().abs_url, token_set=value is not None, token_source=source)


@router.get("/abs", response_model=AbsSettingsOut)
def read_abs(session: SessionDep) -> AbsSettingsOut:
    return _abs_view(session)


@router.put("/abs", response_model=AbsSettingsOut)
def write_abs(body: AbsSettingsIn, session: SessionDep) -> AbsSettingsOut:
    put_secret(session, "abs_token", body.token.get_secret_value())
    session.commit()
    return _abs_view(session)


@router.delete("/abs/token", response_model=AbsSettingsOut)
def clear_abs_token(session: SessionDep) -> AbsSettingsOut:
    delete_secret(session, "abs_token")
    session.commit()
    return _abs_view(session)


# -- qBittorrent ----------------------------------------------------------------------------------


class QbitSettingsIn(BaseModel):
    """The whole connection: a PUT replaces the URL and the user; the password is write-only."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=500, description="qBittorrent WebUI URL, http:// or https://")
    username: str = Field(max_length=200, description="WebUI user (empty when qBittorrent skips authentication)")
    password: SecretStr | None = Field(
        None, description="WebUI password (write-only, stored encrypted). Left out: the stored password, or "
                          "MAMC_QBIT_PASSWORD, stays; DELETE /settings/qbittorrent/password forgets it")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")
        return value.rstrip("/")

    @field_validator("password")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("empty; to fall back to MAMC_QBIT_PASSWORD, DELETE /settings/qbittorrent/password")
        return value


class QbitSettingsOut(BaseModel):
    """The connection the download workers use, and where each part comes from; never the password."""

    url: str
    url_source: Literal["stored", "environment"]
    username: str
    username_source: Literal["stored", "environment"]
    password_set: bool
    password_source: Literal["stored", "environment", "unset"]


def _qbit_view(session: Session) -> QbitSettingsOut:
    conn = qbit_settings.load_connection(session)
    return QbitSettingsOut(url=conn.url, url_source=conn.url_source, username=conn.username,
                           username_source=conn.username_source, password_set=conn.password is not None,
                           password_source=conn.password_source)


@router.get("/qbittorrent", response_model=QbitSettingsOut)
def read_qbittorrent(session: SessionDep) -> QbitSettingsOut:
    return _qbit_view(session)


@router.put("/qbittorrent", response_model=QbitSettingsOut, responses=documented(422))
def write_qbittorrent(body: QbitSettingsIn, session: SessionDep) -> QbitSettingsOut:
    """Store the URL and user (overriding the environment) and, when given, the password. The next
    download job connects with them, and jobs waiting on a refused login are released; nothing here
    talks to qBittorrent."""
    qbit_settings.save_connection(session, url=body.url, username=body.username)
    if body.password is not None:
        qbit_settings.save_password(session, body.password.get_secret_value())
    qbit_gate.settings_changed(session)  # jobs parked on a refused login try the new values
    session.commit()
    return _qbit_view(session)


@router.delete("/qbittorrent", response_model=QbitSettingsOut)
def reset_qbittorrent(session: SessionDep) -> QbitSettingsOut:
    """Forget every stored value: MAMC_QBIT_URL, MAMC_QBIT_USER and MAMC_QBIT_PASSWORD apply again."""
    qbit_settings.forget_connection(session)
    qbit_gate.settings_changed(session)
    session.commit()
    return _qbit_view(session)


@router.delete("/qbittorrent/password", response_model=QbitSettingsOut)
def clear_qbittorrent_password(session: SessionDep) -> QbitSettingsOut:
    qbit_settings.forget_password(session)
    qbit_gate.settings_changed(session)
    session.commit()
    return _qbit_view(session)


# -- metadata provider keys -----------------------------------------------------------------------

MetadataKey = Literal["hardcover_token", "googlebooks_key"]
METADATA_KEYS: tuple[MetadataKey, ...] = ("hardcover_token", "googlebooks_key")


class MetadataKeysIn(BaseModel):
    """The keys to store (write-only, encrypted); a key left out keeps its stored or environment value."""

    model_config = ConfigDict(extra="forbid")
    hardcover_token: SecretStr | None = Field(None, max_length=4096, description="Hardcover API token")
    googlebooks_key: SecretStr | None = Field(None, max_length=4096, description="Google Books API key")

    @field_validator("hardcover_token", "googlebooks_key")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("empty; to fall back to the environment, DELETE /settings/metadata-keys/{name}")
        return value


class KeyStateOut(BaseModel):
    set: bool
    source: Literal["stored", "environment", "unset"]


class MetadataKeysOut(BaseModel):
    """Whether each metadata provider key is set and where it comes from; never a key."""

    hardcover_token: KeyStateOut
    googlebooks_key: KeyStateOut


def _key_state(session: Session, name: MetadataKey) -> KeyStateOut:
    value, source = effective_secret(session, name)
    return KeyStateOut(set=value is not None, source="stored" if source == "stored" else
                       "environment" if source == "environment" else "unset")


def _keys_view(session: Session) -> MetadataKeysOut:
    return MetadataKeysOut(hardcover_token=_key_state(session, "hardcover_token"),
                           googlebooks_key=_key_state(session, "googlebooks_key"))


@router.get("/metadata-keys", response_model=MetadataKeysOut)
def read_metadata_keys(session: SessionDep) -> MetadataKeysOut:
    return _keys_view(session)


@router.put("/metadata-keys", response_model=MetadataKeysOut, responses=documented(422))
def write_metadata_keys(body: MetadataKeysIn, session: SessionDep) -> MetadataKeysOut:
    """Store the keys given (over MAMC_HARDCOVER_TOKEN / MAMC_GOOGLEBOOKS_KEY); the next metadata job uses them."""
    for name in METADATA_KEYS:
        value: SecretStr | None = getattr(body, name)
        if value is not None:
            put_secret(session, name, value.get_secret_value().strip())
    session.commit()
    return _keys_view(session)


@router.delete("/metadata-keys/{name}", response_model=MetadataKeysOut)
def clear_metadata_key(name: MetadataKey, session: SessionDep) -> MetadataKeysOut:
    """Forget the stored key: the environment's value (if any) applies again. Idempotent."""
    delete_secret(session, name)
    session.commit()
    return _keys_view(session)
