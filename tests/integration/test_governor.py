"""The governor against real PostgreSQL: its policy in ``app_settings``, spends that are never made
twice, its standing read from the tables, its gates parking and releasing real jobs, and its routes.

- the policy: defaults until saved, a PUT replaces the whole object, a stored value that no longer
  validates falls back to the defaults visibly (``invalid-stored``), DELETE goes back;
- spends: a second ``intend`` with the same key returns the existing row and ``created`` False; eight
  threads intending one key at once make one row and exactly one of them may buy; settle, withdraw and
  the crash rule (``intended`` → ``unknown``, then settled from the snapshots around it);
- standing: our grabs in the last hour/day, those MAM has not counted yet and their paid bytes, the
  ratio's hysteresis read from the snapshot history;
- gates: a grab parked on ``governor:unsat`` through the engine's real ``park`` stays parked while a
  refresh shows no slot and is queued again by the refresh that shows one (the hook in
  ``workers.crawl.account.refresh``); a gate that opened before the park queues the job at once;
- ``GET /account/governor`` shows the figures, every gate, each waiting grab with its wanted id,
  torrent id and reason, and the last decisions.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from shared.crawl import account as accounts
from shared.crawl.torrent import AccountSnapshot
from shared.download import decisions, policy_store, spends
from shared.download.governor import GIB, Gate, GrabAsk, SpendIntent, SpendType, wedge_intent
from shared.download.governor_gates import parked, release_open_gates
from shared.download.policy import GovernorPolicy
from shared.download.standing import ask, local_counts, recovering, standing
from shared.download.states import DecisionKind, DownloadState
from shared.engine import gates
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.models.download import Download, GovernorDecision, Spend
from shared.models.jobs import Job, JobAttempt
from tests.integration.stack import api_headers
from workers.crawl.account import refresh
from workers.crawl.mam_client import MamClient

pytestmark = pytest.mark.usefixtures("settings_env")
MIB = 1024**2


def snapshot(**kw: Any) -> AccountSnapshot:
    base: dict[str, Any] = dict(uid=1, username="m", classname="Power User", ratio=2.0, uploaded_bytes=2000 * GIB,
                                downloaded_bytes=1000 * GIB, seedbonus=20_000.0, wedges=3, vip_until=None,
                                unsat_count=10, unsat_limit=50)
    base.update(kw)
    return AccountSnapshot(**base)


def store(at: datetime | None = None, **kw: Any) -> int:
    """A snapshot row, taken ``at`` (default now, the database's clock)."""
    with session_scope() as s:
        row = accounts.store_snapshot(s, snapshot(**kw))
        if at is not None:
            s.execute(update(type(row)).where(type(row).id == row.id).values(fetched_at=at))
        return row.id


def grab_row(torrent_id: int, *, created: datetime | None = None, cost: str = "free", size: int = 100 * MIB,
             completed: datetime | None = None, dry_run: bool = False) -> None:
    with session_scope() as s:
        s.add(Download(torrent_id=torrent_id, state=DownloadState.DOWNLOADING.value, source="grab", dry_run=dry_run,
                       cost_kind=cost, size_bytes=size, completed_at=completed, tags=[],
                       **({"created_at": created} if created else {})))


class FakeMam:
    """What ``refresh`` asks of the MAM client: the account, as MAM would answer now."""

    def __init__(self, answer: AccountSnapshot) -> None:
        self.answer = answer

    def account(self) -> AccountSnapshot:
        return self.answer


# -- the policy -----------------------------------------------------------------------------------


def test_policy_defaults_save_replace_invalid_and_delete() -> None:
    with session_scope() as s:
        first = policy_store.read_policy(s)
    assert first.source == "default" and first.policy == GovernorPolicy() and first.updated_at is None
    with session_scope() as s:
        policy_store.save_policy(s, GovernorPolicy(unsat_reserve=8, mode="cautious", auto_grab=True))
    with session_scope() as s:
        stored = policy_store.read_policy(s)
    assert stored.source == "stored" and stored.policy.unsat_reserve == 8 and stored.policy.auto_grab
    with session_scope() as s:  # a save replaces the whole object: fields left out go back to defaults
        policy_store.save_policy(s, GovernorPolicy(dry_run=True))
        assert policy_store.load_policy(s) == GovernorPolicy(dry_run=True)
    with session_scope() as s:
        s.execute(text("UPDATE app_settings SET value = CAST(:v AS jsonb) WHERE name = 'governor'"),
                  {"v": '{"unsat_reserve": -3, "retired_field": 1}'})
    with session_scope() as s:
        invalid = policy_store.read_policy(s)
    assert invalid.source == "invalid-stored" and invalid.policy == GovernorPolicy()
    assert "unsat_reserve" in (invalid.invalid_reason or "") and "retired_field" in (invalid.invalid_reason or "")
    with session_scope() as s:
        assert policy_store.delete_policy(s) is True
        assert policy_store.delete_policy(s) is False
        assert policy_store.read_policy(s).source == "default"


# -- spends ---------------------------------------------------------------------------------------


UPLOAD = SpendIntent(SpendType.UPLOAD, "upload:2025-03-14-15:1", "near the cap", 5000.0, amount=10.0)


def test_a_second_intend_with_the_same_key_returns_the_existing_row() -> None:
    with session_scope() as s:
        first = spends.intend(s, UPLOAD)
        first_id = first.spend.id
    assert first.created and first.spend.state == "intended"
    with session_scope() as s:
        again = spends.intend(s, replace_reason(UPLOAD, "a redelivered run"))
        assert not again.created and again.spend.id == first_id and again.spend.reason == "near the cap"
    with session_scope() as s:
        done = spends.settle(s, UPLOAD.key, True, response={"seedbonus": 85_000})
        assert done.state == "done" and done.settled_at is not None
        # settling again does not move a settled row
        assert spends.settle(s, UPLOAD.key, False, error="late").state == "done"
        assert spends.intend(s, UPLOAD).created is False
        assert s.scalar(select(func.count()).select_from(Spend)) == 1


def replace_reason(intent: SpendIntent, reason: str) -> SpendIntent:
    return SpendIntent(intent.spendtype, intent.key, reason, intent.points, amount=intent.amount)


def test_concurrent_intends_of_one_key_make_one_row_and_one_buyer() -> None:
    intent = wedge_intent(412345, "large paid grab")
    barrier = threading.Barrier(8)

    def claim() -> bool:
        barrier.wait(timeout=10)
        with session_scope() as s:
            return spends.intend(s, intent).created

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(claim) for _ in range(8)]
        created = [f.result(timeout=30) for f in futures]  # an error in a thread is raised here
    assert sorted(created) == [False] * 7 + [True]
    with session_scope() as s:
        rows = list(s.scalars(select(Spend)))
    assert len(rows) == 1 and rows[0].key == "wedge:412345" and rows[0].spendtype == "personalFL"


