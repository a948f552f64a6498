"""``/api/v1/apikeys``: create, list and revoke API keys (the UI's settings page, or a script).

A created key is in the creation answer and nowhere else, ever: only its SHA-256 hash is stored,
and the list shows the name and the first characters (``prefix``) that identify it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import auth
from api.deps import get_session
from api.problems import Problem, documented
from shared.infra import apikeys
from shared.models.jobs import ApiKey

router = APIRouter(prefix="/apikeys", tags=["apikeys"])
SessionDep = Annotated[Session, Depends(get_session)]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._@-]*$")


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it; never the key")
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself: shown in this answer only, it cannot be read back")


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=documented(409))
def create(body: ApiKeyIn, session: SessionDep) -> ApiKeyCreated:
    if session.scalar(select(ApiKey.id).where(ApiKey.name == body.name)) is not None:
        raise Problem(409, "Name taken", f"an API key named {body.name!r} already exists")
    key = apikeys.create_api_key(session, body.name)
    row = session.scalar(select(ApiKey).where(ApiKey.name == body.name))
    assert row is not None
    return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(row).model_dump(), "key": key})


@router.get("", response_model=list[ApiKeyOut])
def list_keys(session: SessionDep) -> list[ApiKeyOut]:
    """Every key, revoked ones too, oldest first."""
    return [ApiKeyOut.model_validate(k) for k in apikeys.list_api_keys(session)]


@router.delete("/{key_id}", status_code=204, responses=documented(404))
def revoke(key_id: int, session: SessionDep) -> Response:
    """Revoke a key (a revoked key stays listed). Other gateway processes stop accepting it within 10 s."""
    if not apikeys.revoke_api_key_id(session, key_id):
        raise Problem(404, "API key not found", f"no API key with id {key_id}")
    auth.forget_cached_keys()
    return Response(status_code=204)
