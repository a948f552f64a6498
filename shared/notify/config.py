"""The notification settings in force: the environment's, overridden by what a person saved.

The environment (``MAMC_NOTIFY_URLS``, ``MAMC_NOTIFY_DISABLED``, ``MAMC_NOTIFY_UNSAT_HEADROOM``,
``MAMC_NOTIFY_VIP_DAYS``, ``MAMC_NOTIFY_POINTS_NEAR``) gives the defaults; ``PUT
/api/v1/settings/notifications`` stores overrides, read on every use so a change needs no restart.

The Apprise URLs often hold tokens (a bot token in ``tgram://``, a webhook's key), so they are a
stored secret, encrypted like the ABS key, and leave this module only to the sender: what anyone
else sees is how many there are and their schemes (``tgram://…``). The switches and thresholds are
plain JSON in ``app_settings`` (row ``notifications``), one field per setting, ``null`` meaning "the
environment's value". A stored object that no longer validates is set aside (the environment's
values apply, and the API says why), like every :class:`~shared.infra.app_settings.SettingStore`.
Writers flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from shared.infra.app_settings import Read, SettingStore
from shared.infra.secret_store import delete_secret, effective_secret, put_secret
from shared.infra.settings import get_settings
from shared.notify.kinds import EventKind

SETTING_NAME = "notifications"
URLS_SECRET = "notify_urls"
MAX_URLS = 20
Origin = Literal["stored", "environment"]
UrlsSource = Literal["stored", "environment", "unset"]


class NotifyOverrides(BaseModel):
    """What a person saved; each ``null`` field takes the environment's value."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    disabled: tuple[EventKind, ...] | None = Field(
        None, max_length=len(EventKind), description="kinds switched off; null: MAMC_NOTIFY_DISABLED")
    unsat_headroom: int | None = Field(
        None, ge=0, le=10_000, description="notify when unsatisfied is within this many of the limit; "
                                           "null: MAMC_NOTIFY_UNSAT_HEADROOM")
    vip_days: float | None = Field(None, ge=0, le=365, description="notify when VIP ends within this many days; "
                                                                   "null: MAMC_NOTIFY_VIP_DAYS")
    points_near: float | None = Field(None, ge=0, le=10_000_000, description="notify at or above this many bonus "
                                                                             "points; null: MAMC_NOTIFY_POINTS_NEAR")


STORE = SettingStore(SETTING_NAME, NotifyOverrides, "notification settings")


def split_urls(raw: str) -> list[str]:
    """The URLs of one text (space, comma or newline separated), as ``MAMC_NOTIFY_URLS`` holds them."""
    return [u for u in raw.replace(",", " ").split() if u]


def masked(url: str) -> str:
    """What may be shown of a URL: its scheme only (``tgram://…``); the rest may be a token."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme.lower()}://…" if sep and scheme.isascii() and scheme.replace("+", "").isalnum() else "…"


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """The effective settings, and where each came from (the URLs are never printed)."""

    urls: tuple[str, ...] = field(repr=False)
    urls_source: UrlsSource
    disabled: frozenset[EventKind]
    unsat_headroom: int
    vip_days: float
    points_near: float
    sources: dict[str, Origin]
    stored: Read[NotifyOverrides]

    def enabled(self, kind: EventKind) -> bool:
        return bool(self.urls) and kind not in self.disabled


def _env_disabled() -> frozenset[EventKind]:
    return frozenset(EventKind(k.strip()) for k in get_settings().notify_disabled.split(",") if k.strip())


def effective(session: Session) -> NotifyConfig:
    settings = get_settings()
    read = STORE.read(session)
    o = read.value
    raw, source = effective_secret(session, URLS_SECRET)
    urls = tuple(split_urls(raw or ""))

    def origin(name: str) -> Origin:
        return "stored" if getattr(o, name) is not None else "environment"

    return NotifyConfig(
        urls=urls,
        urls_source="unset" if not urls else ("stored" if source == "stored" else "environment"),
        disabled=frozenset(o.disabled) if o.disabled is not None else _env_disabled(),
        unsat_headroom=o.unsat_headroom if o.unsat_headroom is not None else settings.notify_unsat_headroom,
        vip_days=o.vip_days if o.vip_days is not None else settings.notify_vip_days,
        points_near=o.points_near if o.points_near is not None else settings.notify_points_near,
        sources={name: origin(name) for name in ("disabled", "unsat_headroom", "vip_days", "points_near")},
        stored=read,
    )


def save(session: Session, overrides: NotifyOverrides, urls: list[str] | None) -> None:
    """Replace the stored overrides; store ``urls`` (encrypted) when given, else keep what is stored."""
    STORE.save(session, overrides)
    if urls is not None:
        put_secret(session, URLS_SECRET, "\n".join(urls))
        session.flush()


def forget_urls(session: Session) -> None:
    """Drop the stored URLs: ``MAMC_NOTIFY_URLS`` applies again (if set)."""
    delete_secret(session, URLS_SECRET)
    session.flush()


def forget(session: Session) -> None:
    """Drop everything stored: the environment's settings apply again."""
    STORE.delete(session)
    forget_urls(session)