def test_dry_run_intents_are_kept_apart_from_real_ones() -> None:
    with session_scope() as s:
        dry = spends.intend(s, UPLOAD, dry_run=True)
        assert dry.created and dry.spend.key == "dry:" + UPLOAD.key and dry.spend.state == "dry_run"
        real = spends.intend(s, UPLOAD)
        assert real.created and real.spend.key == UPLOAD.key
        # recent() leaves dry runs out: they never block a plan
        assert [r.key for r in spends.recent(s, utcnow() - timedelta(hours=1))] == [UPLOAD.key]


def test_withdraw_only_forgets_an_intended_purchase() -> None:
    with session_scope() as s:
        spends.intend(s, UPLOAD)
        assert spends.withdraw(s, UPLOAD.key) is True
        assert spends.intend(s, UPLOAD).created is True  # the key is free again: the re-run may buy
        spends.settle(s, UPLOAD.key, None, error="timeout")
        assert spends.withdraw(s, UPLOAD.key) is False  # unknown: never forgotten


def test_the_crash_rule_marks_intended_unknown_and_the_snapshots_settle_it() -> None:
    store(at=utcnow() - timedelta(hours=2), seedbonus=95_000.0, classname="VIP",
          vip_until=datetime(2025, 3, 16, tzinfo=UTC))
    vip = SpendIntent(SpendType.VIP, "vip:2025-03-14", "renew", 5000.0, duration="4")
    with session_scope() as s:
        spends.intend(s, UPLOAD)
        spends.intend(s, vip)
        spends.intend(s, wedge_intent(7, "w"))  # a grab's: not the spend job's to mark
        s.execute(update(Spend).values(created_at=utcnow() - timedelta(hours=1)))
    with session_scope() as s:
        assert spends.mark_abandoned(s, (SpendType.UPLOAD, SpendType.VIP)) == 2
        states = {k: v for k, v in s.execute(select(Spend.key, Spend.state)).all()}
    assert states == {UPLOAD.key: "unknown", "vip:2025-03-14": "unknown", "wedge:7": "intended"}
    # the account afterwards: points dropped by the upload's price, VIP unchanged
    store(seedbonus=90_100.0, classname="VIP", vip_until=datetime(2025, 3, 16, tzinfo=UTC))
    with session_scope() as s:
        assert spends.resolve_unknown(s) == {UPLOAD.key: "done", "vip:2025-03-14": "failed"}
        rows = {r.key: r for r in s.scalars(select(Spend))}
    assert rows[UPLOAD.key].state == "done" and rows["vip:2025-03-14"].error


