"""The member's standing, read from MAM and kept: ``account.refresh``'s work and the search's rule.

:func:`current_account` is what a search calls before judging what is free for this member: the
latest snapshot, refreshed first when it is unknown or older than ``MAMC_ACCOUNT_MAX_AGE``.
"""

from __future__ import annotations

from shared.crawl import account
from shared.crawl.torrent import AccountSnapshot
from shared.download.governor_gates import release_open_gates
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.notify.account import notify_account
from workers.crawl.mam_client import MamClient


def refresh(client: MamClient) -> tuple[int, AccountSnapshot]:
    """Ask MAM (one request) and store the answer as a history row; (row id, snapshot)."""
    snapshot = client.account()
    with session_scope() as s:
        before = account.latest(s)
        previous = account.to_snapshot(before) if before is not None else None
        row = account.store_snapshot(s, snapshot)
        notify_account(s, previous, snapshot, utcnow())
        release_open_gates(s)  # grabs parked by the governor whose gate the new standing opens resume
        return row.id, snapshot


def current_account(client: MamClient, max_age: float) -> AccountSnapshot:
    """The latest standing, refreshed first if unknown or older than ``max_age`` seconds."""
    with session_scope() as s:
        row = account.latest(s)
        if row is not None and not account.needs_refresh(row.fetched_at, utcnow(), max_age):
            return account.to_snapshot(row)
    return refresh(client)[1]
