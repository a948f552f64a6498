"""``/api/v1/jobs``: create (202), read, list with cursors, retry, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from psycopg_pool import PoolTimeout
from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from api import cursor, enqueue
from api.deps import get_session
from api.problems import Problem, documented
from api.schemas import JobIn, JobOut, JobPage
from shared.engine import events, jobtypes, ledger
from shared.engine.routing import UnroutableJob
from shared.infra.db import session_factory
from shared.infra.settings import get_settings
from shared.models.jobs import JOB_STATES, Job

router = APIRouter(prefix="/jobs", tags=["jobs"])
SessionDep = Annotated[Session, Depends(get_session)]


@router.post("", status_code=202, response_model=JobOut, responses=documented(422))
async def create(body: JobIn, request: Request) -> Response:
    """Record the job and publish it after commit, on the event loop (api/enqueue.py says why).

    A job type with a dedupe key (a second "sync library" returns the first) takes the ledger's
    own path in the threadpool, as does every request when the app runs without its lifespan.
    """
    spec = _spec(body.type)
    resources = getattr(request.app.state, "aio", None)
    dedupe = spec.dedupe_key()
    if resources is None or dedupe is not None:
        return await run_in_threadpool(_create_in_thread, body, request)
    new = _validated(body, request, dedupe)
    try:
        row = await enqueue.insert_job(resources.pg, new, distrust=resources.recency.forget)
    except PoolTimeout:
        # Nothing was sent: the async pool had no connection to give within its timeout (it is
        # still backing off after a PostgreSQL restart, or saturated). The ledger's own path
        # connects by itself, and fails with a 503 problem if PostgreSQL really is down.
        return await run_in_threadpool(_create_in_thread, body, request)
    if row is None:  # a conflicting row (only a dedupe or schedule key can conflict): the ledger decides
        return await run_in_threadpool(_create_in_thread, body, request)
    if new.dispatch is not None:
        await enqueue.publish(resources.redis, new.dispatch)
    events.emit(events.job_event(row.id, "queued", row.type, row.queue))
    return _accepted(row)


def _spec(job_type: str) -> jobtypes.JobType[Any]:
    try:
        spec = jobtypes.get(job_type)
    except KeyError as exc:
        raise Problem(422, "Unknown job type", str(exc.args[0])) from None
    if not spec.api:
        raise Problem(422, "Job type not accepted", f"{job_type} is internal and cannot be created by the API")
    return spec


@contextmanager
def _argument_problems(job_type: str) -> Iterator[None]:
    """Turn argument validation and routing errors into 422 problems."""
    try:
        yield
    except ValidationError as exc:
        errors = [{"loc": ["args", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise Problem(422, "Invalid job arguments", f"args do not match {job_type}'s schema",
                      errors=errors) from None
    except UnroutableJob as exc:
        raise Problem(422, "Unroutable job", str(exc)) from None


def _validated(body: JobIn, request: Request, dedupe: str | None) -> ledger.NewJob:
    with _argument_problems(body.type):
        return ledger.new_job(body.type, body.args, correlation_id=getattr(request.state, "request_id", None),
                              dedupe_key=dedupe, max_countdown=get_settings().max_countdown)


def _accepted(job: Any) -> Response:
    out = JobOut.of(job).model_dump(mode="json")
    return Response(orjson.dumps(out), status_code=202, media_type="application/json")


def _create_in_thread(body: JobIn, request: Request) -> Response:
    spec = _spec(body.type)
    with session_factory()() as session, _argument_problems(body.type):
        created = ledger.create_job(session, body.type, body.args,
                                    correlation_id=getattr(request.state, "request_id", None),
                                    dedupe_key=spec.dedupe_key(), max_countdown=get_settings().max_countdown)
        response = _accepted(created.job)
        session.commit()  # publishes after commit (shared.engine.dispatch), before the 202 leaves
    return response


def _load(session: Session, job_id: uuid.UUID, *, attempts: bool = False) -> Job:
    stmt = select(Job).where(Job.id == job_id)
    if attempts:
        stmt = stmt.options(selectinload(Job.attempt_rows))
    job = session.scalar(stmt)
    if job is None:
        raise Problem(404, "Job not found", f"no job {job_id}")
    return job


@router.get("/{job_id}", response_model=JobOut, responses=documented(404))
def read(job_id: uuid.UUID, session: SessionDep) -> JobOut:
    return JobOut.of(_load(session, job_id, attempts=True), with_attempts=True)


@router.get("", response_model=JobPage, responses=documented(400, 422))
def list_jobs(
    session: SessionDep,
    state: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> JobPage:
    stmt = select(Job)
    if state is not None:
        if state not in JOB_STATES:
            raise Problem(422, "Invalid state", f"state must be one of {', '.join(JOB_STATES)}")
        stmt = stmt.where(Job.state == state)
    if type is not None:
        stmt = stmt.where(Job.type == type)
    if cursor_:
        created_raw, id_raw = cursor.decode(cursor_, 2)
        try:
            created_at, last_id = datetime.fromisoformat(str(created_raw)), uuid.UUID(str(id_raw))
        except ValueError:
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned") from None
        stmt = stmt.where(or_(Job.created_at < created_at, and_(Job.created_at == created_at, Job.id < last_id)))
    rows = session.scalars(stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)).all()
    items = [JobOut.of(j) for j in rows[:limit]]
    nxt = cursor.encode(rows[limit - 1].created_at.isoformat(), str(rows[limit - 1].id)) if len(rows) > limit else None
    return JobPage(items=items, next_cursor=nxt)


@router.post("/{job_id}/retry", response_model=JobOut, responses=documented(404, 409))
def retry(job_id: uuid.UUID, session: SessionDep) -> JobOut:
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None:
        raise Problem(404, "Job not found", f"no job {job_id}")
    try:
        ledger.replay(session, job)
    except ledger.TransitionRefused as exc:
        raise Problem(409, "Cannot retry", str(exc)) from None
    out = JobOut.of(job)
    session.commit()
    return out


@router.post("/{job_id}/cancel", response_model=JobOut, responses=documented(404, 409))
def cancel(job_id: uuid.UUID, session: SessionDep) -> JobOut:
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None:
        raise Problem(404, "Job not found", f"no job {job_id}")
    try:
        ledger.cancel(session, job)
    except ledger.TransitionRefused as exc:
        raise Problem(409, "Cannot cancel", str(exc)) from None
    out = JobOut.of(job)
    session.commit()
    return out
