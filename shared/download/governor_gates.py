"""Grabs that must wait are parked on a governor gate, and resume by themselves once it opens.

A grab the governor answers "wait" raises :func:`parked` (a :class:`~shared.infra.errors.Parked` for
the decision's gate): the engine keeps the job ``waiting`` on ``parked_on = 'governor:<rule>'``,
holding no worker and counting no attempt, however long the account needs (``shared.engine.gates``).
Each gate has a :func:`still_closed` check that re-reads its rule against the latest snapshot and our
own grabs; :func:`release_open_gates` runs every check under its gate's lock and queues again the jobs
of each gate found open. It is called:

- after every ``account.refresh`` stores a snapshot (``workers/crawl/account.py``): a refresh is what
  shows a free unsatisfied slot, a recovered ratio, or a fresh standing;
- after the policy is saved (a lower reserve or a faster pace can open a gate);
- at the end of every spend run (hourly: the pace gate opens with time alone).

A released grab asks the governor again; if another grab released with it took the one free slot,
it parks again (the decision is serialised by :func:`shared.download.standing.ask`). The ratio gate's
check is the ratio rule alone: a grab parked because *its own size* would take the ratio under the
floor is released with the others and parks again until the ratio can bear it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from shared.download.governor import Gate, GrabDecision, paid_held, unsat_ceiling
from shared.download.standing import Standing, standing
from shared.engine import gates
from shared.infra.clock import utcnow
from shared.infra.errors import Parked

__all__ = ["GATES", "Gate", "closed", "parked", "release_open_gates", "still_closed"]

GATES: tuple[Gate, ...] = (Gate.ACCOUNT, Gate.UNSAT, Gate.RATIO, Gate.PACE)


def _account_closed(state: Standing) -> bool:
    a = state.account
    return (a is None or state.age_s is None or state.age_s > state.policy.account_max_age_for_grab
            or a.unsat_count is None or a.unsat_limit is None)


def _unsat_closed(state: Standing) -> bool:
    if state.account is None or state.account.unsat_count is None:
        return True
    ceiling = unsat_ceiling(state.account, state.policy)
    return ceiling is None or state.account.unsat_count + state.local.unsat_since_snapshot >= ceiling


def _ratio_closed(state: Standing) -> bool:
    return state.account is None or paid_held(state.account, state.policy, state.recovering)


def _pace_closed(state: Standing) -> bool:
    per_hour, per_day = state.policy.pace()
    return state.local.grabs_last_hour >= per_hour or state.local.grabs_last_day >= per_day


_RULES: dict[Gate, Callable[[Standing], bool]] = {
    Gate.ACCOUNT: _account_closed, Gate.UNSAT: _unsat_closed, Gate.RATIO: _ratio_closed, Gate.PACE: _pace_closed,
}


def closed(gate: Gate, state: Standing) -> bool:
    """Is ``gate``'s rule still closed for ``state``? (Pure: the API shows every gate with it.)"""
    return _RULES[gate](state)


def still_closed(gate: Gate, *, now: Callable[[], datetime] = utcnow) -> Callable[[Session], bool]:
    """The re-check :func:`shared.engine.gates.park` runs under the gate's lock before parking."""

    def check(session: Session) -> bool:
        return closed(gate, standing(session, now()))

    return check


def parked(decision: GrabDecision) -> Parked:
    """What a grab raises for a ``wait`` decision: parked on its gate with the governor's reason."""
    if decision.wait_on is None:
        raise ValueError(f"not a wait decision: {decision.kind} ({decision.reason})")
    return Parked(decision.wait_on.value, f"governor: {decision.reason}", still_closed=still_closed(decision.wait_on))


def release_open_gates(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Queue again the grabs parked on every governor gate that is open now; {gate: jobs released}.

    Each gate is checked under its own lock (taken in a fixed order), so a grab about to park on it
    either parks before this release, and is released, or sees the gate open and is queued instead."""
    released: dict[str, int] = {}
    at = now or utcnow()
    state: Standing | None = None
    for gate in GATES:
        gates.gate_lock(session, gate.value)
        state = state or standing(session, at)
        if not closed(gate, state):
            released[gate.value] = gates.release(session, gate.value)
    return released
