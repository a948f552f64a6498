"""What a search looks like to readers (``GET /api/v1/wanted/{id}/candidates``): typed, from the rows.

A candidate's ``item`` column holds ``Candidate.as_dict()`` as judged; these models are its
published shape, so a UI can generate a typed client from the OpenAPI document.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from shared.models.crawl import MamCandidate, MamSearch
from shared.wanted.schemas import IsoDatetime


class RejectionOut(BaseModel):
    code: str
    reason: str


class CostOut(BaseModel):
    """What a grab would cost this member: ``free`` (why), ``wedge`` or ``ratio`` (bytes counted)."""

    kind: str
    reason: str
    ratio_bytes: int = 0
    wedges: int = 0
    ratio_after: float | None = None
    affordable: bool | None = None


class CandidateOut(BaseModel):
    """One row as judged; ``chosen`` is true for at most one; ``rejections`` say why a row is out."""

    rank: int
    torrent_id: int
    title: str
    chosen: bool
    acceptable: bool
    score: float
    breakdown: dict[str, float]
    components: dict[str, float]
    match: dict[str, Any]
    cost: CostOut
    rejections: list[RejectionOut]
    authors: list[str]
    narrators: list[str]
    format: str | None
    bitrate_kbps: int | None
    size_bytes: int | None
    seeders: int
    warnings: list[str]

    @classmethod
    def of(cls, row: MamCandidate) -> CandidateOut:
        return cls.model_validate({**row.item, "rank": row.rank})


class SearchOut(BaseModel):
    id: int
    job_id: uuid.UUID | None
    finished_at: IsoDatetime | None
    outcome: str
    chosen_torrent_id: int | None
    confident: bool
    dry_run: bool
    summary: str
    rejection_counts: dict[str, int]
    queries: list[dict[str, Any]]
    target: dict[str, Any]
    account_class: str | None

    @classmethod
    def of(cls, s: MamSearch) -> SearchOut:
        return cls(id=s.id, job_id=s.job_id, finished_at=s.finished_at, outcome=s.outcome,
                   chosen_torrent_id=s.chosen_torrent_id, confident=s.confident, dry_run=s.dry_run,
                   summary=s.summary, rejection_counts=s.rejection_counts, queries=s.queries, target=s.target,
                   account_class=s.account_class)


class CandidatesPage(BaseModel):
    """The latest search of the entry (``search`` null: never searched) and its candidates, ranked."""

    wanted_id: int
    state: str
    search: SearchOut | None
    items: list[CandidateOut]
