"""``/api/v1/settings/*``: credentials set from the API, write-only and encrypted at rest.

A GET says whether a secret is set and where it comes from (stored or environment); no route
ever returns a secret's value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.orm import Session

from api.deps import get_session
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
