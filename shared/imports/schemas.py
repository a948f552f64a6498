"""What an import looks like to readers (``GET /api/v1/imports``): verdict, reason, files, timings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.models.imports import Import
from shared.wanted.schemas import IsoDatetime


class ImportedFile(BaseModel):
    """One file of the download; audio files carry ffprobe's figures."""

    path: str
    size: int
    audio: bool
    decodes: bool | None = None
    error: str | None = None
    codec: str | None = None
    bitrate: int | None = Field(None, description="bit/s")
    channels: int | None = None
    duration: float | None = Field(None, description="seconds")
    format: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ImportTimings(BaseModel):
    created_at: IsoDatetime
    verified_at: IsoDatetime | None
    placed_at: IsoDatetime | None
    scan_requested_at: IsoDatetime | None
    found_at: IsoDatetime | None
    described_at: IsoDatetime | None
    finished_at: IsoDatetime | None
    seconds: float | None = Field(None, description="from creation to the verdict")


class ImportOut(BaseModel):
    id: int
    download_id: int
    wanted_id: int | None
    torrent_id: int | None
    verdict: str | None = Field(description="imported, rejected, already_owned, failed; null while running")
    reason: str | None
    step: str = Field(description="new, verified, placed, found, described, done")
    error: str | None = Field(description="the last error of a run that has not reached a verdict")
    files: list[ImportedFile]
    figures: dict[str, Any] = Field(description="total and expected duration, deviation, narrator check, ABS check")
    book: dict[str, Any] = Field(description="what was written: the folder and metadata.json's values")
    source_path: str | None
    target_dir: str | None
    abs_path: str | None
    placement: str | None = Field(description="hardlink, or copy when the download is on another filesystem")
    abs_library_id: str | None
    abs_item_id: str | None
    scans: int
    runs: int
    timings: ImportTimings

    @classmethod
    def of(cls, row: Import) -> ImportOut:
        seconds = (row.finished_at - row.created_at).total_seconds() if row.finished_at else None
        timings = ImportTimings(created_at=row.created_at, verified_at=row.verified_at, placed_at=row.placed_at,
                                scan_requested_at=row.scan_requested_at, found_at=row.found_at,
                                described_at=row.described_at, finished_at=row.finished_at,
                                seconds=round(seconds, 3) if seconds is not None else None)
        return cls(id=row.id, download_id=row.download_id, wanted_id=row.wanted_id, torrent_id=row.torrent_id,
                   verdict=row.verdict, reason=row.reason, step=row.step, error=row.error,
                   files=[ImportedFile.model_validate(f) for f in row.files or []], figures=row.figures or {},
                   book=row.book or {}, source_path=row.source_path, target_dir=row.target_dir,
                   abs_path=row.abs_path, placement=row.placement, abs_library_id=row.abs_library_id,
                   abs_item_id=row.abs_item_id, scans=row.scans, runs=row.runs, timings=timings)


class ImportBrief(BaseModel):
    """An import as a list of downloads shows it: the verdict and its figures, not the files."""

    id: int
    verdict: str | None = Field(description="imported, rejected, already_owned, failed; null while running")
    reason: str | None
    step: str
    error: str | None
    figures: dict[str, Any] = Field(description="as in ImportOut: total and expected duration, deviation, "
                                                "narrator check")
    placement: str | None
    abs_item_id: str | None
    finished_at: IsoDatetime | None

    @classmethod
    def of(cls, row: Import) -> ImportBrief:
        return cls(id=row.id, verdict=row.verdict, reason=row.reason, step=row.step, error=row.error,
                   figures=row.figures or {}, placement=row.placement, abs_item_id=row.abs_item_id,
                   finished_at=row.finished_at)
