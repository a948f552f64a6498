"""``/api/v1/settings/quality-profile``: the profile every search chooses under, edited by a person.

The body of ``PUT`` is the whole profile (:class:`shared.crawl.choice.QualityProfile`): unknown
fields are refused, a field left out takes its default, and every bound and cross-field rule is a
``422`` problem whose ``errors[].loc`` names the field. ``GET`` shows the effective profile and
where it came from, so a stored profile that an upgrade made invalid (searches then use the
defaults) is visible instead of silently ignored. Storage rules live in
:mod:`shared.crawl.profile_store`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import get_session
from api.problems import documented
from shared.crawl import profile_store
from shared.crawl.choice import QualityProfile

router = APIRouter(prefix="/settings", tags=["settings"])
SessionDep = Annotated[Session, Depends(get_session)]


class QualityProfileOut(BaseModel):
    """The effective profile (what a search would use now) and where it came from."""

    profile: QualityProfile
    source: profile_store.ProfileSource = Field(
        description="stored: saved through this API; default: nothing saved; invalid-stored: a saved profile "
                    "no longer validates and the defaults are used (see invalid_reason)")
    updated_at: datetime | None = Field(description="when the stored profile was saved; null when none is")
    invalid_reason: str | None = Field(description="why the stored profile was set aside (invalid-stored only)")


def _view(session: Session) -> QualityProfileOut:
    stored = profile_store.read_profile(session)
    return QualityProfileOut(profile=stored.profile, source=stored.source, updated_at=stored.updated_at,
                             invalid_reason=stored.invalid_reason)


@router.get("/quality-profile", response_model=QualityProfileOut)
def read_quality_profile(session: SessionDep) -> QualityProfileOut:
    return _view(session)


@router.put("/quality-profile", response_model=QualityProfileOut, responses=documented(422))
def write_quality_profile(body: QualityProfile, session: SessionDep) -> QualityProfileOut:
    """Replace the profile (no merge: a field left out takes its default); searches use it from now on."""
    profile_store.save_profile(session, body)
    session.commit()
    return _view(session)


@router.delete("/quality-profile", status_code=204)
def reset_quality_profile(session: SessionDep) -> Response:
    """Forget the stored profile, valid or not: searches use the defaults again. Idempotent."""
    profile_store.delete_profile(session)
    session.commit()
    return Response(status_code=204)
