"""``account.spend``: the purchases the governor plans, each recorded before it is made.

One run: mark purchases left ``intended`` by a run that died as ``unknown`` (the crash rule of
:mod:`shared.download.spends`), refresh the account (one request: the plan must see the effect of
every earlier purchase, and the refresh releases grabs whose governor gate opened), settle what the
snapshots explain, plan (:func:`shared.download.governor.plan_spends`), then for each intent: record
it and commit, call MAM's bonus store, settle. Under a dry run the intents are recorded and nothing
is sent. The client refuses ``gift`` and ``sendWedge`` before sending, and the plan cannot express
them in the first place.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Celery

from shared.download import decisions, spends
from shared.download.governor import SpendIntent, SpendType, plan_spends
from shared.download.governor_gates import release_open_gates
from shared.download.policy_store import load_policy
from shared.download.spend_jobs import ACCOUNT_SPEND
from shared.download.standing import recovering
from shared.engine.jobtypes import NoArgs
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import Parked, RateLimited, TransientError
from shared.infra.settings import get_settings
from shared.models.crawl import MamAccountSnapshot
from workers.base import job_task
from workers.context import JobContext
from workers.crawl.account import refresh
from workers.crawl.mam_client import MamClient
from workers.crawl.mam_errors import MamApiError, MamSessionInvalid
from workers.crawl.session import mam_session

log = logging.getLogger(__name__)

#: Spends older than this no longer matter to a plan (keys are per hour or per day).
RECENT = timedelta(days=2)


def _buy(client: MamClient, intent: SpendIntent) -> dict[str, Any]:
    purchase = client.bonus_buy(intent.spendtype.value, torrent_id=intent.torrent_id, amount=intent.amount,
                                duration=intent.duration or "max")
    return {"seedbonus": purchase.seedbonus, "answer": purchase.raw}


def perform(client: MamClient, intent: SpendIntent, *, dry_run: bool, job_id: Any) -> str:
    """Record, buy, settle one intent; its outcome (done, failed, unknown, dry_run, or exists:<state>)."""
    with session_scope() as s:
        claim = spends.intend(s, intent, dry_run=dry_run)
        outcome = ("dry_run" if dry_run else "intended") if claim.created else f"exists:{claim.spend.state}"
        decisions.record_spend(s, intent, job_id=job_id, dry_run=dry_run, outcome=outcome)
    if not claim.created or dry_run:
        return outcome
    try:
        answer = _buy(client, intent)
    except MamApiError as exc:  # MAM answered and said no: nothing was bought
        with session_scope() as s:
            spends.settle(s, intent.key, False, error=str(exc))
        return "failed"
    except (Parked, RateLimited, MamSessionInvalid):
        # Raised before the request left (no budget slot, the session gate closed) or answered 429/403,
        # which buy nothing: the purchase was certainly not made, so the re-run may make it.
        with session_scope() as s:
            spends.withdraw(s, intent.key)
        raise
    except TransientError as exc:  # a timeout or 5xx: MAM may have made it; the account will tell
        with session_scope() as s:
            spends.settle(s, intent.key, None, error=str(exc))
        log.warning("spend %s: MAM's answer was lost (%s); left unknown, never bought again blindly",
                    intent.key, exc)
        return "unknown"
    with session_scope() as s:
        spends.settle(s, intent.key, True, response=answer)
    log.info("spent about %s points: %s (%s)", intent.points, intent.key, intent.reason)
    return "done"


def account_spend(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """Refresh the account, then make the purchases the governor policy plans (see the module docstring)."""
    with session_scope() as s:
        policy = load_policy(s)
        abandoned = spends.mark_abandoned(s, (SpendType.UPLOAD, SpendType.VIP))
    dry_run = policy.dry_run or get_settings().dry_run
    outcomes: dict[str, str] = {}
    with mam_session(ctx) as client:
        snapshot_id, account = refresh(client)
        now = utcnow()
        with session_scope() as s:
            row = s.get(MamAccountSnapshot, snapshot_id)
            account_at = row.fetched_at if row is not None else None
            resolved = spends.resolve_unknown(s)
            intents = plan_spends(account, policy, now, spends.recent(s, now - RECENT), account_at=account_at,
                                  recovering=recovering(s, policy))
        for intent in intents:
            outcomes[intent.key] = perform(client, intent, dry_run=dry_run, job_id=ctx.job_id)
    with session_scope() as s:
        released = release_open_gates(s)  # the pace gate opens with time alone
    return {"snapshot_id": snapshot_id, "seedbonus": account.seedbonus, "dry_run": dry_run,
            "abandoned": abandoned, "resolved": resolved, "spends": outcomes, "released": released}


def register(app: Celery) -> None:
    job_task(app, ACCOUNT_SPEND)(account_spend)
