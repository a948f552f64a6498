"""The account governor: its policy (``/settings/governor``) and what it sees now (``/account/governor``).

``PUT /settings/governor`` replaces the whole policy (:class:`shared.download.policy.GovernorPolicy`:
unknown fields refused, a field left out takes its default, every bound a ``422`` naming the field);
the grabs parked on a gate the new policy opens resume at once. ``GET /account/governor`` shows the
governor's inputs and verdicts: unsatisfied used against the limit and reserve, the ratio against the
floor (and whether it is recovering), the mode and its pace, points and wedges, each gate open or
closed, every grab waiting on a gate with its reason, and the last decisions and spends. The gateway
never calls MAM: the figures are the latest snapshot the crawl pool stored. Rules live in
``shared.download``; the routes read, call, commit and shape.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import get_session
from api.problems import documented
from shared.download import decisions, policy_store
from shared.download.governor import current_ratio, paid_held, unsat_ceiling
from shared.download.governor_gates import GATES, closed, release_open_gates
from shared.download.policy import GovernorPolicy
from shared.download.schemas import DecisionOut, SpendOut
from shared.download.standing import Standing, standing
from shared.infra.clock import utcnow
from shared.models.download import Spend
from shared.models.jobs import Job

router = APIRouter(tags=["governor"])
SessionDep = Annotated[Session, Depends(get_session)]


class GovernorPolicyOut(BaseModel):
    """The effective policy (what the governor decides under now) and where it came from."""

    policy: GovernorPolicy
    source: policy_store.PolicySource = Field(
        description="stored: saved through this API; default: nothing saved; invalid-stored: a saved policy "
                    "no longer validates and the defaults are used (see invalid_reason)")
    updated_at: datetime | None = Field(description="when the stored policy was saved; null when none is")
    invalid_reason: str | None = Field(description="why the stored policy was set aside (invalid-stored only)")
    released: dict[str, int] = Field(default_factory=dict,
                                     description="PUT only: grabs released from each gate the new policy opened")


def _policy_view(session: Session, released: dict[str, int] | None = None) -> GovernorPolicyOut:
    stored = policy_store.read_policy(session)
    return GovernorPolicyOut(policy=stored.policy, source=stored.source, updated_at=stored.updated_at,
                             invalid_reason=stored.invalid_reason, released=released or {})


@router.get("/settings/governor", response_model=GovernorPolicyOut, tags=["settings"])
def read_governor_policy(session: SessionDep) -> GovernorPolicyOut:
    return _policy_view(session)


@router.put("/settings/governor", response_model=GovernorPolicyOut, tags=["settings"], responses=documented(422))
def write_governor_policy(body: GovernorPolicy, session: SessionDep) -> GovernorPolicyOut:
    """Replace the policy (no merge: a field left out takes its default); grabs parked on a gate it opens resume."""
    policy_store.save_policy(session, body)
    released = release_open_gates(session)
    session.commit()
    return _policy_view(session, released)


@router.delete("/settings/governor", status_code=204, tags=["settings"])
def reset_governor_policy(session: SessionDep) -> Response:
    """Forget the stored policy, valid or not: the defaults apply again (auto-grab off). Idempotent."""
    policy_store.delete_policy(session)
    release_open_gates(session)
    session.commit()
    return Response(status_code=204)


class AccountStateOut(BaseModel):
    fetched_at: datetime | None = Field(description="when the latest snapshot was taken; null before the first")
    age_seconds: float | None
    max_age_seconds: float = Field(description="older than this, grabs wait for a refresh")
    classname: str | None


class UnsatOut(BaseModel):
    count: int | None = Field(description="unsatisfied torrents in MAM's latest snapshot")
    not_yet_counted: int = Field(description="our grabs MAM's snapshot may not count yet (added to count)")
    used: int | None = Field(description="count + not_yet_counted")
    limit: int | None
    reserve: int
    ceiling: int | None = Field(description="limit - reserve: grabs wait when used reaches it")
    free_slots: int | None


class RatioOut(BaseModel):
    value: float | None = Field(description="MAM's ratio; null when MAM did not report it, or when nothing was "
                                            "downloaded yet (an infinite ratio)")
    floor: float
    recovery: float
    recovering: bool = Field(description="fell below the floor and has not reached recovery since")
    paid_grabs: str = Field(description="allowed, or held (only free grabs run)")


class PaceOut(BaseModel):
    mode: str
    last_hour: int
    per_hour: int
    last_day: int
    per_day: int


class PointsOut(BaseModel):
    seedbonus: float | None
    cap: float
    reserve: float
    wedges: int | None
    wedge_reserve: int
    vip_until: datetime | None


class WaitingOut(BaseModel):
    job_id: uuid.UUID
    gate: str
    wanted_id: int | None
    torrent_id: int | None
    reason: str | None
    since: datetime


class GovernorOut(BaseModel):
    account: AccountStateOut
    unsatisfied: UnsatOut
    ratio: RatioOut
    pace: PaceOut
    points: PointsOut
    auto_grab: bool
    dry_run: bool
    gates: dict[str, str] = Field(description="each governor gate: open or closed now")
    waiting: list[WaitingOut] = Field(description="grabs parked on a governor gate, oldest first")
    decisions: list[DecisionOut] = Field(description="the last decisions, newest first")
    spends: list[SpendOut] = Field(description="the last bonus-point spends, newest first")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def waiting(session: Session) -> list[WaitingOut]:
    rows = session.scalars(select(Job).where(Job.state == "waiting", Job.parked_on.like("governor:%"))
                           .order_by(Job.updated_at.asc(), Job.id.asc()))
    return [WaitingOut(job_id=j.id, gate=j.parked_on or "", wanted_id=_int((j.args or {}).get("wanted_id")),
                       torrent_id=_int((j.args or {}).get("torrent_id")), reason=j.error, since=j.updated_at)
            for j in rows]


def _unsat(state: Standing) -> UnsatOut:
    a, local = state.account, state.local.unsat_since_snapshot
    count = a.unsat_count if a is not None else None
    ceiling = unsat_ceiling(a, state.policy) if a is not None else None
    used = None if count is None else count + local
    return UnsatOut(count=count, not_yet_counted=local, used=used, limit=a.unsat_limit if a else None,
                    reserve=state.policy.unsat_reserve, ceiling=ceiling,
                    free_slots=None if used is None or ceiling is None else max(0, ceiling - used))


def _ratio(state: Standing) -> RatioOut:
    p, a = state.policy, state.account
    value = current_ratio(a) if a is not None else None
    held = a is None or paid_held(a, p, state.recovering)
    return RatioOut(value=value if value is not None and math.isfinite(value) else None, floor=p.ratio_floor,
                    recovery=p.ratio_recovery, recovering=state.recovering, paid_grabs="held" if held else "allowed")


@router.get("/account/governor", response_model=GovernorOut, tags=["account"])
def read_governor(session: SessionDep, decisions_limit: Annotated[int, Query(ge=0, le=500)] = 20) -> GovernorOut:
    state = standing(session, utcnow())
    p, a = state.policy, state.account
    per_hour, per_day = p.pace()
    spends = session.scalars(select(Spend).order_by(Spend.created_at.desc(), Spend.id.desc()).limit(20))
    return GovernorOut(
        account=AccountStateOut(fetched_at=state.fetched_at, age_seconds=state.age_s,
                                max_age_seconds=p.account_max_age_for_grab, classname=a.classname if a else None),
        unsatisfied=_unsat(state),
        ratio=_ratio(state),
        pace=PaceOut(mode=p.mode, last_hour=state.local.grabs_last_hour, per_hour=per_hour,
                     last_day=state.local.grabs_last_day, per_day=per_day),
        points=PointsOut(seedbonus=a.seedbonus if a else None, cap=p.points_cap, reserve=p.points_reserve,
                         wedges=a.wedges if a else None, wedge_reserve=p.wedge_reserve,
                         vip_until=a.vip_until if a else None),
        auto_grab=p.auto_grab, dry_run=p.dry_run,
        gates={g.value: "closed" if closed(g, state) else "open" for g in GATES},
        waiting=waiting(session),
        decisions=[DecisionOut.of(d) for d in decisions.latest(session, decisions_limit)],
        spends=[SpendOut.of(s) for s in spends],
    )
