"""The member's standing: snapshots kept as a history, the freshness rule, and the shorthand line.

The API and the crawl workers both call these; the route stays thin and the search (which must
know the member's class before it can say what is free) asks :func:`needs_refresh` first.

The shorthand is the member's dashboard line, ``Up X | Dn X | Ratio | Class | BP/hr | Sat | Unsat |
Leech``. Sizes are binary units with one decimal ("1.2 TiB"). An unknown value is ``?`` (MAM's
``jsonLoad`` does not report bonus points per hour, so ``BP/hr ?`` is the usual case); an unknown
unsatisfied limit shows as ``Unsat 3/?``; a ratio with nothing downloaded is ``∞``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shared.crawl.session import ACCOUNT
from shared.crawl.torrent import AccountSnapshot
from shared.models.crawl import MamAccountSnapshot

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
UNKNOWN = "?"


def human_size(size: int | None) -> str:
    """Binary units, one decimal: 0 → "0 B", 1536 → "1.5 KiB", 1.2 TiB → "1.2 TiB"; None → "?"."""
    if size is None or size < 0:
        return UNKNOWN
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _ratio(snapshot: MamAccountSnapshot | AccountSnapshot) -> str:
    if snapshot.ratio is not None:
        return f"{snapshot.ratio:.2f}"
    if snapshot.downloaded_bytes == 0 and (snapshot.uploaded_bytes or 0) > 0:
        return "∞"
    return UNKNOWN


def _count(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def shorthand(snapshot: MamAccountSnapshot | AccountSnapshot | None) -> str:
    """``Up 1.2 TiB | Dn 310.4 GiB | Ratio 4.12 | VIP | BP/hr ? | Sat 12 | Unsat 3/150 | Leech 0``."""
    if snapshot is None:
        return " | ".join(("Up ?", "Dn ?", "Ratio ?", "Class ?", "BP/hr ?", "Sat ?", "Unsat ?", "Leech ?"))
    bp = UNKNOWN if snapshot.bonus_per_hour is None else f"{snapshot.bonus_per_hour:.1f}"
    if snapshot.unsat_count is None:
        unsat = UNKNOWN
    else:
        unsat = f"{snapshot.unsat_count}/{_count(snapshot.unsat_limit)}"
    return " | ".join((
        f"Up {human_size(snapshot.uploaded_bytes)}",
        f"Dn {human_size(snapshot.downloaded_bytes)}",
        f"Ratio {_ratio(snapshot)}",
        snapshot.classname or "Class ?",
        f"BP/hr {bp}",
        f"Sat {_count(snapshot.satisfied)}",
        f"Unsat {unsat}",
        f"Leech {_count(snapshot.leeching)}",
    ))


def needs_refresh(fetched_at: datetime | None, now: datetime, max_age: float) -> bool:
    """True when the standing is unknown or older than ``max_age`` seconds (a clock running backwards
    counts as fresh: the snapshot was just taken by a host ahead of ours)."""
    return fetched_at is None or now - fetched_at > timedelta(seconds=max_age)


def store_snapshot(session: Session, snapshot: AccountSnapshot, *, account: str = ACCOUNT) -> MamAccountSnapshot:
    """One history row from a parsed answer (``raw`` has had its secrets removed by the parser)."""
    row = MamAccountSnapshot(
        account=account, uid=snapshot.uid, username=snapshot.username, classname=snapshot.classname,
        ratio=snapshot.ratio, uploaded_bytes=snapshot.uploaded_bytes, downloaded_bytes=snapshot.downloaded_bytes,
        seedbonus=snapshot.seedbonus, bonus_per_hour=snapshot.bonus_per_hour, wedges=snapshot.wedges,
        vip_until=snapshot.vip_until, unsat_count=snapshot.unsat_count, unsat_limit=snapshot.unsat_limit,
        satisfied=snapshot.satisfied, seeding=snapshot.seeding, leeching=snapshot.leeching,
        raw=dict(snapshot.raw),
    )
    session.add(row)
    session.flush()
    return row


def latest(session: Session, *, account: str = ACCOUNT) -> MamAccountSnapshot | None:
    return session.scalar(
        select(MamAccountSnapshot).where(MamAccountSnapshot.account == account)
        .order_by(MamAccountSnapshot.fetched_at.desc(), MamAccountSnapshot.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class HistoryPage:
    items: list[MamAccountSnapshot]
    more: bool

    def last_key(self) -> tuple[str, int]:
        last = self.items[-1]
        return last.fetched_at.isoformat(), last.id


def history(session: Session, *, limit: int, before: tuple[datetime, int] | None = None,
            account: str = ACCOUNT) -> HistoryPage:
    """Newest first, ``limit`` rows after the keyset ``before`` (fetched_at, id)."""
    stmt = select(MamAccountSnapshot).where(MamAccountSnapshot.account == account)
    if before is not None:
        stmt = stmt.where(tuple_(MamAccountSnapshot.fetched_at, MamAccountSnapshot.id) < tuple_(*before))
    rows = list(session.scalars(
        stmt.order_by(MamAccountSnapshot.fetched_at.desc(), MamAccountSnapshot.id.desc()).limit(limit + 1)
    ))
    return HistoryPage(rows[:limit], len(rows) > limit)


def to_snapshot(row: MamAccountSnapshot) -> AccountSnapshot:
    """The stored row as the typed value the choice rules take (class, freeleech, unsatisfied)."""
    raw: dict[str, Any] = dict(row.raw or {})
    return AccountSnapshot(
        uid=row.uid, username=row.username, classname=row.classname, ratio=row.ratio,
        uploaded_bytes=row.uploaded_bytes, downloaded_bytes=row.downloaded_bytes, seedbonus=row.seedbonus,
        wedges=row.wedges, vip_until=row.vip_until, unsat_count=row.unsat_count, unsat_limit=row.unsat_limit,
        seeding=row.seeding, leeching=row.leeching, satisfied=row.satisfied, bonus_per_hour=row.bonus_per_hour,
        raw=raw,
    )
