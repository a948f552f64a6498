"""``/api/v1/settings/notifications``: where notifications go, which are on, and their thresholds.

The environment's ``MAMC_NOTIFY_*`` are the defaults; a ``PUT`` stores overrides (the whole object:
a field left out or ``null`` takes the environment's value again) and, when given, the Apprise URLs,
encrypted and write-only: no answer holds them, only how many there are and their schemes
(``tgram://…``). ``POST .../test`` queues a test notification (``notify.send``, kind ``test``) and
answers with its job. Rules live in :mod:`shared.notify.config`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from sqlalchemy.orm import Session

from api.deps import get_session
from api.problems import Problem, documented
from api.schemas import JobOut
from shared.engine import ledger
from shared.infra.app_settings import Source
from shared.notify import config
from shared.notify.jobs import NOTIFY_SEND, TEST_KIND
from shared.notify.kinds import EventKind

router = APIRouter(prefix="/settings", tags=["settings"])
SessionDep = Annotated[Session, Depends(get_session)]


class NotificationSettingsIn(config.NotifyOverrides):
    """The overrides (each null: the environment's value) and, optionally, the URLs (write-only)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    urls: list[SecretStr] | None = Field(
        None, max_length=config.MAX_URLS,
        description="Apprise URLs (write-only, stored encrypted), replacing the stored ones. Left out: the stored "
                    "URLs, or MAMC_NOTIFY_URLS, stay; DELETE /settings/notifications/urls forgets them")

    @field_validator("urls")
    @classmethod
    def _usable(cls, value: list[SecretStr] | None) -> list[SecretStr] | None:
        if value is None:
            return None
        urls = [u.get_secret_value().strip() for u in value]
        if not urls or any(not u or any(c.isspace() or c == "," for c in u) for u in urls):
            raise ValueError("give one or more Apprise URLs, each without spaces or commas; to stop sending, "
                             "DELETE /settings/notifications/urls")
        from shared.notify.apprise_urls import unusable  # Apprise's import is heavy: only when a URL is checked

        bad = unusable(urls)
        if bad:
            raise ValueError(f"Apprise does not understand URL number {', '.join(str(i + 1) for i in bad)} "
                             "(e.g. tgram://BOT_TOKEN/CHAT_ID, ntfy://TOPIC, json://HOST/PATH)")
        return [SecretStr(u) for u in urls]

    def overrides(self) -> config.NotifyOverrides:
        return config.NotifyOverrides.model_validate(self.model_dump(exclude={"urls"}))


class UrlsOut(BaseModel):
    count: int
    schemes: list[str] = Field(description="each URL's scheme only (tgram://…): the rest may hold a token")
    source: config.UrlsSource


class NotificationSettingsOut(BaseModel):
    """The settings in force and where each comes from; never a URL."""

    urls: UrlsOut
    kinds: list[EventKind] = Field(description="every kind that can be switched off")
    disabled: list[EventKind]
    unsat_headroom: int
    vip_days: float
    points_near: float
    sources: dict[str, config.Origin] = Field(description="stored (PUT) or environment (MAMC_NOTIFY_*), per field")
    source: Source = Field(description="of the stored overrides: stored, default (none saved) or invalid-stored")
    updated_at: datetime | None
    invalid_reason: str | None


def _view(session: Session) -> NotificationSettingsOut:
    c = config.effective(session)
    return NotificationSettingsOut(
        urls=UrlsOut(count=len(c.urls), schemes=[config.masked(u) for u in c.urls], source=c.urls_source),
        kinds=list(EventKind), disabled=sorted(c.disabled), unsat_headroom=c.unsat_headroom, vip_days=c.vip_days,
        points_near=c.points_near, sources=c.sources, source=c.stored.source, updated_at=c.stored.updated_at,
        invalid_reason=c.stored.invalid_reason)


@router.get("/notifications", response_model=NotificationSettingsOut)
def read_notifications(session: SessionDep) -> NotificationSettingsOut:
    return _view(session)


@router.put("/notifications", response_model=NotificationSettingsOut, responses=documented(422))
def write_notifications(body: NotificationSettingsIn, session: SessionDep) -> NotificationSettingsOut:
    """Replace the overrides (no merge) and, when given, the URLs; the next event uses them."""
    urls = [u.get_secret_value() for u in body.urls] if body.urls is not None else None
    config.save(session, body.overrides(), urls)
    session.commit()
    return _view(session)


@router.delete("/notifications", response_model=NotificationSettingsOut)
def reset_notifications(session: SessionDep) -> NotificationSettingsOut:
    """Forget everything stored, URLs included: the environment's MAMC_NOTIFY_* apply again. Idempotent."""
    config.forget(session)
    session.commit()
    return _view(session)


@router.delete("/notifications/urls", response_model=NotificationSettingsOut)
def clear_notification_urls(session: SessionDep) -> NotificationSettingsOut:
    """Forget the stored URLs: MAMC_NOTIFY_URLS applies again (nothing is sent when it is unset)."""
    config.forget_urls(session)
    session.commit()
    return _view(session)


@router.post("/notifications/test", status_code=202, response_model=JobOut, responses=documented(409))
def send_test_notification(session: SessionDep) -> JobOut:
    """Queue a test notification to every URL (switches ignored); its job's result says whether it arrived."""
    if not config.effective(session).urls:
        raise Problem(409, "No notification URL", "set one first (PUT /api/v1/settings/notifications or "
                                                  "MAMC_NOTIFY_URLS)")
    created = ledger.create_job(session, NOTIFY_SEND.name, {
        "kind": TEST_KIND, "title": "MAMcrawler: test notification",
        "body": "If you can read this, MAMcrawler's notifications reach you."}, dedupe_key="notify:test")
    session.commit()  # publishes after commit (shared.engine.dispatch), before the 202 leaves
    return JobOut.of(created.job)
