"""``/api/v1/downloads``: grab a candidate (a ``download.grab`` job), and read what was grabbed.

The gateway validates the pick with the download domain's rules (``shared.download.grabs.pick``:
a candidate of the entry's latest search, not rejected for a reason a person cannot override) and
records the job; the governor's decision, the MAM request and qBittorrent happen in the pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.problems import Problem, documented
from api.schemas import JobOut
from shared.download import grabs, queries, removal
from shared.download.jobs import DOWNLOAD_GRAB, grab_dedupe_key
from shared.download.schemas import DownloadDecisions, DownloadOut
from shared.download.states import DownloadState, ObligationState
from shared.engine import ledger
from shared.wanted.states import UnknownWanted

router = APIRouter(tags=["downloads"])
SessionDep = Annotated[Session, Depends(get_session)]


class GrabIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wanted_id: int = Field(ge=1)
    torrent_id: int = Field(ge=1)
    override: bool = Field(False, description="grab a candidate the search rejected for a soft reason "
                                              "(never: VIP-only, already snatched or owned, no seeders)")
    dry_run: bool | None = Field(None, description="true: record the whole decision, add nothing")


class GrabStarted(JobOut):
    wanted_id: int
    created: bool


@router.post("/downloads", status_code=202, response_model=GrabStarted, responses=documented(404, 409))
def grab(body: GrabIn, session: SessionDep) -> GrabStarted:
    try:
        picked = grabs.pick(session, body.wanted_id, body.torrent_id, override=body.override)
    except UnknownWanted:
        raise Problem(404, "Not wanted", f"no wanted entry {body.wanted_id}") from None
    except grabs.NotGrabbable as exc:
        raise Problem(409, "Not grabbable", str(exc)) from None
    args: dict[str, object] = {"wanted_id": picked.wanted_id, "torrent_id": picked.torrent_id}
    if body.dry_run is not None:
        args["dry_run"] = body.dry_run
    created = ledger.create_job(session, DOWNLOAD_GRAB.name, args, dedupe_key=grab_dedupe_key(picked.torrent_id))
    session.commit()
    return GrabStarted(**JobOut.of(created.job).model_dump(), wanted_id=picked.wanted_id, created=created.created)


#: ``GET /downloads?id=…``: one page of live events' worth of rows (a URL stays well under 8 kB).
MAX_IDS = 100


class DownloadPage(BaseModel):
    items: list[DownloadOut]
    next_cursor: str | None


@router.get("/downloads", response_model=DownloadPage, responses=documented(400))
def list_downloads(
    session: SessionDep,
    state: Annotated[DownloadState | None, Query()] = None,
    wanted_id: Annotated[int | None, Query(ge=1)] = None,
    obligation: Annotated[ObligationState | None, Query()] = None,
    ids: Annotated[list[int] | None, Query(alias="id", max_length=MAX_IDS,
                                           description=f"only these downloads (repeat: ?id=3&id=7; at most {MAX_IDS})")
                   ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> DownloadPage:
    """Newest first; ``next_cursor`` continues after the last item. ``id`` reads named downloads in
    one request (the Downloads page reads again, at once, every row a cycle's live events named)."""
    after = None
    if cursor_:
        (last,) = cursor.decode(cursor_, 1)
        if not isinstance(last, int):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
        after = last
    where = queries.DownloadFilter(state=state.value if state else None, wanted_id=wanted_id,
                                   obligation=obligation.value if obligation else None, ids=tuple(ids or ()))
    page = queries.list_downloads(session, where, limit=limit, after=after)
    return DownloadPage(items=page.items, next_cursor=cursor.encode(page.last_id()) if page.more else None)


@router.get("/downloads/{download_id}", response_model=DownloadOut, responses=documented(404))
def read_download(download_id: int, session: SessionDep) -> DownloadOut:
    found = queries.get_download(session, download_id)
    if found is None:
        raise Problem(404, "No such download", f"no download {download_id}")
    return found


@router.get("/downloads/{download_id}/decisions", response_model=DownloadDecisions, responses=documented(404))
def read_download_decisions(download_id: int, session: SessionDep) -> DownloadDecisions:
    """Why it was grabbed and what it cost: the governor's decisions about it, and its spends."""
    found = queries.decision_record(session, download_id)
    if found is None:
        raise Problem(404, "No such download", f"no download {download_id}")
    return found


class RemoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500, description="why (kept with the decision)")


class RemoveQueued(BaseModel):
    download_id: int
    job_id: str
    reason: str


@router.post("/downloads/{download_id}/remove", status_code=202, response_model=RemoveQueued,
             responses=documented(404, 409))
def remove_download(download_id: int, body: RemoveIn, session: SessionDep) -> RemoveQueued:
    """Remove the torrent from qBittorrent (its files stay): refused (409, with the reason) while it
    still owes seeding; the request and the verdict are recorded either way."""
    outcome = removal.request(session, download_id, body.reason)
    session.commit()
    if outcome is None:
        raise Problem(404, "No such download", f"no download {download_id}")
    said, job_id = outcome
    if job_id is None:
        raise Problem(409, "Still seeding", said.reason)
    return RemoveQueued(download_id=download_id, job_id=str(job_id), reason=said.reason)
