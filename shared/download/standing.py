"""The governor's inputs read from PostgreSQL, and the one serialised way to ask it about a grab.

:func:`standing` gathers what :func:`shared.download.governor.decide_grab` needs: the latest account
snapshot and its age, the hysteresis memory from the snapshot history, and our own grabs MAM may not
show yet. :func:`ask` takes a transaction-scoped advisory lock first: two grabs released together (a
refresh opened one unsatisfied slot) must not both see the slot free. The caller records its
download row (``shared.download.grabs.begin``) in the same transaction, so the next grab to take the
lock counts it, and commits before any outside call (the lock is held until then).

What "our own grabs" are: rows of ``downloads`` that a grab created (``source = 'grab'``, not a dry
run). MAM updates its counters 5 to 20 minutes after a grab (``shared/reference/mam.md``), so a grab
made up to :data:`MAM_COUNT_LAG` before the snapshot may be missing from it and is counted locally
too: the sum can only over-count, which errs on the safe side of the limit. Paid bytes are counted the
same way until the download is known complete before the snapshot, and wedges by their recorded
spends (``wedge:<torrent_id>``, not failed). ``Download.cost_kind`` must hold
what the governor decided (free, wedge, paid), not the search's proposal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, text, true
from sqlalchemy.orm import Session

from shared.crawl import account as accounts
from shared.crawl.choice.cost import CostKind
from shared.crawl.session import ACCOUNT
from shared.crawl.torrent import AccountSnapshot
from shared.download.governor import GrabAsk, GrabDecision, LocalCounts, SpendType, decide_grab, in_recovery
from shared.download.policy import GovernorPolicy
from shared.download.policy_store import load_policy
from shared.download.states import DownloadState
from shared.models.crawl import MamAccountSnapshot
from shared.models.download import Download, Spend

__all__ = ["MAM_COUNT_LAG", "Standing", "ask", "governor_lock", "local_counts", "recovering", "standing"]

#: How long MAM may take to count a grab in its snapshot (its counters lag by 5 to 20 minutes).
MAM_COUNT_LAG = timedelta(minutes=20)
#: Snapshots read for the ratio's hysteresis memory (hourly refreshes: about two weeks).
HISTORY_DEPTH = 400


@dataclass(frozen=True, slots=True)
class Standing:
    policy: GovernorPolicy
    account: AccountSnapshot | None
    fetched_at: datetime | None
    age_s: float | None
    local: LocalCounts
    recovering: bool


def governor_lock(session: Session) -> None:
    """Serialise grab decisions for this transaction (see the module docstring)."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('mamc:governor:grab'))"))


def _ours() -> list[ColumnElement[bool]]:
    return [Download.source == "grab", Download.dry_run.is_(False), Download.state != DownloadState.DRY_RUN.value]


def local_counts(session: Session, now: datetime, snapshot_at: datetime | None, *,
                 exclude_torrent_id: int | None = None) -> LocalCounts:
    """Our grabs in the last hour and day, and those (their paid bytes, their wedges) MAM may not count yet."""
    where = _ours()
    if exclude_torrent_id is not None:
        where.append(or_(Download.torrent_id.is_(None), Download.torrent_id != exclude_torrent_id))
    since = (snapshot_at - MAM_COUNT_LAG) if snapshot_at is not None else None
    uncounted: ColumnElement[bool] = true() if since is None else Download.created_at > since
    paid_open: ColumnElement[bool] = Download.cost_kind == CostKind.PAID.value
    if since is not None:  # a paid download known complete before the snapshot is in its figures
        paid_open = paid_open & (Download.completed_at.is_(None) | (Download.completed_at > since))
    row = session.execute(select(
        func.count().filter(Download.created_at > now - timedelta(hours=1)),
        func.count().filter(Download.created_at > now - timedelta(days=1)),
        func.count().filter(uncounted),
        func.coalesce(func.sum(Download.size_bytes).filter(paid_open), 0),
    ).where(*where)).one()
    wedges = select(func.count()).select_from(Spend).where(
        Spend.spendtype == SpendType.PERSONAL_FL.value, Spend.dry_run.is_(False),
        Spend.state.in_(("intended", "done", "unknown")))
    if since is not None:
        wedges = wedges.where(Spend.created_at > since)
    return LocalCounts(grabs_last_hour=row[0], grabs_last_day=row[1], unsat_since_snapshot=row[2],
                       paid_bytes_since_snapshot=int(row[3] or 0), wedges_since_snapshot=session.scalar(wedges) or 0)


def recovering(session: Session, policy: GovernorPolicy) -> bool:
    """The hysteresis memory: was the latest snapshot outside [floor, recovery) below the floor?"""
    ratios = session.scalars(
        select(MamAccountSnapshot.ratio).where(MamAccountSnapshot.account == ACCOUNT)
        .order_by(MamAccountSnapshot.fetched_at.desc(), MamAccountSnapshot.id.desc()).limit(HISTORY_DEPTH))
    return in_recovery(ratios, policy)


def standing(session: Session, now: datetime, *, policy: GovernorPolicy | None = None,
             exclude_torrent_id: int | None = None) -> Standing:
    policy = policy or load_policy(session)
    row = accounts.latest(session)
    snapshot = accounts.to_snapshot(row) if row is not None else None
    fetched_at = row.fetched_at if row is not None else None
    age = max(0.0, (now - fetched_at).total_seconds()) if fetched_at is not None else None
    return Standing(policy, snapshot, fetched_at, age,
                    local_counts(session, now, fetched_at, exclude_torrent_id=exclude_torrent_id),
                    recovering(session, policy))


def ask(session: Session, grab: GrabAsk, now: datetime, *, policy: GovernorPolicy | None = None) -> GrabDecision:
    """The governor's answer for ``grab``, under the decision lock (held until the caller commits).

    The asking torrent's own download row, if the caller already wrote it, is not counted against it."""
    governor_lock(session)
    state = standing(session, now, policy=policy, exclude_torrent_id=grab.torrent_id)
    return decide_grab(state.account, state.age_s, state.policy, grab, state.local, now, recovering=state.recovering)
