"""Seeding-obligation accounting (shared/download/obligations.py): what is credited, and when an
obligation is met, at risk or failed. Every case is a situation the monitor meets in the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.download.obligations import (
    REQUIRED_SECONDS,
    WINDOW_SECONDS,
    Change,
    ObligationUpdate,
    open_obligation,
    owed_seconds,
    risk_of,
    tick,
)
from shared.download.states import ObligationState
from shared.download.torrents import TorrentView
from shared.download.tracker_checks import WORKING
from shared.models.download import Download, Obligation
from tests.fixtures.qbit_fake import view

S = ObligationState
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CYCLE = 60.0
STEP = 2 * CYCLE
H = "ab" * 20


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def opened(*, seeding_time: int = 0, completed: datetime = T0, now: datetime = T0,
           v: TorrentView | None = None) -> Obligation:
    row = open_obligation(Download(id=7), completed, now=now, tracker=WORKING,
                          view=v or view(H, seeding_time=seeding_time))
    step(row, v or view(H, seeding_time=seeding_time), now)
    return row


def step(row: Obligation, v: TorrentView | None, now: datetime, **kw: float) -> ObligationUpdate:
    update = tick(row, v, now, tracker=WORKING, max_step_s=kw.get("max_step_s", STEP),
                  grace_s=kw.get("grace_s", 600.0))
    update.apply(row)
    return update


def cycles(row: Obligation, n: int, *, start: float, v: TorrentView | None = None) -> float:
    """Run ``n`` monitor cycles of 60 s after ``start``; returns the time of the last one."""
    t = start
    for _ in range(n):
        t += CYCLE
        step(row, v or view(H, seeding_time=0), at(t))
    return t


def test_an_obligation_opens_owing_72_hours_within_30_days_of_completion() -> None:
    row = opened()
    assert row.state == S.OPEN and row.required_seconds == REQUIRED_SECONDS == 72 * 3600
    assert row.deadline == T0 + timedelta(seconds=WINDOW_SECONDS) == T0 + timedelta(days=30)
    assert row.seeded_seconds == 0 and row.last_tick_at == T0 and owed_seconds(row) == 72 * 3600


def test_an_idle_seed_accumulates_by_our_clock_although_qbittorrents_counter_stands_still() -> None:
    row = opened(seeding_time=11)
    cycles(row, 60, start=0, v=view(H, seeding_time=11))  # gotcha 10: the counter stays at 11
    assert row.seeded_seconds == pytest.approx(3600)
    assert row.qbit_seeding_time == 11 and row.state == S.OPEN


def test_a_monitor_outage_counts_only_two_cycles_when_qbittorrent_saw_nothing() -> None:
    row = opened()
    update = step(row, view(H, seeding_time=0), at(6 * 3600))  # six hours without a look, an idle seed
    assert update.ours == STEP and update.qbit == 0
    assert row.seeded_seconds == STEP


def test_qbittorrents_counter_covers_our_outage_when_the_seed_was_active() -> None:
    row = opened(seeding_time=100)
    update = step(row, view(H, seeding_time=100 + 6 * 3600), at(6 * 3600))
    assert update.qbit == 6 * 3600 and update.ours == STEP
    assert update.credited == 6 * 3600, "the larger witness, never the sum"
    assert row.seeded_seconds == 6 * 3600


def test_the_two_witnesses_are_never_added() -> None:
    row = opened(seeding_time=0)
    update = step(row, view(H, seeding_time=60), at(60))
    assert update.ours == 60 and update.qbit == 60 and update.credited == 60


def test_qbittorrents_counter_is_never_credited_beyond_the_wall_time() -> None:
    row = opened(seeding_time=0)
    update = step(row, view(H, seeding_time=10_000), at(60))
    assert update.qbit == 60 and row.seeded_seconds == 60


def test_a_counter_that_went_back_means_qbittorrent_started_over_its_new_value_is_the_advance() -> None:
    row = opened(seeding_time=50_000)
    cycles(row, 10, start=0, v=view(H, seeding_time=50_000))
    before = row.seeded_seconds
    # qBittorrent restarted without its resume data, 40 s after our last look, and has seeded 30 s since
    update = step(row, view(H, seeding_time=30), at(660 + 90 * 60))
    assert update.qbit == 30 and update.ours == STEP
    assert row.seeded_seconds == before + STEP and row.qbit_seeding_time == 30
    # the new counter is the baseline from now on
    update = step(row, view(H, seeding_time=90), at(660 + 91 * 60))
    assert update.qbit == 60


def test_a_counter_that_survived_a_qbittorrent_restart_keeps_crediting() -> None:
    row = opened(seeding_time=0)
    cycles(row, 5, start=0, v=view(H, seeding_time=0))
    update = step(row, view(H, seeding_time=1800), at(300 + 1800))  # restarted, kept its counter, seeded on
    assert update.credited == 1800


def test_met_exactly_at_72_hours() -> None:
    row = opened()
    row.seeded_seconds = REQUIRED_SECONDS - CYCLE
    update = step(row, view(H), at(CYCLE))
    assert row.seeded_seconds == REQUIRED_SECONDS
    assert update.change == Change.MET and row.state == S.MET and row.met_at == at(CYCLE)


def test_one_second_short_is_not_met() -> None:
    row = opened()
    row.seeded_seconds = REQUIRED_SECONDS - CYCLE - 1
    step(row, view(H), at(CYCLE))
    assert row.state == S.OPEN and owed_seconds(row) == 1


def test_met_is_final_whatever_happens_to_the_torrent_after() -> None:
    row = opened()
    row.seeded_seconds = REQUIRED_SECONDS
    step(row, view(H), at(CYCLE))
    update = step(row, None, at(2 * CYCLE))
    assert update.change is None and row.state == S.MET and row.met_at == at(CYCLE) and row.risk_reason is None


@pytest.mark.parametrize(("v", "reason"), [
    (view(H, state="pausedUP"), "stopped in qBittorrent (pausedUP)"),
    (view(H, state="stoppedUP"), "stopped in qBittorrent (stoppedUP)"),
    (view(H, state="error"), "errored in qBittorrent (error)"),
    (view(H, state="missingFiles"), "errored in qBittorrent (missingFiles)"),
    (None, "gone from qBittorrent"),
])
def test_a_stopped_errored_or_missing_torrent_is_at_risk_at_once(v: TorrentView | None, reason: str) -> None:
    row = opened()
    cycles(row, 3, start=0)
    update = step(row, v, at(240))
    assert update.change == Change.AT_RISK and row.state == S.AT_RISK
    assert row.risk_reason == reason and row.risk_since == at(240)
    assert update.ours == 0, "the interval that ended stopped is not ours to credit"


def test_a_brief_not_seeding_is_at_risk_only_after_the_grace() -> None:
    row = opened()
    step(row, view(H, state="checkingUP"), at(60))
    assert row.state == S.OPEN and row.risk_since == at(60) and row.risk_reason == "not seeding (checkingUP)"
    step(row, view(H, tracker_ok=False), at(120))  # seeding, but the announce failed
    assert row.state == S.OPEN and row.risk_since == at(60)
    update = step(row, view(H, tracker_ok=False), at(660))
    assert update.change == Change.AT_RISK and row.risk_reason == "stalledUP, but the tracker is not answering"
    assert row.seeded_seconds == 0, "nothing was credited while the torrent was not announcing"


def test_a_seed_whose_tracker_fails_gets_no_credit_from_qbittorrents_counter() -> None:
    row = opened()
    update = step(row, view(H, seeding_time=60, tracker_ok=False), at(60))
    assert update.credited == 0 and row.qbit_seeding_time == 60


def test_recovery_clears_the_risk_and_credits_from_the_first_seeding_look_on() -> None:
    row = opened()
    step(row, view(H, state="pausedUP"), at(60))
    assert row.state == S.AT_RISK
    update = step(row, view(H), at(3600))  # resumed at some point in this hour: not ours to credit
    assert update.change == Change.RECOVERED and row.state == S.OPEN
    assert row.risk_reason is None and row.risk_since is None and update.credited == 0
    update = step(row, view(H), at(3660))
    assert update.credited == 60


def test_the_window_closing_unmet_fails_the_obligation_and_seeding_on_still_meets_it_late() -> None:
    row = opened()
    row.seeded_seconds = REQUIRED_SECONDS - 3600
    deadline = row.deadline
    update = step(row, view(H, state="pausedUP"), deadline - timedelta(seconds=60))
    assert row.state == S.AT_RISK
    update = step(row, view(H, state="pausedUP"), deadline)
    assert update.change == Change.FAILED and row.state == S.FAILED
    t = deadline
    for _ in range(61):
        t += timedelta(seconds=CYCLE)
        update = step(row, view(H), t)
    assert update.change == Change.MET and row.state == S.MET and row.met_at is not None and row.met_at > deadline


def test_a_failed_obligation_stays_failed_while_not_seeding() -> None:
    row = opened()
    step(row, None, row.deadline + timedelta(seconds=1))
    update = step(row, None, row.deadline + timedelta(seconds=61))
    assert row.state == S.FAILED and update.change is None and row.risk_reason == "gone from qBittorrent"


def test_opening_credits_qbittorrents_counter_since_completion_bounded_by_the_time_since() -> None:
    done = T0 - timedelta(hours=2)
    row = open_obligation(Download(id=1), done, now=T0, tracker=WORKING, view=view(H, seeding_time=3000))
    assert row.seeded_seconds == 3000 and row.qbit_seeding_time == 3000 and row.deadline == done + timedelta(days=30)
    row = open_obligation(Download(id=1), T0 - timedelta(seconds=40), now=T0, tracker=WORKING,
                          view=view(H, seeding_time=3000))
    assert row.seeded_seconds == 40, "a counter larger than the time since completion is not believed"
    row = open_obligation(Download(id=1), done, now=T0, tracker=WORKING,
                          view=view(H, seeding_time=3000, tracker_ok=False))
    assert row.seeded_seconds == 0


def test_a_torrent_found_complete_long_after_with_its_hours_seeded_is_met_on_sight() -> None:
    done = T0 - timedelta(days=5)
    v = view(H, seeding_time=80 * 3600)
    row = open_obligation(Download(id=1), done, now=T0, tracker=WORKING, view=v)
    update = step(row, v, T0)
    assert update.change == Change.MET and row.state == S.MET


def test_custom_figures() -> None:
    row = open_obligation(Download(id=1), T0, now=T0, tracker=WORKING, view=view(H), required_s=600, window_s=3600)
    step(row, view(H), T0)
    cycles(row, 10, start=0)
    assert row.state == S.MET
    row = open_obligation(Download(id=2), T0, now=T0, tracker=WORKING, view=view(H), required_s=600, window_s=3600)
    step(row, None, at(3600))
    assert row.state == S.FAILED


def test_risk_of_names_every_kind_of_not_seeding() -> None:
    assert risk_of(view(H), WORKING) is None
    assert risk_of(view(H, state="uploading"), WORKING) is None
    assert risk_of(view(H, state="forcedUP"), WORKING) is None
    soft = risk_of(view(H, state="downloading", progress=0.5), WORKING)
    assert soft is not None and not soft.hard
    hard = risk_of(view(H, state="pausedDL", progress=0.5), WORKING)
    assert hard is not None and hard.hard
