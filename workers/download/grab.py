"""``download.grab``: one candidate into qBittorrent, safely resumable after a kill at any point.

The order, and why (each step is committed before the next starts; ``shared.download.grabs``):

1. the download row (keyed by MAM's torrent id) exists before anything leaves this process;
2. the governor is asked (``shared.download.governor``): a grab that must wait is *parked* on the
   governor's gate with its reason and resumes by itself when an account refresh opens it;
   a dry run records the decision and stops here;
3. a wedge, when the decision says so, is recorded as ``intended`` (unique key ``wedge:<torrent
   id>``) before it is bought and settled after: a redelivered grab never buys it twice;
4. the ``.torrent`` is fetched through the MAM client and its budget and stored encrypted with its
   info-hash: a redelivered grab never fetches it again;
5. qBittorrent is asked whether it has the hash, and only then given the file: a redelivered grab
   never adds it twice. The entry becomes ``grabbed``, the torrent id joins the local snatch memory
   (MAM's ``my_snatched`` lags), a ``grabbed`` notification is queued.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.crawl.targets import remember_snatched
from shared.download import decisions, grabs, spends, standing
from shared.download.governor import GrabAsk, wedge_intent
from shared.download.governor_gates import parked
from shared.download.jobs import GrabArgs
from shared.download.policy_store import load_policy
from shared.download.states import DecisionKind, DownloadState
from shared.download.torrents import TorrentClient
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import PermanentError, TransientError
from shared.infra.settings import get_settings
from shared.models.download import Download
from shared.notify.events import EventKind, notify
from workers.context import JobContext
from workers.crawl.mam_errors import MamApiError
from workers.crawl.session import mam_session

log = logging.getLogger(__name__)

_TAG_UNSAFE = re.compile(r"[,\n\r\t]+")

#: Download states from which a grab has nothing left to do.
DONE = frozenset({DownloadState.DOWNLOADING, DownloadState.STALLED, DownloadState.SEEDING, DownloadState.PAUSED,
                  DownloadState.MISSING, DownloadState.ERRORED, DownloadState.REMOVED})


def tags_for(picked: grabs.Picked) -> list[str]:
    """``mamcrawler``, the series and the first author: qBittorrent tags hold no commas."""
    raw = ["mamcrawler", picked.series or "", picked.authors[0] if picked.authors else ""]
    return list(dict.fromkeys(t for t in (_TAG_UNSAFE.sub(" ", r).strip()[:100] for r in raw) if t))


@dataclass(frozen=True, slots=True)
class Placement:
    category: str
    save_path: str


def fetch_if_needed(download_id: int, fetch: Callable[[], bytes], info_hash_of: Callable[[bytes], str]) -> bytes:
    """The stored ``.torrent``, fetched from MAM (once) if not stored yet."""
    with session_scope() as s:
        row = s.get(Download, download_id, with_for_update=True)
        assert row is not None
        stored = grabs.torrent_bytes(row)
    if stored is not None:
        return stored
    data = fetch()
    with session_scope() as s:
        row = s.get(Download, download_id, with_for_update=True)
        assert row is not None
        if row.torrent_file is None:  # another delivery of this grab may have stored it meanwhile
            grabs.store_torrent(row, data, info_hash_of(data))
        stored = grabs.torrent_bytes(row)
    assert stored is not None
    return stored


def add_if_needed(download_id: int, data: bytes, picked: grabs.Picked, client: TorrentClient,
                  placement: Placement) -> dict[str, Any]:
    """Give qBittorrent the file unless it already has the hash; the entry becomes ``grabbed``."""
    with session_scope() as s:
        row = s.get(Download, download_id)
        assert row is not None and row.info_hash is not None
        info_hash = row.info_hash
    tags = tags_for(picked)
    added = False
    if not client.has(info_hash):
        client.add_torrent(data, info_hash=info_hash, category=placement.category, tags=tags,
                           save_path=placement.save_path)
        added = True
    with session_scope() as s:
        row = s.get(Download, download_id, with_for_update=True)
        assert row is not None
        first_time = row.state not in DONE
        if first_time:
            grabs.mark_added(s, row, category=placement.category, tags=tags, save_path=placement.save_path)
            remember_snatched(s, {picked.torrent_id}, "grab", wanted_id=picked.wanted_id)
            notify(s, EventKind.GRABBED, f"Grabbed: {picked.title}"[:200],
                   f"MAM torrent {picked.torrent_id} ({picked.cost_kind}) added to qBittorrent",
                   once_key=f"torrent:{picked.torrent_id}")
    log.info("grab %s: %s", picked.torrent_id, "added to qBittorrent" if added else "qBittorrent already had it")
    return {"download_id": download_id, "info_hash": info_hash, "added": added}


class WedgeRefused(PermanentError):
    """MAM refused the wedge the governor chose: the grab stops rather than go on as a paid one."""


@dataclass(frozen=True, slots=True)
class Approved:
    download_id: int
    picked: grabs.Picked
    cost_kind: str
    resumed: bool


def approve(ctx: JobContext[GrabArgs], dry_run: bool) -> Approved | dict[str, Any]:
    """Resume an approved grab, or ask the governor (recording its answer); a wait parks the job."""
    args = ctx.args
    with session_scope() as s:
        picked = grabs.pick(s, args.wanted_id, args.torrent_id, override=True)  # hard reasons still refuse
        row = grabs.existing(s, args.torrent_id)
        if row is not None and row.state in DONE:
            return {"download_id": row.id, "already": row.state}
        if row is not None and row.state in (DownloadState.PENDING, DownloadState.FETCHED):
            return Approved(row.id, picked, row.cost_kind or "", resumed=True)
        policy = load_policy(s)
        decision = standing.ask(s, GrabAsk(free=picked.free, size_bytes=picked.size_bytes,
                                           torrent_id=picked.torrent_id), utcnow(), policy=policy)
        recorded = decisions.record_grab(s, decision, wanted_id=picked.wanted_id, torrent_id=picked.torrent_id,
                                         job_id=ctx.job_id, dry_run=dry_run)
        if decision.kind != DecisionKind.GRAB:
            if dry_run:
                return {"dry_run": True, "would": str(decision.kind), "reason": decision.reason}
            gate = parked(decision)
        else:
            cost = decision.cost_kind.value if decision.cost_kind else picked.cost_kind
            row = grabs.begin(s, picked, dry_run=dry_run, job_id=ctx.job_id, cost_kind=cost)
            recorded.download_id = row.id
            if dry_run:
                return {"dry_run": True, "would": "grab", "download_id": row.id, "cost_kind": cost,
                        "reason": decision.reason}
            return Approved(row.id, picked, cost, resumed=False)
    raise gate  # after the commit: the decision stays recorded while the job waits on the gate


def spend_wedge(ctx: JobContext[GrabArgs], approved: Approved) -> str:
    """The wedge, bought at most once ever for this torrent (recorded before, settled after)."""
    intent = wedge_intent(approved.picked.torrent_id, f"a wedge for {approved.picked.title!r}")
    with session_scope() as s:
        claim = spends.intend(s, intent)
        decisions.record_spend(s, intent, job_id=ctx.job_id)
    if not claim.created:
        if claim.spend.state in ("intended", "unknown"):
            # A delivery that died between recording the wedge and MAM's answer: whether MAM sold it
            # is unknown and it is never bought blindly again (the governor's crash rule settles it
            # from the account's figures). The download is booked as paid, so the governor counts
            # its bytes against the ratio until MAM's own figures say otherwise.
            with session_scope() as s:
                spends.settle(s, intent.key, None, error="the delivery that bought it did not finish")
                row = s.get(Download, approved.download_id, with_for_update=True)
                assert row is not None
                row.cost_kind = "paid"
                decisions.record(s, kind=DecisionKind.GRAB, reason="the wedge's purchase is unconfirmed after a "
                                 "restart: the grab goes on booked as paid", wanted_id=approved.picked.wanted_id,
                                 torrent_id=approved.picked.torrent_id, download_id=approved.download_id,
                                 job_id=ctx.job_id)
        return f"already {claim.spend.state}"
    try:
        with mam_session(ctx) as client:
            bought = client.bonus_buy("personalFL", torrent_id=approved.picked.torrent_id)
    except MamApiError as exc:
        with session_scope() as s:
            spends.settle(s, intent.key, False, error=str(exc))
            row = s.get(Download, approved.download_id, with_for_update=True)
            assert row is not None
            grabs.fail(row, f"MAM refused the wedge: {exc}")
        raise WedgeRefused(f"MAM refused the wedge for torrent {approved.picked.torrent_id}: {exc}") from None
    except TransientError:
        with session_scope() as s:
            spends.settle(s, intent.key, None, error="the answer was lost")  # unknown: never bought blindly again
        raise
    with session_scope() as s:
        spends.settle(s, intent.key, True, response=bought.raw)
    return "bought"


def download_grab(ctx: JobContext[GrabArgs], *, client_for: Callable[[], TorrentClient],
                  info_hash_of: Callable[[bytes], str]) -> dict[str, Any]:
    """The grab's body (see the module docstring); ``client_for`` opens qBittorrent."""
    settings = get_settings()
    with session_scope() as s:
        dry_run = ctx.args.dry_run if ctx.args.dry_run is not None else (settings.dry_run or load_policy(s).dry_run)
    approved = approve(ctx, dry_run)
    if isinstance(approved, dict):
        return approved
    wedge = None
    if approved.cost_kind == "wedge":
        wedge = spend_wedge(ctx, approved)

    def fetch() -> bytes:
        with mam_session(ctx) as client:
            return client.download_torrent(approved.picked.torrent_id)

    data = fetch_if_needed(approved.download_id, fetch, info_hash_of)
    placement = Placement(settings.qbit_category, settings.qbit_save_path or "")  # "": qBittorrent's default
    result = add_if_needed(approved.download_id, data, approved.picked, client_for(), placement)
    return {**result, "torrent_id": approved.picked.torrent_id, "cost_kind": approved.cost_kind, "wedge": wedge,
            "resumed": approved.resumed}
