"""The quality profile a person set through the API, kept in ``app_settings`` as JSON.

The search reads it with :func:`load_profile`; the API shows it with :func:`read_profile`, which
also says where it came from. A stored value that no longer validates (written by an older version
whose fields or bounds differ, or by hand) must not stop every search: it is set aside with a
warning and the defaults are used, and ``GET /api/v1/settings/quality-profile`` says so
(``source: "invalid-stored"`` and the reason) until a person saves a profile or deletes the stored
one. Writers flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shared.crawl.choice.profile import QualityProfile
from shared.infra.app_settings import SettingStore, Source

__all__ = ["SETTING_NAME", "ProfileSource", "StoredProfile", "delete_profile", "load_profile", "read_profile",
           "save_profile"]

SETTING_NAME = "quality_profile"
ProfileSource = Source
STORE = SettingStore(SETTING_NAME, QualityProfile, "quality profile")


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """The effective profile, where it came from, and why a stored one was set aside."""

    profile: QualityProfile
    source: ProfileSource
    updated_at: datetime | None  # when the stored value was written; None when nothing is stored
    invalid_reason: str | None  # only for ``invalid-stored``: what no longer validates


def read_profile(session: Session) -> StoredProfile:
    read = STORE.read(session)
    return StoredProfile(read.value, read.source, read.updated_at, read.invalid_reason)


def load_profile(session: Session) -> QualityProfile:
    """The profile in force: the stored one, else the defaults (see :func:`read_profile`)."""
    return STORE.load(session)


def save_profile(session: Session, profile: QualityProfile) -> QualityProfile:
    """Store ``profile`` (replacing any stored one) and return it as it will be read back."""
    return STORE.save(session, profile)


def delete_profile(session: Session) -> bool:
    """Forget the stored profile (the defaults apply again); False when none was stored."""
    return STORE.delete(session)
