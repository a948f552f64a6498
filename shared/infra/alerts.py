"""Raise and resolve operator alerts (the ``alerts`` table): at most one open alert per kind.

Callers flush, never commit: an alert is raised in the same transaction as the state change it
reports (the MAM session marked invalid), so the two cannot disagree.
"""

from __future__ import annotations

from sqlalchemy import select, update
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
