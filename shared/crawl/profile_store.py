"""The quality profile a person set through the API, kept in ``app_settings`` as JSON.

The search reads it with :func:`load_profile`; the API shows it with :func:`read_profile`, which
also says where it came from. A stored value that no longer validates (written by an older version
whose fields or bounds differ, or by hand) must not stop every search: it is set aside with a
warning and the defaults are used, and ``GET /api/v1/settings/quality-profile`` says so
(``source: "invalid-stored"`` and the reason) until a person saves a profile or deletes the stored
one. Writers flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.crawl.choice.profile import QualityProfile
from shared.models.crawl import AppSetting

__all__ = ["SETTING_NAME", "ProfileSource", "StoredProfile", "delete_profile", "load_profile", "read_profile",
           "save_profile"]

log = logging.getLogger(__name__)
SETTING_NAME = "quality_profile"
ProfileSource = Literal["stored", "default", "invalid-stored"]


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """The effective profile, where it came from, and why a stored one was set aside."""

    profile: QualityProfile
    source: ProfileSource
    updated_at: datetime | None  # when the stored value was written; None when nothing is stored
    invalid_reason: str | None  # only for ``invalid-stored``: what no longer validates


def _describe(exc: ValidationError) -> str:
    """``field.sub: message; ...`` without the input values (pydantic's str() repeats them)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "profile"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def read_profile(session: Session) -> StoredProfile:
    row = session.execute(
        select(AppSetting.value, AppSetting.updated_at).where(AppSetting.name == SETTING_NAME)
    ).one_or_none()
    if row is None:
        return StoredProfile(QualityProfile(), "default", None, None)
    value, updated_at = row
    try:
        return StoredProfile(QualityProfile.model_validate(value), "stored", updated_at, None)
    except ValidationError as exc:
        reason = _describe(exc)
        log.warning("the stored quality profile (app_settings %r, written %s) no longer validates, using the "
                    "defaults until one is saved again: %s", SETTING_NAME, updated_at, reason)
        return StoredProfile(QualityProfile(), "invalid-stored", updated_at, reason)


def load_profile(session: Session) -> QualityProfile:
    """The profile a search chooses under: the stored one, else the defaults (see :func:`read_profile`)."""
    return read_profile(session).profile


def save_profile(session: Session, profile: QualityProfile) -> QualityProfile:
    """Store ``profile`` (replacing any stored one) and return it as it will be read back."""
    value = profile.model_dump(mode="json")
    stmt = insert(AppSetting).values(name=SETTING_NAME, value=value, updated_at=func.now())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[AppSetting.name], set_={"value": stmt.excluded.value, "updated_at": func.now()}))
    session.flush()
    return QualityProfile.model_validate(value)


def delete_profile(session: Session) -> bool:
    """Forget the stored profile (searches use the defaults again); False when none was stored."""
    result = session.execute(delete(AppSetting).where(AppSetting.name == SETTING_NAME).returning(AppSetting.name))
    session.flush()
    return result.first() is not None
