"""Grabbing a candidate: which candidates may be grabbed, and the download row that makes a grab
idempotent. For the API (``POST /api/v1/downloads``) and the download pool alike.

Why a row first: a grab has three effects outside our database (a wedge bought on MAM, the
``.torrent`` fetched, the torrent added to qBittorrent), and a worker can be killed between any two.
The row, keyed by MAM's torrent id (and, once known, the info-hash), is written before the first
effect and advanced after each, so a redelivered or replayed grab resumes where the last one
stopped: it never fetches a stored file again, never adds a hash qBittorrent already has, and never
buys a wedge whose spend is already recorded (``shared.download.spends``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.download.live import announce
from shared.download.states import DownloadState
from shared.infra.clock import utcnow
from shared.infra.crypto import fernet
from shared.infra.errors import PermanentError
from shared.models.crawl import MamCandidate, MamSearch
from shared.models.download import Download
from shared.models.metadata import Wanted
from shared.wanted.service import current_id, lock, move
from shared.wanted.states import UnknownWanted, WantedState

__all__ = [
    "GRABBABLE", "NotGrabbable", "Picked", "begin", "decrypt_torrent", "existing", "fail", "mark_added", "pick",
    "store_torrent", "torrent_bytes",
]

#: A person may grab for an entry that is wanted (not while a search runs); ``grabbed`` is allowed so a
#: redelivered grab of the same torrent resumes.
GRABBABLE = frozenset({WantedState.WANTED, WantedState.GRABBED})
#: Rejections a person cannot override: the account cannot download it, or it would be a second snatch.
HARD = frozenset({"vip_only", "already_snatched", "already_owned", "not_audiobook", "no_seeders", "wrong_recording"})


class NotGrabbable(PermanentError):
    """This candidate may not be grabbed for this entry (the API answers 409 with the reason)."""


@dataclass(frozen=True, slots=True)
class Picked:
    """The candidate to grab, as the latest search judged it."""

    wanted_id: int
    torrent_id: int
    title: str
    cost_kind: str
    size_bytes: int | None
    free: bool
    authors: list[str]
    series: str | None


def _candidate(session: Session, wanted_id: int, torrent_id: int) -> MamCandidate | None:
    latest = select(MamSearch.id).where(MamSearch.wanted_id == wanted_id).order_by(MamSearch.id.desc()).limit(1)
    return session.scalar(select(MamCandidate).where(MamCandidate.search_id == latest.scalar_subquery(),
                                                     MamCandidate.torrent_id == torrent_id))


def pick(session: Session, wanted_id: int, torrent_id: int, *, override: bool = False) -> Picked:
    """The candidate ``torrent_id`` of the entry's latest search, if it may be grabbed.

    The chosen candidate always may; another acceptable one may (a person picked it); a rejected one
    only with ``override`` and never for a hard reason (VIP-only, already snatched or owned...)."""
    row = session.get(Wanted, current_id(session, wanted_id))
    if row is None:
        raise UnknownWanted(wanted_id)
    if row.state not in GRABBABLE:
        raise NotGrabbable(f"wanted entry {row.id} is {row.state}: nothing to grab")
    candidate = _candidate(session, row.id, torrent_id)
    if candidate is None:
        raise NotGrabbable(f"torrent {torrent_id} is not a candidate of wanted entry {row.id}'s latest search "
                           f"(search it first: POST /api/v1/wanted/{row.id}/search)")
    codes = {r["code"] for r in candidate.item.get("rejections", [])}
    if codes & HARD or (codes and not override):
        reasons = "; ".join(f"{r['code']}: {r['reason']}" for r in candidate.item.get("rejections", []))
        raise NotGrabbable(f"torrent {torrent_id} was rejected ({reasons})")
    cost = candidate.item.get("cost", {})
    return Picked(wanted_id=row.id, torrent_id=torrent_id, title=candidate.title, cost_kind=str(cost.get("kind")),
                  size_bytes=candidate.item.get("size_bytes"), free=cost.get("kind") == "free",
                  authors=list(candidate.item.get("authors", [])), series=row.series_name)


def existing(session: Session, torrent_id: int) -> Download | None:
    """The download row of this torrent, locked, if a grab of it was approved before."""
    return session.scalar(select(Download).where(Download.torrent_id == torrent_id).with_for_update()
                          .execution_options(populate_existing=True))


def begin(session: Session, picked: Picked, *, dry_run: bool, job_id: object, cost_kind: str) -> Download:
    """The governor said grab: the row is written now, in the governor's transaction, so the next
    decision counts it (a grab that waits writes no row, so waiting grabs never count each other)."""
    state = DownloadState.DRY_RUN if dry_run else DownloadState.PENDING
    stmt = insert(Download).values(wanted_id=picked.wanted_id, torrent_id=picked.torrent_id, state=state.value,
                                   source="grab", dry_run=dry_run, title=picked.title, size_bytes=picked.size_bytes,
                                   cost_kind=cost_kind, job_id=job_id, tags=[])
    session.execute(stmt.on_conflict_do_update(
        index_elements=["torrent_id"],
        set_={"state": state.value, "dry_run": dry_run, "cost_kind": cost_kind, "job_id": job_id},
        # only a dry run's row, or one that failed before qBittorrent ever had it, is taken over
        where=(Download.state == DownloadState.DRY_RUN.value)
        | ((Download.state == DownloadState.ERRORED.value) & Download.added_at.is_(None))))
    found = existing(session, picked.torrent_id)
    assert found is not None
    announce(found)
    return found


def store_torrent(download: Download, data: bytes, info_hash: str) -> None:
    """Keep the fetched ``.torrent`` (encrypted: its announce URL carries the member's passkey)."""
    download.torrent_file = fernet().encrypt(data)
    download.info_hash = info_hash.lower()
    download.state = DownloadState.FETCHED.value


def torrent_bytes(download: Download) -> bytes | None:
    return decrypt_torrent(download.torrent_file)


def decrypt_torrent(stored: bytes | None) -> bytes | None:
    """The ``.torrent`` bytes of a stored (encrypted) ``downloads.torrent_file`` value."""
    return fernet().decrypt(stored) if stored else None


def mark_added(session: Session, download: Download, *, category: str, tags: list[str], save_path: str) -> None:
    """qBittorrent has it: the monitor follows it from now on; the entry is ``grabbed``."""
    now = utcnow()
    download.state = DownloadState.DOWNLOADING.value
    download.category, download.tags, download.save_path = category, tags, save_path
    download.added_at = download.added_at or now
    download.last_progress_at = download.last_progress_at or now
    if download.wanted_id is not None:
        row = lock(session, download.wanted_id)
        if row.state != WantedState.GRABBED:
            move(row, WantedState.GRABBED, reason=f"torrent {download.torrent_id} added to qBittorrent")
    announce(download)


def fail(download: Download, why: str) -> None:
    """The grab cannot go on (a wedge MAM refused): the row says why; nothing was added."""
    download.state = DownloadState.ERRORED.value
    download.error = why[:2000]
    announce(download)
