"""The monitor's pure rules (shared/download/monitoring.py): row states, stalls, share limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.download.monitoring import (
    StallFacts,
    StallStep,
    download_state,
    global_limit_problems,
    is_complete,
    needs_no_limits,
    stall_step,
)
from shared.download.states import DownloadState
from shared.download.torrents import ShareLimits
from tests.fixtures.qbit_fake import view

D = DownloadState
H = "cd" * 20
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(("state", "progress", "current", "expected"), [
    ("stalledUP", 1.0, D.DOWNLOADING, D.SEEDING),
    ("uploading", 1.0, D.SEEDING, D.SEEDING),
    ("pausedUP", 1.0, D.SEEDING, D.PAUSED),
    ("stoppedUP", 1.0, D.SEEDING, D.PAUSED),  # qBittorrent 5 names
    ("error", 1.0, D.SEEDING, D.ERRORED),
    ("missingFiles", 1.0, D.SEEDING, D.ERRORED),
    ("downloading", 0.4, D.DOWNLOADING, D.DOWNLOADING),
    ("stalledDL", 0.4, D.STALLED, D.STALLED),  # reported stays reported until it moves
    ("pausedDL", 0.4, D.STALLED, D.DOWNLOADING),
    ("checkingUP", 0.3, D.SEEDING, D.SEEDING),  # a check after a restart says nothing lasting
    ("checkingResumeData", 0.0, D.PAUSED, D.PAUSED),
    ("checkingDL", 0.3, D.MISSING, D.DOWNLOADING),
])
def test_row_state_from_qbittorrents(state: str, progress: float, current: D, expected: D) -> None:
    assert download_state(view(H, state=state, progress=progress), current) == expected


def test_a_torrent_gone_from_the_view_is_missing() -> None:
    assert download_state(None, D.SEEDING) == D.MISSING


def test_complete_means_every_piece_and_a_finished_state() -> None:
    assert is_complete(view(H))
    assert not is_complete(view(H, state="checkingUP"))
    assert not is_complete(view(H, state="downloading", progress=0.99))


def facts(**kw: object) -> StallFacts:
    values: dict[str, object] = {"downloaded_bytes": 500, "progress": 0.5, "last_progress_at": T0,
                                 "reannounced_at": None, "reported": False}
    values.update(kw)
    return StallFacts(**values)  # type: ignore[arg-type]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_stall_is_reannounced_once_then_reported_never_more() -> None:
    stuck = view(H, state="stalledDL", progress=0.5, downloaded_bytes=500)
    assert stall_step(facts(), stuck, at(29), 1800) == StallStep.NONE
    assert stall_step(facts(), stuck, at(30), 1800) == StallStep.REANNOUNCE
    assert stall_step(facts(reannounced_at=at(30)), stuck, at(59), 1800) == StallStep.NONE
    assert stall_step(facts(reannounced_at=at(30)), stuck, at(60), 1800) == StallStep.REPORT
    assert stall_step(facts(reannounced_at=at(30), reported=True), stuck, at(600), 1800) == StallStep.NONE


def test_any_new_byte_is_progress() -> None:
    moved = view(H, state="stalledDL", progress=0.5, downloaded_bytes=501)
    assert stall_step(facts(reannounced_at=at(30), reported=True), moved, at(90), 1800) == StallStep.PROGRESS
    assert stall_step(facts(), view(H, state="downloading", progress=0.6), at(90), 1800) == StallStep.PROGRESS


def test_a_paused_or_queued_download_is_not_stalled() -> None:
    for state in ("pausedDL", "queuedDL", "stoppedDL", "checkingDL"):
        v = view(H, state=state, progress=0.5, downloaded_bytes=500)
        assert stall_step(facts(), v, at(600), 1800) == StallStep.IDLE


def test_a_row_without_a_progress_time_starts_its_clock() -> None:
    v = view(H, state="stalledDL", progress=0.5, downloaded_bytes=500)
    assert stall_step(facts(last_progress_at=None), v, at(600), 1800) == StallStep.PROGRESS


def test_per_torrent_limits_other_than_none_are_to_be_set() -> None:
    assert not needs_no_limits(view(H, ratio_limit=-1, seeding_time_limit=-1))
    assert needs_no_limits(view(H, ratio_limit=-2, seeding_time_limit=-1))  # follows the global limits
    assert needs_no_limits(view(H, ratio_limit=-1, seeding_time_limit=90))
    assert needs_no_limits(view(H, ratio_limit=2.5, seeding_time_limit=-1))
    assert not needs_no_limits(view(H, ratio_limit=None, seeding_time_limit=None)), "unknown: left alone"


REQUIRED = 72 * 3600


def test_no_global_limits_is_fine() -> None:
    assert global_limit_problems(ShareLimits(None, None, None, None), REQUIRED) == []


def test_a_ratio_limit_that_pauses_or_removes_is_a_problem() -> None:
    (problem,) = global_limit_problems(ShareLimits(2.0, None, None, "pause"), REQUIRED)
    assert "ratio limit 2" in problem and "pause" in problem and "Seeding Limits" in problem
    (problem,) = global_limit_problems(ShareLimits(1.0, None, None, "remove"), REQUIRED)
    assert "remove" in problem
    (problem,) = global_limit_problems(ShareLimits(1.0, None, None, None), REQUIRED)
    assert "pause" in problem, "no action named is qBittorrent's default, which pauses"


def test_a_seeding_time_limit_below_the_obligation_is_a_problem_and_one_above_is_not() -> None:
    (problem,) = global_limit_problems(ShareLimits(None, 1440, None, "pause"), REQUIRED)
    assert "1440 min is below the 4320 min owed" in problem
    assert global_limit_problems(ShareLimits(None, 4320, None, "pause"), REQUIRED) == []


def test_an_inactive_seeding_limit_is_a_problem_since_idle_seeds_still_count() -> None:
    (problem,) = global_limit_problems(ShareLimits(None, None, 600, "stop"), REQUIRED)
    assert "inactive seeding time limit of 600 min" in problem


def test_super_seeding_does_not_stop_a_torrent() -> None:
    assert global_limit_problems(ShareLimits(0.5, 60, 60, "enable_super_seeding"), REQUIRED) == []


def test_every_problem_is_listed() -> None:
    assert len(global_limit_problems(ShareLimits(1.0, 60, 30, "remove_with_files"), REQUIRED)) == 3
