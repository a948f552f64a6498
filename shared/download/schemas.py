"""What a download looks like to readers (``GET /api/v1/downloads``): state, progress, the obligation."""

from __future__ import annotations

from pydantic import BaseModel

from shared.models.download import Download, Obligation
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
    obligation: ObligationOut | None
    created_at: IsoDatetime
    added_at: IsoDatetime | None
    completed_at: IsoDatetime | None

    @classmethod
    def of(cls, d: Download, o: Obligation | None) -> DownloadOut:
        return cls(id=d.id, wanted_id=d.wanted_id, torrent_id=d.torrent_id, info_hash=d.info_hash, state=d.state,
                   source=d.source, dry_run=d.dry_run, title=d.title, name=d.name, category=d.category,
                   tags=list(d.tags or []), save_path=d.save_path, size_bytes=d.size_bytes, progress=d.progress,
                   ratio=d.ratio, uploaded_bytes=d.uploaded_bytes, qbit_state=d.qbit_state, cost_kind=d.cost_kind,
                   error=d.error, import_state=d.import_state, obligation=ObligationOut.of(o) if o else None,
                   created_at=d.created_at, added_at=d.added_at, completed_at=d.completed_at)
