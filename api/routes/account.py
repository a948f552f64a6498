"""``/api/v1/account``: the MAM account's standing, its history, and the write-only session cookie.

The gateway never calls MAM: ``GET`` shows the latest snapshot the crawl pool stored (an
``account.refresh`` job, on beat or ``POST /api/v1/jobs``), and ``PUT /session`` stores a cookie and
releases the MAM jobs that were waiting for one. Rules live in ``shared.crawl``; the routes validate,
call, commit and shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.problems import Problem, documented
from shared.crawl import account
from shared.crawl import session as mam_session
from shared.models.crawl import MamAccountSnapshot

router = APIRouter(prefix="/account", tags=["account"])
SessionDep = Annotated[Session, Depends(get_session)]


class SnapshotOut(BaseModel):
    """One reading of the account (``jsonLoad.php?snatch_summary``); null where MAM did not say."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    fetched_at: datetime
    classname: str | None
    ratio: float | None
    uploaded_bytes: int | None
    downloaded_bytes: int | None
    seedbonus: float | None = Field(description="bonus points")
    bonus_per_hour: float | None
    wedges: int | None
    vip_until: datetime | None
    unsat_count: int | None = Field(description="unsatisfied torrents (seeded < 72 h within 30 days)")
    unsat_limit: int | None
    satisfied: int | None
    seeding: int | None
    leeching: int | None


class AccountOut(BaseModel):
    """The latest snapshot (null before the first refresh), its shorthand line, and the session."""

    snapshot: SnapshotOut | None
    shorthand: str = Field(description="Up X | Dn X | Ratio | Class | BP/hr | Sat | Unsat | Leech; ? = unknown")
    session: Literal["valid", "invalid", "unset"]
    session_source: Literal["stored", "environment", "unset"]
    session_reason: str | None = Field(description="why MAM refused the cookie, when invalid")
    session_changed_at: datetime | None


class HistoryPage(BaseModel):
    items: list[SnapshotOut]
    next_cursor: str | None


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mam_id: SecretStr = Field(min_length=1, max_length=4096, description="MAM session cookie (write-only)")


def _snapshot(row: MamAccountSnapshot | None) -> SnapshotOut | None:
    return SnapshotOut.model_validate(row) if row is not None else None


@router.get("", response_model=AccountOut)
def read_account(session: SessionDep) -> AccountOut:
    row = account.latest(session)
    state = mam_session.view(session)
    source: Literal["stored", "environment", "unset"] = (
        "stored" if state.source == "stored" else "environment" if state.source == "environment" else "unset")
    return AccountOut(snapshot=_snapshot(row), shorthand=account.shorthand(row), session=state.state,
                      session_source=source, session_reason=state.reason, session_changed_at=state.changed_at)


@router.get("/history", response_model=HistoryPage, responses=documented(400))
def read_history(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> HistoryPage:
    """Newest first; ``next_cursor`` continues after the last item."""
    before = None
    if cursor_:
        when, last = cursor.decode(cursor_, 2)
        try:
            before = (datetime.fromisoformat(str(when)), int(last))
        except (TypeError, ValueError):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned") from None
    page = account.history(session, limit=limit, before=before)
    return HistoryPage(items=[SnapshotOut.model_validate(r) for r in page.items],
                       next_cursor=cursor.encode(*page.last_key()) if page.more else None)


@router.put("/session", status_code=204, responses=documented(422))
def put_session(body: SessionIn, session: SessionDep) -> Response:
    """Store a new MAM cookie (encrypted); the session becomes valid, its alert is resolved and MAM
    jobs waiting for a cookie run again. The value is never returned."""
    value = body.mam_id.get_secret_value().strip()
    if not value or any(c in value for c in ";\r\n "):
        raise Problem(422, "Invalid cookie", "mam_id must be the bare cookie value (no spaces, ';' or newlines)")
    mam_session.enter_cookie(session, value)
    session.commit()
    return Response(status_code=204)