# -- standing -------------------------------------------------------------------------------------


def test_local_counts_and_the_hysteresis_memory() -> None:
    now = utcnow()
    snap_at = now - timedelta(hours=3)
    grab_row(1, created=now - timedelta(minutes=10), cost="paid", size=2 * GIB)
    grab_row(2, created=now - timedelta(minutes=50))
    grab_row(3, created=snap_at - timedelta(minutes=5), cost="paid", size=1 * GIB)  # inside MAM's lag
    grab_row(4, created=now - timedelta(hours=5), cost="paid", size=3 * GIB, completed=now - timedelta(hours=4))
    grab_row(5, created=now - timedelta(hours=30))
    grab_row(6, created=now - timedelta(minutes=5), dry_run=True)  # a dry run grabbed nothing
    with session_scope() as s:
        counts = local_counts(s, now, snap_at)
        assert (counts.grabs_last_hour, counts.grabs_last_day, counts.unsat_since_snapshot) == (2, 4, 3)
        assert counts.paid_bytes_since_snapshot == 3 * GIB  # #4 completed before the snapshot: in its figures
        assert local_counts(s, now, snap_at, exclude_torrent_id=1).grabs_last_hour == 1
        assert counts.wedges_since_snapshot == 0
        spends.intend(s, wedge_intent(1, "w"))  # recorded before it is made: it counts at once
        spends.intend(s, wedge_intent(2, "w"), dry_run=True)  # a dry run spends nothing
        spends.settle(s, spends.intend(s, wedge_intent(3, "w")).spend.key, False)  # refused: nothing spent
        assert local_counts(s, now, snap_at).wedges_since_snapshot == 1
    store(at=now - timedelta(hours=3), ratio=1.2)
    store(at=now - timedelta(hours=2), ratio=0.97)
    store(at=now - timedelta(hours=1), ratio=1.03)
    with session_scope() as s:
        assert recovering(s, GovernorPolicy()) is True
        assert recovering(s, GovernorPolicy(ratio_floor=0.9, ratio_recovery=1.0)) is False
        state = standing(s, now)
    assert state.account is not None and state.account.ratio == 1.03 and state.recovering
    assert state.age_s is not None and 3500 < state.age_s < 3700


def test_ask_decides_under_the_lock_and_records_are_readable() -> None:
    store(unsat_count=44)
    with session_scope() as s:
        d = ask(s, GrabAsk(free=True, size_bytes=100, torrent_id=11), utcnow())
        assert d.grab
        s.add(Download(torrent_id=11, state="pending", source="grab", cost_kind="free", tags=[]))
        decisions.record_grab(s, d, wanted_id=3, torrent_id=11)
    with session_scope() as s:  # the slot is taken: the next grab waits
        d2 = ask(s, GrabAsk(free=True, size_bytes=100, torrent_id=12), utcnow())
        assert d2.wait_on == Gate.UNSAT
        decisions.record_grab(s, d2, wanted_id=4, torrent_id=12, dry_run=True)
        # the asking torrent's own row does not count against it (a redelivered grab)
        assert ask(s, GrabAsk(free=True, size_bytes=100, torrent_id=11), utcnow()).grab
    with session_scope() as s:
        last = decisions.latest(s, 5)
        assert [(r.kind, r.torrent_id, r.dry_run) for r in last] == [("wait", 12, True), ("grab", 11, False)]
        assert last[0].details["wait_on"] == "governor:unsat" and "reserve 5" in last[0].reason


# -- gates ----------------------------------------------------------------------------------------


