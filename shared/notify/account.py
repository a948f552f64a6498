"""Notifications about the member's standing, read from two consecutive account snapshots.

Only the *onset* of a condition notifies (true now, not in the previous snapshot), so an hourly
refresh does not repeat "unsatisfied near the limit" all day; the dedupe key adds the day, so a
condition that clears and returns notifies again the next day at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shared.crawl.torrent import AccountSnapshot
from shared.notify.config import NotifyConfig, effective
from shared.notify.events import EventKind, notify


@dataclass(frozen=True, slots=True)
class AccountEvent:
    kind: EventKind
    title: str
    body: str


def _unsat_near(s: AccountSnapshot | None, headroom: int) -> bool:
    return (s is not None and s.unsat_count is not None and s.unsat_limit is not None
            and s.unsat_count >= s.unsat_limit - headroom)


def _vip_ending(s: AccountSnapshot | None, now: datetime, days: float) -> bool:
    return s is not None and s.is_vip and s.vip_until is not None and s.vip_until - now <= timedelta(days=days)


def _points_near(s: AccountSnapshot | None, near: float) -> bool:
    return s is not None and s.seedbonus is not None and s.seedbonus >= near


def account_events(previous: AccountSnapshot | None, current: AccountSnapshot, now: datetime,
                   config: NotifyConfig) -> list[AccountEvent]:
    out: list[AccountEvent] = []
    if _unsat_near(current, config.unsat_headroom) and not _unsat_near(previous, config.unsat_headroom):
        out.append(AccountEvent(EventKind.UNSAT_NEAR_LIMIT, "MAM: unsatisfied torrents near the limit",
                                f"{current.unsat_count} of {current.unsat_limit} unsatisfied: grabs will wait "
                                "until seeding satisfies some"))
    if _vip_ending(current, now, config.vip_days) and not _vip_ending(previous, now, config.vip_days):
        assert current.vip_until is not None
        out.append(AccountEvent(EventKind.VIP_EXPIRING, "MAM: VIP ending soon",
                                f"VIP ends {current.vip_until:%Y-%m-%d %H:%M} UTC"))
    if _points_near(current, config.points_near) and not _points_near(previous, config.points_near):
        out.append(AccountEvent(EventKind.POINTS_NEAR_CAP, "MAM: bonus points near the cap",
                                f"{current.seedbonus:,.0f} bonus points (MAM stops counting at 99,999)"))
    return out


def notify_account(session: Session, previous: AccountSnapshot | None, current: AccountSnapshot,
                   now: datetime) -> int:
    """Queue the notifications the new snapshot calls for; how many were queued."""
    sent = 0
    for event in account_events(previous, current, now, effective(session)):
        sent += notify(session, event.kind, event.title, event.body, once_key=f"{now:%Y-%m-%d}")
    return sent
