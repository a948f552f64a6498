"""``/api/v1/settings/*``: credentials set from the API, write-only and encrypted at rest.

A GET says whether a secret is set and where it comes from (stored or environment); no route
ever returns a secret's value.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.orm import Session

from api.deps import get_session
from shared.secret_store import delete_secret, effective_secret, put_secret
from shared.settings import get_settings

router = APIRouter(prefix="/settings", tags=["settings"])
SessionDep = Annotated[Session, Depends(get_session)]


class AbsSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr = Field(description="Audiobookshelf API key (write-only)")


def _abs_view(session: Session) -> dict[str, Any]:
    value, source = effective_secret(session, "abs_token")
    return {"url": get_settings().abs_url, "token_set": value is not None, "token_source": source}


@router.get("/abs")
def read_abs(session: SessionDep) -> dict[str, Any]:
    return _abs_view(session)


@router.put("/abs")
def write_abs(body: AbsSettingsIn, session: SessionDep) -> dict[str, Any]:
    put_secret(session, "abs_token", body.token.get_secret_value())
    session.commit()
    return _abs_view(session)


@router.delete("/abs/token")
def clear_abs_token(session: SessionDep) -> dict[str, Any]:
    delete_secret(session, "abs_token")
    session.commit()
    return _abs_view(session)