def running_grab(wanted_id: int, torrent_id: int) -> tuple[uuid.UUID, int]:
    """A download.grab job in its first attempt, as a worker's claim leaves it."""
    with session_scope() as s:
        job = Job(type="download.grab", queue="download", args={"wanted_id": wanted_id, "torrent_id": torrent_id},
                  state="running", attempts=1, lifetime_attempts=1, correlation_id="test")
        s.add(job)
        s.flush()
        attempt = JobAttempt(job_id=job.id, generation=1, number=1, worker="w", host="h", pid=1)
        s.add(attempt)
        s.flush()
        job.running_attempt_id = attempt.id
        return job.id, attempt.id


def park_grab(wanted_id: int, torrent_id: int) -> tuple[uuid.UUID, str]:
    job_id, attempt_id = running_grab(wanted_id, torrent_id)
    with session_scope() as s:
        decision = ask(s, GrabAsk(free=True, size_bytes=100, torrent_id=torrent_id), utcnow())
    assert decision.wait_on is not None, decision
    exc = parked(decision)
    with session_scope() as s:
        outcome = gates.park(s, job_id, attempt_id, gate=exc.gate, reason=str(exc), still_closed=exc.still_closed)
    return job_id, outcome


def job_state(job_id: uuid.UUID) -> tuple[str, str | None, int]:
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job.state, job.parked_on, job.attempts


def test_a_parked_grab_resumes_when_a_refresh_shows_a_free_slot() -> None:
    store(unsat_count=45)
    job_id, outcome = park_grab(5, 501)
    assert outcome == "parked"
    state, gate, attempts = job_state(job_id)
    assert (state, gate, attempts) == ("waiting", "governor:unsat", 0)  # a wait is not an attempt
    refresh(cast(MamClient, FakeMam(snapshot(unsat_count=46))))  # still full: stays parked
    assert job_state(job_id)[:2] == ("waiting", "governor:unsat")
    refresh(cast(MamClient, FakeMam(snapshot(unsat_count=44))))  # a torrent was satisfied: one slot
    assert job_state(job_id) == ("queued", None, 0)


def test_a_gate_that_opened_before_the_park_queues_the_job_at_once() -> None:
    store(unsat_count=45)
    job_id, attempt_id = running_grab(6, 601)
    with session_scope() as s:
        decision = ask(s, GrabAsk(free=True, size_bytes=100, torrent_id=601), utcnow())
    exc = parked(decision)
    store(unsat_count=30)  # a refresh lands between the decision and the park
    with session_scope() as s:
        assert gates.park(s, job_id, attempt_id, gate=exc.gate, reason=str(exc),
                          still_closed=exc.still_closed) == "queued"


def test_every_gate_releases_only_when_its_rule_opens() -> None:
    now = utcnow()
    store(at=now - timedelta(hours=5))  # stale for the default 2 h
    jobs: dict[str, uuid.UUID] = {}
    with session_scope() as s:
        for gate in Gate:
            job = Job(type="download.grab", queue="download", args={"wanted_id": 1, "torrent_id": 1},
                      state="waiting", parked_on=gate.value, correlation_id="t")
            s.add(job)
            s.flush()
            jobs[gate.value] = job.id
    with session_scope() as s:
        # stale account: the account gate stays shut; unsat/ratio/pace read this stale snapshot and are open
        released = release_open_gates(s, now=now)
    assert set(released) == {"governor:unsat", "governor:ratio", "governor:pace"}
    assert job_state(jobs["governor:account"])[0] == "waiting"
    assert all(job_state(jobs[g])[0] == "queued" for g in released)
    with session_scope() as s:
        policy_store.save_policy(s, GovernorPolicy(account_max_age_for_grab=6 * 3600))
        assert release_open_gates(s, now=now) == {"governor:account": 1, "governor:unsat": 0, "governor:ratio": 0,
                                                  "governor:pace": 0}


def test_pace_and_ratio_gates_follow_their_rules() -> None:
    now = utcnow()
    store(ratio=0.95)
    policy = GovernorPolicy(mode="cautious")
    with session_scope() as s:
        policy_store.save_policy(s, policy)
    grab_row(1, created=now - timedelta(minutes=5))
    grab_row(2, created=now - timedelta(minutes=6))
    with session_scope() as s:
        state = standing(s, now)
        from shared.download.governor_gates import closed

        assert closed(Gate.PACE, state) and closed(Gate.RATIO, state)
        assert not closed(Gate.UNSAT, state) and not closed(Gate.ACCOUNT, state)
    with session_scope() as s:  # an hour later the two grabs left the window
        assert not closed(Gate.PACE, standing(s, now + timedelta(minutes=61)))


