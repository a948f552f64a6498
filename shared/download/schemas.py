"""What a download looks like to readers (``GET /api/v1/downloads``): state, progress, the obligation,
its import's verdict; and the governor's decisions and spends (``GET /api/v1/account/governor``,
``GET /api/v1/downloads/{id}/decisions``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.imports.schemas import ImportBrief
from shared.models.download import Download, GovernorDecision, Obligation, Spend
from shared.models.imports import Import
from shared.wanted.schemas import IsoDatetime


class ObligationOut(BaseModel):
    """MAM's seeding requirement for this download: ``seeded_seconds`` of ``required_seconds`` by ``deadline``."""

    state: str
    seeded_seconds: float
    required_seconds: int
    met: bool
    deadline: IsoDatetime
    completed_at: IsoDatetime
    met_at: IsoDatetime | None
    risk_reason: str | None

    @classmethod
    def of(cls, o: Obligation) -> ObligationOut:
        return cls(state=o.state, seeded_seconds=round(o.seeded_seconds, 1), required_seconds=o.required_seconds,
                   met=o.met_at is not None, deadline=o.deadline, completed_at=o.completed_at, met_at=o.met_at,
                   risk_reason=o.risk_reason)


class DownloadOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    wanted_id: int | None
    torrent_id: int | None
    info_hash: str | None
    state: str
    source: str
    dry_run: bool
    title: str | None
    name: str | None
    category: str | None
    tags: list[str]
    save_path: str | None
    size_bytes: int | None
    progress: float
    ratio: float | None
    uploaded_bytes: int | None
    qbit_state: str | None
    cost_kind: str | None
    error: str | None
    import_state: str | None
    import_: ImportBrief | None = Field(None, alias="import",
                                        description="its import: verdict, reason and figures; null before one")
    obligation: ObligationOut | None
    created_at: IsoDatetime
    added_at: IsoDatetime | None
    completed_at: IsoDatetime | None

    @classmethod
    def of(cls, d: Download, o: Obligation | None, i: Import | None = None) -> DownloadOut:
        return cls(id=d.id, wanted_id=d.wanted_id, torrent_id=d.torrent_id, info_hash=d.info_hash, state=d.state,
                   source=d.source, dry_run=d.dry_run, title=d.title, name=d.name, category=d.category,
                   tags=list(d.tags or []), save_path=d.save_path, size_bytes=d.size_bytes, progress=d.progress,
                   ratio=d.ratio, uploaded_bytes=d.uploaded_bytes, qbit_state=d.qbit_state, cost_kind=d.cost_kind,
                   error=d.error, import_state=d.import_state, import_=ImportBrief.of(i) if i else None,
                   obligation=ObligationOut.of(o) if o else None,
                   created_at=d.created_at, added_at=d.added_at, completed_at=d.completed_at)


class DecisionOut(BaseModel):
    id: int
    at: datetime
    kind: str
    reason: str
    wanted_id: int | None
    torrent_id: int | None
    download_id: int | None
    job_id: uuid.UUID | None
    dry_run: bool
    details: dict[str, Any]

    @classmethod
    def of(cls, d: GovernorDecision) -> DecisionOut:
        return cls.model_validate(d, from_attributes=True)


class SpendOut(BaseModel):
    key: str
    spendtype: str
    state: str
    amount: float | None
    points: float | None
    torrent_id: int | None
    reason: str
    dry_run: bool
    error: str | None
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, s: Spend) -> SpendOut:
        return cls.model_validate(s, from_attributes=True)


class DownloadDecisions(BaseModel):
    """Why a download exists and what it cost: every governor decision about its torrent or the row
    (grab, wait, refuse, removal requests), and the bonus-point spends made for it (a wedge)."""

    download_id: int
    decisions: list[DecisionOut] = Field(description="oldest first")
    spends: list[SpendOut] = Field(description="oldest first")
