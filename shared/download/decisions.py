"""Every governor decision, kept with its reason: grab now, wait and why, spend what on what.

One row per decision in ``governor_decisions``, written also under a dry run (``dry_run`` says so), so a
person can read why a grab waited or what points were spent on (``GET /api/v1/account/governor``).
Writers flush, never commit: the caller owns the transaction, so a decision is stored with the effect
it explains or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.download.governor import GrabDecision, SpendIntent
from shared.download.states import DecisionKind
from shared.models.download import GovernorDecision

__all__ = ["latest", "record", "record_grab", "record_spend"]

#: A reason is for people; the longest ones the governor writes are a few hundred characters.
MAX_REASON = 2000


def record(
    session: Session,
    *,
    kind: DecisionKind,
    reason: str,
    wanted_id: int | None = None,
    torrent_id: int | None = None,
    download_id: int | None = None,
    job_id: uuid.UUID | None = None,
    dry_run: bool = False,
    details: Mapping[str, Any] | None = None,
) -> GovernorDecision:
    row = GovernorDecision(kind=kind.value, reason=reason[:MAX_REASON], wanted_id=wanted_id, torrent_id=torrent_id,
                           download_id=download_id, job_id=job_id, dry_run=dry_run, details=dict(details or {}))
    session.add(row)
    session.flush()
    return row


def record_grab(session: Session, decision: GrabDecision, *, wanted_id: int | None, torrent_id: int | None,
                download_id: int | None = None, job_id: uuid.UUID | None = None,
                dry_run: bool = False) -> GovernorDecision:
    """A grab decision as :func:`shared.download.governor.decide_grab` made it (gate and wedge in details)."""
    details = {**decision.details, "wait_on": decision.wait_on.value if decision.wait_on else None,
               "use_wedge": decision.use_wedge,
               "cost_kind": decision.cost_kind.value if decision.cost_kind else None}
    return record(session, kind=decision.kind, reason=decision.reason, wanted_id=wanted_id, torrent_id=torrent_id,
                  download_id=download_id, job_id=job_id, dry_run=dry_run, details=details)


def record_spend(session: Session, intent: SpendIntent, *, job_id: uuid.UUID | None = None,
                 dry_run: bool = False, outcome: str | None = None) -> GovernorDecision:
    return record(session, kind=DecisionKind.SPEND, reason=intent.reason, torrent_id=intent.torrent_id,
                  job_id=job_id, dry_run=dry_run, details={**intent.as_dict(), "outcome": outcome})


def latest(session: Session, limit: int = 20, *, kind: DecisionKind | None = None) -> list[GovernorDecision]:
    """The last ``limit`` decisions, newest first."""
    stmt = select(GovernorDecision)
    if kind is not None:
        stmt = stmt.where(GovernorDecision.kind == kind.value)
    return list(session.scalars(stmt.order_by(GovernorDecision.at.desc(), GovernorDecision.id.desc()).limit(limit)))
