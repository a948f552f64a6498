"""``/api/v1/wanted/{id}/search`` (start a search) and ``/api/v1/wanted/{id}/candidates`` (its answer).

The gateway records intent only: a ``crawl.search`` job (one per entry at a time: a second click
while one is queued answers with that job). The rules of who may be searched are the crawl
domain's (``shared.crawl.searches``); an id merged into another entry answers as that entry.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import get_session
from api.problems import Problem, documented
from api.schemas import JobOut
from shared.crawl import searches
from shared.crawl.jobs import CRAWL_SEARCH, search_dedupe_key
from shared.crawl.schemas import CandidateOut, CandidatesPage, SearchOut
from shared.engine import ledger
from shared.wanted.states import UnknownWanted

router = APIRouter(tags=["wanted"])
SessionDep = Annotated[Session, Depends(get_session)]


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool | None = Field(None, description="true: a dry run whatever MAMC_DRY_RUN says "
                                                   "(a search never grabs; the flag is recorded with it)")


class SearchStarted(JobOut):
    """The queued ``crawl.search`` job (``id``), and the entry it searches (after a merge: the survivor)."""

    wanted_id: int
    created: bool


@router.post("/wanted/{wanted_id}/search", status_code=202, response_model=SearchStarted,
             responses=documented(404, 409))
def start_search(wanted_id: int, session: SessionDep, body: SearchIn | None = None) -> SearchStarted:
    try:
        row = searches.searchable(session, wanted_id)
    except UnknownWanted:
        raise Problem(404, "Not wanted", f"no wanted entry {wanted_id}") from None
    except searches.NotSearchable as exc:
        raise Problem(409, "Not searchable", str(exc)) from None
    args: dict[str, object] = {"wanted_id": row.id}
    if body is not None and body.dry_run is not None:
        args["dry_run"] = body.dry_run
    created = ledger.create_job(session, CRAWL_SEARCH.name, args, dedupe_key=search_dedupe_key(row.id))
    session.commit()  # publishes after commit (shared.engine.dispatch), before the 202 leaves
    job = JobOut.of(created.job)
    return SearchStarted(**job.model_dump(), wanted_id=row.id, created=created.created)


@router.get("/wanted/{wanted_id}/candidates", response_model=CandidatesPage, responses=documented(404))
def list_candidates(wanted_id: int, session: SessionDep) -> CandidatesPage:
    """The latest search's candidates, ranked: the chosen one first, then acceptable, then rejected."""
    try:
        row, search, candidates = searches.latest(session, wanted_id)
    except UnknownWanted:
        raise Problem(404, "Not wanted", f"no wanted entry {wanted_id}") from None
    return CandidatesPage(wanted_id=row.id, state=str(row.state), search=SearchOut.of(search) if search else None,
                          items=[CandidateOut.of(c) for c in candidates])
