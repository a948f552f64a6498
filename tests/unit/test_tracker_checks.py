"""The tracker rule of the seeding ledger (shared/download/tracker_checks.py, shared/download/obligations.py):
which seeds the monitor asks about, what an answer vouches for, and that seeding time is credited
only for intervals where the tracker was last seen working and the answer is fresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.download.obligations import Change, ObligationUpdate, open_obligation, tick
from shared.download.states import ObligationState
from shared.download.torrents import TorrentView
from shared.download.tracker_checks import (
    WORKING,
    Tracker,
    TrackerCheck,
    TrackerSeen,
    check_of,
    due,
    tracker_seen,
)
from shared.models.download import Download, Obligation
from tests.fixtures.qbit_fake import view

S = ObligationState
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CYCLE = 60.0
STALE = 2700.0
H = "cd" * 20


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def seen(working: bool | None, checked: float | None, now: float, message: str = "") -> TrackerSeen:
    return tracker_seen(check_of(working, message, None if checked is None else at(checked)), at(now), STALE)


def opened(v: TorrentView | None = None) -> Obligation:
    v = v or view(H)
    row = open_obligation(Download(id=1), T0, now=T0, view=v, tracker=WORKING)
    step(row, v, 0, WORKING)
    return row


def step(row: Obligation, v: TorrentView | None, t: float, tracker: TrackerSeen) -> ObligationUpdate:
    update = tick(row, v, at(t), tracker=tracker, max_step_s=2 * CYCLE, grace_s=600.0)
    update.apply(row)
    return update


# -- what an answer vouches for ---------------------------------------------------------------------


def test_a_working_answer_vouches_until_it_is_stale() -> None:
    assert seen(True, 0, 0) == WORKING
    assert seen(True, 0, STALE) == WORKING
    late = seen(True, 0, STALE + 1)
    assert late.state == Tracker.UNCONFIRMED
    assert late.reason == "its tracker has not been seen working since 2026-03-01T12:00+00:00"
    assert seen(True, 0, STALE + 600) == late, "a stable reason: the row is not rewritten every cycle for it"


def test_a_failed_answer_stands_whatever_its_age_and_never_checked_is_unconfirmed() -> None:
    failed = seen(False, 0, 10 * STALE, message="Unregistered torrent")
    assert failed == TrackerSeen(Tracker.NOT_WORKING, "its tracker is not working (Unregistered torrent)")
    assert seen(None, None, 0).state == Tracker.UNCONFIRMED
    assert check_of(True, None, None) is None and check_of(None, "x", T0) is None
    assert check_of(False, None, T0) == TrackerCheck(False, "", T0)


# -- which seeds are asked ----------------------------------------------------------------------------


def test_due_takes_the_never_checked_first_then_the_oldest_and_at_most_the_limit() -> None:
    candidates = [("a", at(0)), ("b", None), ("c", at(-600)), ("d", at(-1200)), ("e", None), ("f", at(-100))]
    assert due(candidates, at(0), check_s=300, limit=10) == ["b", "e", "d", "c"]
    assert due(candidates, at(0), check_s=300, limit=3) == ["b", "e", "d"]
    assert due(candidates, at(0), check_s=300, limit=0) == []


def test_a_round_robin_of_bounded_cost_reaches_every_seed_and_asks_none_too_often() -> None:
    hashes = [f"h{n:02d}" for n in range(25)]
    checked_at: dict[str, datetime | None] = dict.fromkeys(hashes)
    asked: list[tuple[int, str]] = []
    for cycle in range(12):
        now = at(cycle * CYCLE)
        picked = due(checked_at.items(), now, check_s=180, limit=10)
        assert len(picked) <= 10
        for h in picked:
            before = checked_at[h]
            assert before is None or (now - before).total_seconds() >= 180
            checked_at[h] = now
            asked.append((cycle, h))
    assert {h for c, h in asked if c < 3} == set(hashes), "every seed within three cycles"
    assert all(sum(1 for _, x in asked if x == h) >= 3 for h in hashes), "and again each round"


# -- crediting --------------------------------------------------------------------------------------


def test_a_tracker_failing_after_the_first_announce_stops_the_credit_although_qbittorrent_still_names_it() -> None:
    row = opened()
    step(row, view(H, seeding_time=60), CYCLE, WORKING)
    assert row.seeded_seconds == 60
    failing = TrackerSeen(Tracker.NOT_WORKING, "its tracker is not working (Connection refused)")
    sticky = view(H, seeding_time=120)
    assert sticky.tracker_ok, "sync/maindata still names the tracker that answered once"
    update = step(row, sticky, 2 * CYCLE, failing)
    assert update.credited == 0 and update.ours == 0 and update.qbit == 0
    assert row.state == S.OPEN and row.risk_reason == "stalledUP, but its tracker is not working (Connection refused)"
    changes = []
    for n in range(3, 14):
        update = step(row, view(H, seeding_time=60 * n), n * CYCLE, failing)
        assert update.credited == 0
        changes.append((n, update.change))
    assert [n for n, change in changes if change] == [12], "at risk once the grace (600 s) has passed, once"
    assert row.state == S.AT_RISK and row.risk_since == at(2 * CYCLE) and row.seeded_seconds == 60


def test_qbittorrents_catch_up_at_the_first_working_announce_is_not_credited_then_the_clock_resumes() -> None:
    row = opened(view(H, seeding_time=10))
    failing = TrackerSeen(Tracker.NOT_WORKING, "its tracker is not working (Connection refused)")
    for n in range(1, 12):
        step(row, view(H, seeding_time=10), n * CYCLE, failing)  # qBittorrent's counter stands still meanwhile
    assert row.state == S.AT_RISK and row.seeded_seconds == 0
    # the tracker is back: qBittorrent's counter jumps by the outage (seen on 4.5.2 with opentracker)
    update = step(row, view(H, seeding_time=10 + 660), 12 * CYCLE, WORKING)
    assert update.change == Change.RECOVERED and update.credited == 0, "that interval began with the tracker failing"
    update = step(row, view(H, seeding_time=10 + 720), 13 * CYCLE, WORKING)
    assert update.credited == 60 and row.seeded_seconds == 60


def test_an_unconfirmed_tracker_is_not_credited_and_never_reported_as_a_risk() -> None:
    row = opened()
    stale = TrackerSeen(Tracker.UNCONFIRMED, "its tracker has not been seen working since 2026-03-01T12:00+00:00")
    for n in range(1, 30):  # far beyond the grace
        update = step(row, view(H, seeding_time=60 * n), n * CYCLE, stale)
        assert update.credited == 0 and update.change is None
    assert row.state == S.OPEN and row.seeded_seconds == 0 and row.risk_reason is not None
    update = step(row, view(H, seeding_time=60 * 30), 30 * CYCLE, WORKING)
    assert update.credited == 0 and update.change is None, "confirmed at one end only"
    update = step(row, view(H, seeding_time=60 * 31), 31 * CYCLE, WORKING)
    assert update.credited == 60 and row.risk_reason is None


def test_an_unconfirmed_tracker_keeps_a_failure_standing_but_cannot_raise_one() -> None:
    row = opened()
    step(row, view(H, state="pausedUP"), CYCLE, WORKING)
    assert row.state == S.AT_RISK
    unconfirmed = TrackerSeen(Tracker.UNCONFIRMED, "its tracker has not been checked yet")
    update = step(row, view(H), 2 * CYCLE, unconfirmed)
    assert update.change == Change.RECOVERED and row.state == S.OPEN, "seeding again; its tracker still to confirm"


@pytest.mark.parametrize(("tracker", "credited"), [
    (WORKING, 1800.0),
    (TrackerSeen(Tracker.UNCONFIRMED, "its tracker has not been checked yet"), 0.0),
    (TrackerSeen(Tracker.NOT_WORKING, "its tracker is not working (x)"), 0.0),
])
def test_an_obligation_opens_with_qbittorrents_history_only_on_a_fresh_working_check(tracker: TrackerSeen,
                                                                                      credited: float) -> None:
    row = open_obligation(Download(id=1), T0 - timedelta(hours=1), now=T0, view=view(H, seeding_time=1800),
                          tracker=tracker)
    assert row.seeded_seconds == credited and row.qbit_seeding_time == 1800
