"""Response and request bodies of the jobs and pools API, and the pieces every area shares:
list pages and datetimes written the way Python writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from shared.models.jobs import JobAttempt

T = TypeVar("T")


def _isoformat(value: datetime) -> str:
    return value.isoformat()


# ``datetime.isoformat()`` ("...+00:00"), not pydantic's "...Z": the library and metadata routes
# wrote their times this way before they had models, and clients already parse them.
IsoDatetime = Annotated[datetime, PlainSerializer(_isoformat, return_type=str, when_used="json"),
                        WithJsonSchema({"type": "string", "format": "date-time"})]


class Page(BaseModel, Generic[T]):
    """A page of a keyset-paged list: pass ``next_cursor`` back as ``cursor``; null on the last page."""

    items: list[T]
    next_cursor: str | None


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


class AttemptOut(BaseModel):
    number: int
    generation: int
    worker: str
    host: str
    pid: int
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    error: str | None

    @classmethod
    def of(cls, a: JobAttempt) -> AttemptOut:
        return cls(number=a.number, generation=a.generation, worker=a.worker, host=a.host, pid=a.pid,
                   started_at=a.started_at, ended_at=a.ended_at, outcome=a.outcome, error=a.error)


class Progress(BaseModel):
    done: int
    total: int | None


class JobOut(BaseModel):
    id: uuid.UUID
    type: str
    queue: str
    state: str
    args: dict[str, Any]
    generation: int
    attempts: int
    rate_limit_waits: int
    result: Any | None
    error: str | None
    correlation_id: str
    parent_id: uuid.UUID | None
    children_pending: int
    progress: Progress
    not_before: datetime | None
    parked_on: str | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempt_log: list[AttemptOut] | None = None

    @classmethod
    def of(cls, job: Any, *, with_attempts: bool = False) -> JobOut:
        """From an ORM ``Job`` or a Core row of the jobs table (same attribute names)."""
        return cls(
            id=job.id, type=job.type, queue=job.queue, state=job.state, args=job.args,
            generation=job.generation, attempts=job.attempts, rate_limit_waits=job.rate_limit_waits,
            result=job.result, error=job.error, correlation_id=job.correlation_id, parent_id=job.parent_id,
            children_pending=job.children_pending,
            progress=Progress(done=job.progress_done, total=job.progress_total),
            not_before=job.not_before, parked_on=getattr(job, "parked_on", None), created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            attempt_log=[AttemptOut.of(a) for a in job.attempt_rows] if with_attempts else None,
        )


class JobPage(Page[JobOut]):
    pass


class WorkerOut(BaseModel):
    name: str
    host: str
    pid: int
    concurrency: int
    consuming: bool
    seen_seconds_ago: float


class OldestJob(BaseModel):
    id: uuid.UUID
    type: str
    waiting_seconds: float


class PoolOut(BaseModel):
    pool: str
    paused: bool
    live_consumers: int
    workers: list[WorkerOut]
    backlog: int
    oldest_message_age_seconds: float | None
    oldest_waiting_job: OldestJob | None
