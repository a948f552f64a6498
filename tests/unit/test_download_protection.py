"""May we touch a torrent (shared/download/protection.py): refused until its obligation is met."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.download.protection import Action, may_remove, may_touch
from shared.download.states import DownloadState, ObligationState
from shared.models.download import Download, Obligation

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def download(state: DownloadState, *, completed: bool = True) -> Download:
    return Download(id=3, state=state.value, completed_at=T0 if completed else None)


def obligation(state: ObligationState, seeded: float = 3600.0, reason: str | None = None) -> Obligation:
    return Obligation(download_id=3, state=state.value, required_seconds=72 * 3600, window_seconds=30 * 86400,
                      completed_at=T0, deadline=T0 + timedelta(days=30), seeded_seconds=seeded, risk_reason=reason)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", [ObligationState.OPEN, ObligationState.AT_RISK, ObligationState.FAILED])
def test_every_action_is_refused_while_time_is_owed(action: Action, state: ObligationState) -> None:
    allowed, reason = may_touch(download(DownloadState.SEEDING), obligation(state), action)
    assert not allowed
    assert reason.startswith(f"refused to {action} download 3")


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_allowed_once_met(action: Action) -> None:
    verdict = may_touch(download(DownloadState.SEEDING), obligation(ObligationState.MET, 72 * 3600), action)
    assert verdict.allowed and "has seeded its 72.0 h" in verdict.reason


def test_the_reason_says_what_is_owed_and_why_at_risk() -> None:
    _, reason = may_remove(download(DownloadState.PAUSED),
                           obligation(ObligationState.AT_RISK, 3600, "stopped in qBittorrent (pausedUP)"))
    assert "still owes 71.0 h of seeding before 2026-03-31" in reason
    assert "at risk: stopped in qBittorrent (pausedUP)" in reason
    _, reason = may_remove(download(DownloadState.SEEDING), obligation(ObligationState.FAILED))
    assert "obligation failed" in reason and "clears the hit-and-run" in reason


def test_a_download_still_downloading_is_refused() -> None:
    allowed, reason = may_remove(download(DownloadState.DOWNLOADING, completed=False), None)
    assert not allowed and "still downloading" in reason
    assert not may_remove(download(DownloadState.STALLED, completed=False), None).allowed


def test_a_complete_download_whose_obligation_is_not_recorded_yet_is_refused() -> None:
    allowed, reason = may_remove(download(DownloadState.SEEDING), None)
    assert not allowed and "not recorded yet" in reason


@pytest.mark.parametrize("state", [DownloadState.PENDING, DownloadState.FETCHED, DownloadState.DRY_RUN,
                                   DownloadState.REMOVED])
def test_a_row_qbittorrent_never_held_for_us_has_nothing_to_protect(state: DownloadState) -> None:
    assert may_remove(download(state, completed=False), None).allowed


def test_a_download_that_vanished_before_completing_owes_nothing() -> None:
    assert may_remove(download(DownloadState.MISSING, completed=False), None).allowed
    assert not may_remove(download(DownloadState.MISSING), obligation(ObligationState.AT_RISK)).allowed
