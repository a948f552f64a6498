"""``/api/v1/alerts``: what an operator must act on (the MAM session refused, ...), open or resolved.

Alerts are raised and resolved by the workers and the API through :mod:`shared.infra.alerts`; this
route only reads them. Messages are stored already redacted, so they are shown as is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.problems import Problem, documented
from shared.infra import alerts

router = APIRouter(prefix="/alerts", tags=["alerts"])
SessionDep = Annotated[Session, Depends(get_session)]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(description="what is wrong, e.g. mam_session_invalid; at most one open alert per kind")
    message: str = Field(description="what happened and what to do, for a person")
    created_at: datetime = Field(description="when it was raised")
    resolved_at: datetime | None = Field(description="when it was resolved; null while open")


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


@router.get("", response_model=AlertPage, responses=documented(400))
def list_alerts(
    session: SessionDep,
    state: Annotated[alerts.AlertState, Query(description="open (default), resolved or all")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> AlertPage:
    """Newest raised first; ``next_cursor`` continues after the last item."""
    before = None
    if cursor_:
        when, last = cursor.decode(cursor_, 2)
        try:
            before = (datetime.fromisoformat(str(when)), int(last))
        except (TypeError, ValueError):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned") from None
    page = alerts.list_alerts(session, state=state, limit=limit, before=before)
    return AlertPage(items=[AlertOut.model_validate(a) for a in page.items],
                     next_cursor=cursor.encode(*page.last_key()) if page.more else None)