# -- the API --------------------------------------------------------------------------------------


@pytest.fixture
def client(api_key: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from api.app import create_app

    with TestClient(create_app()) as c:
        yield c, api_headers(api_key)


def test_settings_governor_get_put_delete(client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    shown = c.get("/api/v1/settings/governor", headers=h)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["source"] == "default" and body["policy"] == GovernorPolicy().model_dump(mode="json")
    assert body["policy"]["unsat_reserve"] == 5 and body["policy"]["auto_grab"] is False
    put = c.put("/api/v1/settings/governor", headers=h, json={"unsat_reserve": 7, "mode": "cautious"})
    assert put.status_code == 200, put.text
    assert put.json()["source"] == "stored" and put.json()["policy"]["unsat_reserve"] == 7
    # a PUT replaces the whole object: mode goes back to its default
    again = c.put("/api/v1/settings/governor", headers=h, json={"ratio_floor": 1.1, "ratio_recovery": 1.2})
    assert again.json()["policy"]["mode"] == "normal" and again.json()["policy"]["unsat_reserve"] == 5
    bad = c.put("/api/v1/settings/governor", headers=h, json={"ratio_floor": 1.3})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert ["body", "ratio_recovery"] in [e["loc"] for e in bad.json()["errors"]]
    assert c.put("/api/v1/settings/governor", headers=h, json={"gift": True}).status_code == 422
    assert c.get("/api/v1/settings/governor", headers=h).json()["policy"]["ratio_floor"] == 1.1  # unchanged
    assert c.delete("/api/v1/settings/governor", headers=h).status_code == 204
    assert c.get("/api/v1/settings/governor", headers=h).json()["source"] == "default"
    assert c.get("/api/v1/settings/governor").status_code == 401


def test_a_policy_put_releases_the_grabs_its_new_reserve_allows(client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    store(unsat_count=45)
    job_id, outcome = park_grab(8, 801)
    assert outcome == "parked"
    put = c.put("/api/v1/settings/governor", headers=h, json={"unsat_reserve": 2})
    assert put.json()["released"]["governor:unsat"] == 1
    assert job_state(job_id)[0] == "queued"


def test_account_governor_shows_the_figures_the_gates_and_who_waits(
        client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    empty = c.get("/api/v1/account/governor", headers=h)
    assert empty.status_code == 200, empty.text
    assert empty.json()["account"]["fetched_at"] is None and empty.json()["gates"]["governor:account"] == "closed"

    store(unsat_count=44, ratio=0.98, seedbonus=90_000.0, wedges=12)
    grab_row(21, created=utcnow() - timedelta(minutes=3))
    job_id, outcome = park_grab(9, 901)
    assert outcome == "parked"
    with session_scope() as s:
        decisions.record(s, kind=DecisionKind.SPEND, reason="upload credit near the cap", dry_run=True)
    body = c.get("/api/v1/account/governor", headers=h).json()
    assert body["unsatisfied"] == {"count": 44, "not_yet_counted": 1, "used": 45, "limit": 50, "reserve": 5,
                                   "ceiling": 45, "free_slots": 0}
    assert body["ratio"] == {"value": 0.98, "floor": 1.0, "recovery": 1.05, "recovering": True, "paid_grabs": "held"}
    assert body["pace"] == {"mode": "normal", "last_hour": 1, "per_hour": 10, "last_day": 1, "per_day": 100}
    assert body["points"]["seedbonus"] == 90_000 and body["points"]["wedges"] == 12
    assert body["gates"] == {"governor:account": "open", "governor:unsat": "closed", "governor:ratio": "closed",
                             "governor:pace": "open"}
    (waiting,) = body["waiting"]
    assert waiting["job_id"] == str(job_id) and waiting["gate"] == "governor:unsat"
    assert (waiting["wanted_id"], waiting["torrent_id"]) == (9, 901) and "reserve 5" in waiting["reason"]
    assert body["decisions"][0]["kind"] == "spend" and body["decisions"][0]["dry_run"] is True
    assert body["auto_grab"] is False and body["dry_run"] is False
    limited = c.get("/api/v1/account/governor", headers=h, params={"decisions_limit": 0}).json()
    assert limited["decisions"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(GovernorDecision)) == 1
