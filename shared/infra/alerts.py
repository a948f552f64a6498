"""Raise and resolve operator alerts (the ``alerts`` table): at most one open alert per kind.

Callers flush, never commit: an alert is raised in the same transaction as the state change it
reports (the MAM session marked invalid), so the two cannot disagree. A message is shown as is by
``GET /api/v1/alerts``: callers put in it only what is already redacted (never a cookie or passkey).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.infra.clock import utcnow
from shared.models.alerts import Alert


def raise_alert(session: Session, kind: str, message: str) -> None:
    """Open an alert of ``kind``; a no-op while one is already open (its first message is kept)."""
    stmt = insert(Alert).values(kind=kind, message=message[:2000])
    session.execute(stmt.on_conflict_do_nothing(index_elements=["kind"], index_where=Alert.resolved_at.is_(None)))


def resolve_alerts(session: Session, kind: str) -> int:
    """Resolve the open alert of ``kind``, if any; returns how many were resolved (0 or 1)."""
    result = session.execute(
        update(Alert).where(Alert.kind == kind, Alert.resolved_at.is_(None)).values(resolved_at=utcnow())
        .returning(Alert.id)
    )
    return len(result.all())


def open_alert(session: Session, kind: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.kind == kind, Alert.resolved_at.is_(None)))


AlertState = Literal["open", "resolved", "all"]


@dataclass(frozen=True, slots=True)
class AlertPage:
    items: list[Alert]
    more: bool

    def last_key(self) -> tuple[str, int]:
        """The (created_at, id) the next page continues after."""
        last = self.items[-1]
        return last.created_at.isoformat(), last.id


def list_alerts(session: Session, *, state: AlertState = "open", limit: int = 50,
                before: tuple[datetime, int] | None = None) -> AlertPage:
    """Newest raised first, ``limit`` alerts after the keyset ``before`` (created_at, id)."""
    stmt = select(Alert)
    if state == "open":
        stmt = stmt.where(Alert.resolved_at.is_(None))
    elif state == "resolved":
        stmt = stmt.where(Alert.resolved_at.is_not(None))
    if before is not None:
        stmt = stmt.where(tuple_(Alert.created_at, Alert.id) < tuple_(*before))
    rows = list(session.scalars(stmt.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit + 1)))
    return AlertPage(rows[:limit], len(rows) > limit)
