"""Where the quality profile is kept: ``app_settings['quality_profile']``, else the defaults."""

from __future__ import annotations

import logging

from pydantic import ValidationError
from sqlalchemy.orm import Session

from shared.crawl.choice import QualityProfile
from shared.models.crawl import AppSetting

log = logging.getLogger(__name__)
SETTING = "quality_profile"


def load_profile(session: Session) -> QualityProfile:
    row = session.get(AppSetting, SETTING)
    if row is None:
        return QualityProfile()
    try:
        return QualityProfile.model_validate(row.value)
    except ValidationError as exc:
        log.warning("the stored quality profile no longer validates (%s); using the defaults", exc)
        return QualityProfile()
