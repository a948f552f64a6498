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
from shared.download import grabs
from shared.download.states import DownloadState
from shared.download.torrents import TorrentClient
from shared.infra.db import session_scope
from shared.models.download import Download
from shared.notify.events import EventKind, notify

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
