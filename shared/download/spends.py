"""Bonus-point purchases, recorded before they are made and settled after: never a second purchase.

The protocol every spender follows (the spend job, and the grab for its wedge):

1. :func:`intend` inserts the purchase under its unique ``key`` and the caller **commits** before
   calling MAM. ``created`` False means the key was already recorded (a redelivered job, a second
   worker, a re-run within the same hour): the caller does not buy, whatever the row's state.
2. The caller calls MAM, then :func:`settle` in a new transaction: ``done`` with MAM's answer,
   ``failed`` when MAM refused (nothing was bought), ``unknown`` when the answer was lost (a
   timeout, a 5xx: the purchase may or may not have happened).
3. A failure known to have happened *before* the request left (the budget had no slot, the session
   gate closed, MAM's 403 or 429 which buy nothing) is :func:`withdraw`-n: the row is deleted so the
   re-run may make the purchase.

**Crash rule.** A row still ``intended`` when a new run starts was written by a run that died
between step 1 and step 2: MAM may or may not have made the purchase, and nothing here can tell
from the row. :func:`mark_abandoned` turns it into ``unknown``; it is never retried under its key.
What decides next is the account, re-read: the spend job refreshes the snapshot before planning,
and :func:`shared.download.governor.plan_spends` plans nothing of a type while a spend of that type
is newer than the snapshot, so the next plan sees the points, VIP end and upload credit *after*
the lost purchase and buys only what is still missing. :func:`resolve_unknown` then settles the
``unknown`` row from the snapshots before and after it (:func:`judge`) when they tell clearly. For a
wedge (``wedge:<torrent_id>``) the grab decides from the torrent itself: MAM's row for it shows
``personal_freeleech`` once the wedge went through; with the flag set the grab continues, without
it the grab treats the wedge as not spent and grabs the torrent as the governor decides again
(never buying a second wedge under the same key).

Dry-run purchases are recorded under ``dry:<key>`` in state ``dry_run``: visible, never sent, and
never in the way of the real purchase of the same key once dry run is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.crawl import account as accounts
from shared.crawl.session import ACCOUNT
from shared.crawl.torrent import AccountSnapshot
from shared.download.governor import GIB, SpendIntent, SpendRecord, SpendType
from shared.infra.clock import utcnow
from shared.models.crawl import MamAccountSnapshot
from shared.models.download import Spend

__all__ = ["Claim", "SpendState", "intend", "judge", "mark_abandoned", "recent", "resolve_unknown", "settle",
           "withdraw"]

DRY_PREFIX = "dry:"


class SpendState(StrEnum):
    INTENDED = "intended"  # recorded, MAM not yet answered (or the run died: see the crash rule)
    DONE = "done"  # MAM confirmed
    FAILED = "failed"  # MAM refused: nothing was bought
    UNKNOWN = "unknown"  # the answer was lost or the run died: the account decides, never a blind retry
    DRY_RUN = "dry_run"  # recorded under a dry run, never sent


@dataclass(frozen=True, slots=True)
class Claim:
    """The row under the intent's key; ``created`` only for the caller that inserted it (the one
    that may buy)."""

    spend: Spend
    created: bool


def intend(session: Session, intent: SpendIntent, *, dry_run: bool = False) -> Claim:
    """Record ``intent`` before it is made (commit before calling MAM). An existing key returns its
    row with ``created`` False; two concurrent calls with one key make one row (the second waits on
    the unique index, then finds the first's row)."""
    key = (DRY_PREFIX + intent.key) if dry_run else intent.key
    stmt = insert(Spend).values(
        key=key, spendtype=intent.spendtype.value, torrent_id=intent.torrent_id, amount=intent.amount,
        points=intent.points, state=(SpendState.DRY_RUN if dry_run else SpendState.INTENDED).value,
        reason=intent.reason, dry_run=dry_run, response={}, error=None,
        settled_at=utcnow() if dry_run else None,
    ).on_conflict_do_nothing(index_elements=[Spend.key]).returning(Spend.id)
    new_id = session.execute(stmt).scalar()
    row = session.scalar(select(Spend).where(Spend.key == key).execution_options(populate_existing=True))
    assert row is not None, f"spend {key} neither inserted nor found"
    return Claim(row, new_id is not None)


def settle(session: Session, key: str, ok: bool | None, *, response: Mapping[str, Any] | None = None,
           error: str | None = None) -> Spend:
    """MAM's answer: ``ok`` True → ``done``, False → ``failed``, None → ``unknown`` (the answer was
    lost). Only an ``intended`` or ``unknown`` row changes; a settled one is returned as it is."""
    state = SpendState.UNKNOWN if ok is None else SpendState.DONE if ok else SpendState.FAILED
    session.execute(
        update(Spend).where(Spend.key == key, Spend.state.in_([SpendState.INTENDED.value, SpendState.UNKNOWN.value]))
        .values(state=state.value, response=dict(response or {}), error=None if error is None else error[:2000],
                settled_at=utcnow() if state != SpendState.UNKNOWN else None))
    row = session.scalar(select(Spend).where(Spend.key == key).execution_options(populate_existing=True))
    if row is None:
        raise LookupError(f"no spend recorded under {key!r}")
    return row


def withdraw(session: Session, key: str) -> bool:
    """Forget an ``intended`` purchase that certainly never reached MAM (see the module docstring)."""
    result = session.execute(delete(Spend).where(Spend.key == key, Spend.state == SpendState.INTENDED.value)
                             .returning(Spend.id))
    return result.first() is not None


def mark_abandoned(session: Session, spendtypes: tuple[SpendType, ...], *, before: datetime | None = None) -> int:
    """``intended`` rows of these types left by a run that died become ``unknown`` (the crash rule).

    Call it where no live run of these types can hold one: at the start of the (singleton) spend job
    for ``upload`` and ``VIP``, or by a grab for its own ``wedge:<torrent_id>``."""
    stmt = update(Spend).where(Spend.state == SpendState.INTENDED.value,
                               Spend.spendtype.in_([t.value for t in spendtypes]))
    if before is not None:
        stmt = stmt.where(Spend.created_at < before)
    result = session.execute(stmt.values(state=SpendState.UNKNOWN.value,
                                         error="the run that made this purchase stopped before MAM's answer was "
                                               "recorded; the account decides (never bought again blindly)")
                             .returning(Spend.id))
    return len(result.all())


def recent(session: Session, since: datetime) -> list[SpendRecord]:
    """Spends recorded since ``since`` (dry runs excluded) as :func:`plan_spends` reads them; with every
    ``intended`` or ``unknown`` row, however old, since those block planning until settled or seen."""
    rows = session.execute(
        select(Spend.key, Spend.spendtype, Spend.state, Spend.created_at)
        .where(Spend.dry_run.is_(False),
               (Spend.created_at >= since) | Spend.state.in_([SpendState.INTENDED.value, SpendState.UNKNOWN.value]))
        .order_by(Spend.created_at.desc())).all()
    return [SpendRecord(key=k, spendtype=t, state=s, at=at) for k, t, s, at in rows]


def judge(spend: Spend, before: AccountSnapshot, after: AccountSnapshot) -> bool | None:
    """Did a purchase of unknown outcome go through? Read from the snapshots just before and after it:
    True or False when they tell clearly, None when they do not (then it stays ``unknown``)."""
    if spend.spendtype == SpendType.VIP.value:
        if after.vip_until is None:
            return None
        if before.vip_until is None or (after.vip_until - before.vip_until).total_seconds() > 86400:
            return True
        return False if after.vip_until <= before.vip_until else None
    if spend.spendtype == SpendType.UPLOAD.value:
        cost = spend.points or (spend.amount or 0) * 500
        if before.seedbonus is None or after.seedbonus is None or cost <= 0:
            return None
        drop = before.seedbonus - after.seedbonus
        if drop >= 0.5 * cost:
            return True
        if drop <= 0 and before.uploaded_bytes is not None and after.uploaded_bytes is not None \
                and after.uploaded_bytes - before.uploaded_bytes < (spend.amount or 0) * GIB / 2:
            return False
        return None
    if spend.spendtype == SpendType.PERSONAL_FL.value:
        if before.wedges is None or after.wedges is None:
            return None
        return True if after.wedges < before.wedges else None  # the torrent's flag is the better witness
    return None


def _snapshot_around(session: Session, at: datetime, *, after: bool) -> MamAccountSnapshot | None:
    ts = MamAccountSnapshot.fetched_at
    stmt = select(MamAccountSnapshot).where(MamAccountSnapshot.account == ACCOUNT)
    stmt = stmt.where(ts > at).order_by(ts.asc()) if after else stmt.where(ts <= at).order_by(ts.desc())
    return session.scalar(stmt.limit(1))


def resolve_unknown(session: Session) -> dict[str, str]:
    """Settle ``unknown`` upload and VIP purchases the snapshots around them explain; {key: outcome}."""
    out: dict[str, str] = {}
    rows = session.scalars(select(Spend).where(Spend.state == SpendState.UNKNOWN.value,
                                               Spend.spendtype.in_([SpendType.UPLOAD.value, SpendType.VIP.value])))
    for spend in rows:
        before = _snapshot_around(session, spend.created_at, after=False)
        after = _snapshot_around(session, spend.created_at, after=True)
        if before is None or after is None:
            continue
        verdict = judge(spend, accounts.to_snapshot(before), accounts.to_snapshot(after))
        if verdict is None:
            continue
        note = {"resolved_from_snapshots": [before.id, after.id]}
        settle(session, spend.key, verdict, response=note,
               error=None if verdict else "the account shows the purchase did not happen")
        out[spend.key] = "done" if verdict else "failed"
    return out
