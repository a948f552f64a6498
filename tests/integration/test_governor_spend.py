"""``account.spend`` against real PostgreSQL and Redis and the MAM simulator over real HTTP.

The body runs in this process (through ``mam_session``: the real budget, gate and client), as in
``test_top_list``. What is proved:

- a VIP member whose VIP ends in 3 days, with points near the cap: one run refreshes the account,
  renews VIP and buys upload credit until the points are back under the threshold; each purchase is a
  ``done`` row with MAM's answer and a ``spend`` decision; the simulator saw exactly those purchases
  and no ``gift``/``sendWedge``;
- a second run in the same hour, on the refreshed account, buys nothing more;
- under the policy's dry run the plan is recorded (``dry_run`` rows and decisions) and nothing is sent
  to the bonus store;
- the crash rule: an ``intended`` purchase left by a dead run becomes ``unknown``, is never sent again
  under its key, and the account read by the next run decides;
- MAM refusing a purchase settles it ``failed``; a 5xx leaves it ``unknown`` (never retried blindly);
- the refresh at the start of a run releases grabs parked on a governor gate the new standing opens.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.crawl import session as mam
from shared.download import policy_store
from shared.download.policy import GovernorPolicy
from shared.engine.jobtypes import NoArgs
from shared.engine.ratelimit import RateLimiter
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import RateLimited
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from shared.models.download import GovernorDecision, Spend
from shared.models.jobs import Job
from tests.integration.conftest import reset_singletons
from tests.sims.mam import MamSimState, serve_mam
from workers.context import JobContext
from workers.download.spend import account_spend

FAST_MAM = json.dumps({"mam": "50/1/50", "probe": "1000/1/100"})


@pytest.fixture
def mam_sim(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[MamSimState]:
    state = MamSimState()
    state.account.classname = "VIP"
    state.account.vip_until = datetime.now(UTC) + timedelta(days=3)
    state.account.seedbonus = 99_000.0
    base, stop = serve_mam(state)
    monkeypatch.setenv("MAMC_MAM_URL", base)
    monkeypatch.setenv("MAMC_RATE_LIMITS", FAST_MAM)
    reset_singletons()
    with session_scope() as s:
        mam.enter_cookie(s, state.session)
    yield state
    stop()


def ctx() -> JobContext[NoArgs]:
    return JobContext(job_id=uuid.uuid4(), job_type="account.spend", generation=1, attempt=1, correlation_id="t",
                      phase=None, args=NoArgs(), limiter=RateLimiter(get_redis(), get_settings().limits()),
                      worker_host="test", worker_pid=0, lifetime_attempts=1)


def spend_rows() -> dict[str, Spend]:
    with session_scope() as s:
        rows = list(s.scalars(select(Spend).order_by(Spend.id)))
        s.expunge_all()
    return {r.key: r for r in rows}


def hour_key(n: int) -> str:
    return f"upload:{utcnow():%Y-%m-%d-%H}:{n}"


def test_a_run_renews_vip_and_spends_points_before_the_cap_once(mam_sim: MamSimState) -> None:
    result = account_spend(ctx())

    # 99,000 points: VIP (5,000) leaves 94,000; one 10 GB step (5,000) brings it under 89,999
    assert [p["spendtype"] for p in mam_sim.purchases] == ["VIP", "upload"]
    assert mam_sim.purchases[0]["duration"] == "4" and mam_sim.purchases[1]["amount"] == "10"
    assert mam_sim.forbidden_spends == []
    assert mam_sim.account.seedbonus == 89_000.0
    rows = spend_rows()
    assert {k: r.state for k, r in rows.items()} == {f"vip:{utcnow():%Y-%m-%d}": "done", hour_key(1): "done"}
    assert all(r.response.get("answer", {}).get("success") is True for r in rows.values())
    assert result["spends"] == {k: "done" for k in rows} and result["dry_run"] is False
    with session_scope() as s:
        kinds = [d.kind for d in s.scalars(select(GovernorDecision))]
    assert kinds == ["spend"] * 2

    again = account_spend(ctx())  # same hour: the refreshed account shows 89,000 points, VIP renewed
    assert again["spends"] == {} and len(mam_sim.purchases) == 2
    assert [e.route for e in mam_sim.log].count("account") == 2


def test_dry_run_records_the_plan_and_sends_nothing_to_the_store(mam_sim: MamSimState) -> None:
    with session_scope() as s:
        policy_store.save_policy(s, GovernorPolicy(dry_run=True))
    result = account_spend(ctx())
    assert result["dry_run"] is True and set(result["spends"].values()) == {"dry_run"}
    assert mam_sim.requests_to("bonus") == [] and mam_sim.purchases == []
    rows = spend_rows()
    assert len(rows) == 2 and all(k.startswith("dry:") and r.state == "dry_run" for k, r in rows.items())
    with session_scope() as s:
        assert all(d.dry_run for d in s.scalars(select(GovernorDecision)))


def test_a_purchase_left_intended_by_a_dead_run_is_never_sent_again(mam_sim: MamSimState) -> None:
    mam_sim.account.classname = "Power User"  # no VIP to renew: only upload credit
    mam_sim.account.vip_until = None
    with session_scope() as s:
        s.add(Spend(key=hour_key(1), spendtype="upload", amount=10.0, points=5000.0, state="intended",
                    reason="a run that died", response={}))
    result = account_spend(ctx())
    assert result["abandoned"] == 1
    rows = spend_rows()
    assert rows[hour_key(1)].state == "unknown"
    # the fresh account still shows 99,000 points (the lost purchase never reached MAM): the plan buys
    # under the next free keys, never under the abandoned one
    assert [k for k, r in rows.items() if r.state == "done"] == [hour_key(2), hour_key(3)]
    assert len(mam_sim.purchases) == 2 and mam_sim.account.seedbonus == 89_000.0


def test_a_refused_purchase_is_failed_and_the_next_one_still_runs(mam_sim: MamSimState) -> None:
    mam_sim.account.classname = "Power User"  # upload credit only
    mam_sim.account.vip_until = None
    mam_sim.error_json("Not enough bonus points", route="bonus")
    result = account_spend(ctx())
    rows = spend_rows()
    assert rows[hour_key(1)].state == "failed" and "Not enough bonus points" in (rows[hour_key(1)].error or "")
    assert rows[hour_key(2)].state == "done" and result["spends"] == {hour_key(1): "failed", hour_key(2): "done"}
    assert len(mam_sim.purchases) == 1


def test_a_lost_answer_is_unknown_and_a_purchase_never_sent_is_withdrawn(mam_sim: MamSimState) -> None:
    mam_sim.account.classname = "Power User"
    mam_sim.account.vip_until = None
    mam_sim.fail(502, route="bonus")  # the first purchase's answer is lost; MAM's back-off then holds the rest
    with pytest.raises(RateLimited):
        account_spend(ctx())
    rows = spend_rows()
    # the first may have gone through: unknown, never retried under its key; the second never left
    # (the account's back-off stopped it before sending): withdrawn, so the next run may make it
    assert list(rows) == [hour_key(1)] and rows[hour_key(1)].state == "unknown"
    assert "502" in (rows[hour_key(1)].error or "") and mam_sim.purchases == []
    assert len(mam_sim.requests_to("bonus")) == 1


def test_the_refresh_releases_grabs_whose_gate_opened(mam_sim: MamSimState) -> None:
    mam_sim.account.unsat_count = 12  # 12 of 100: far from the ceiling
    with session_scope() as s:
        job = Job(type="download.grab", queue="download", args={"wanted_id": 1, "torrent_id": 2},
                  state="waiting", parked_on="governor:unsat", correlation_id="t")
        s.add(job)
        s.flush()
        job_id = job.id
    result = account_spend(ctx())
    with session_scope() as s:
        row = s.get(Job, job_id)
        assert row is not None and row.state == "queued" and row.parked_on is None
    assert result["snapshot_id"] > 0
