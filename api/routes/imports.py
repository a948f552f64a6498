"""``/api/v1/imports``: what each completed download became in the library, and how to run it again.

An import is an ``import.abs`` job on the library-sync pool (``shared/imports/``); these routes read
its record (verdict, reason, the files with their ffprobe figures, the folder, how it was placed,
the ABS item, timings) and queue a retry. The gateway never touches files or ABS itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.problems import Problem, documented
from api.schemas import JobOut
from shared.imports import queries, records
from shared.imports.queueing import NotImportable, queue_import, retry_import
from shared.imports.schemas import ImportOut

router = APIRouter(tags=["imports"])
SessionDep = Annotated[Session, Depends(get_session)]
VerdictFilter = Literal["imported", "rejected", "already_owned", "failed", "running"]


class ImportPage(BaseModel):
    items: list[ImportOut]
    next_cursor: str | None


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    download_id: int = Field(ge=1, description="a completed download of a wanted entry, not imported yet")


class ImportStarted(JobOut):
    download_id: int
    created: bool


class RetryStarted(JobOut):
    import_id: int
    download_id: int
    created: bool


@router.get("/imports", response_model=ImportPage, responses=documented(400))
def list_imports(
    session: SessionDep,
    verdict: Annotated[VerdictFilter | None, Query(description="a verdict, or running (no verdict yet)")] = None,
    wanted_id: Annotated[int | None, Query(ge=1)] = None,
    download_id: Annotated[int | None, Query(ge=1)] = None,
    torrent_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> ImportPage:
    """Newest first; ``next_cursor`` continues after the last item."""
    after = None
    if cursor_:
        (last,) = cursor.decode(cursor_, 1)
        if not isinstance(last, int):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
        after = last
    where = queries.ImportFilter(verdict=verdict, wanted_id=wanted_id, download_id=download_id,
                                 torrent_id=torrent_id)
    page = queries.list_imports(session, where, limit=limit, after=after)
    return ImportPage(items=page.items, next_cursor=cursor.encode(page.last_id()) if page.more else None)


@router.get("/imports/{import_id}", response_model=ImportOut, responses=documented(404))
def read_import(import_id: int, session: SessionDep) -> ImportOut:
    found = queries.get_import(session, import_id)
    if found is None:
        raise Problem(404, "No such import", f"no import {import_id}")
    return found


@router.post("/imports", status_code=202, response_model=ImportStarted, responses=documented(404, 409))
def start_import(body: ImportIn, session: SessionDep) -> ImportStarted:
    """Import a completed download the monitor did not queue (one that completed before imports existed)."""
    try:
        created = queue_import(session, body.download_id)
    except records.UnknownDownload:
        raise Problem(404, "No such download", f"no download {body.download_id}") from None
    except NotImportable as exc:
        raise Problem(409, "Not importable", str(exc)) from None
    session.commit()
    return ImportStarted(**JobOut.of(created.job).model_dump(), download_id=body.download_id,
                         created=created.created)


@router.post("/imports/{import_id}/retry", status_code=202, response_model=RetryStarted,
             responses=documented(404, 409))
def retry(import_id: int, session: SessionDep) -> RetryStarted:
    """Run a rejected or failed import again: a rejected one is verified afresh, a failed one
    continues from the step it reached (its files stay placed)."""
    try:
        row, created = retry_import(session, import_id)
    except records.UnknownImport:
        raise Problem(404, "No such import", f"no import {import_id}") from None
    except records.NotRetryable as exc:
        raise Problem(409, "Not retryable", str(exc)) from None
    download_id = row.download_id
    session.commit()
    return RetryStarted(**JobOut.of(created.job).model_dump(), import_id=import_id, download_id=download_id,
                        created=created.created)
