"""The monitor job's plumbing: its client factory, the ``qbit`` slot taken per call, and the figures
it reads from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from pydantic import ValidationError

from shared.download.torrents import ShareLimits
from shared.infra.settings import Settings
from tests.fixtures.qbit_fake import FakeQbit, info_hash, view
from workers.download import monitor
from workers.download.cycle import MonitorConfig
from workers.download.throttled import Throttled


def _settings(**kw: Any) -> Settings:
    return Settings(database_url="postgresql://x", redis_url="redis://x", **kw)


@pytest.fixture(autouse=True)
def pool_factory() -> Iterator[None]:
    yield
    monitor.set_client_factory(None)


def test_the_pool_client_is_the_default_and_none_restores_it() -> None:
    assert monitor._factory is monitor.pool_client
    monitor.set_client_factory(lambda take_slot: nullcontext(FakeQbit()))
    assert monitor._factory is not monitor.pool_client
    monitor.set_client_factory(None)
    assert monitor._factory is monitor.pool_client


def test_every_call_takes_one_qbit_slot_and_passes_through() -> None:
    fake = FakeQbit(limits=ShareLimits(1.0, None, None, "pause"))
    h = info_hash(1)
    fake.put(view(h))
    slots: list[int] = []
    client = Throttled(fake, lambda: slots.append(1))
    assert set(client.snapshot().torrents) == {h}
    assert client.has(h) and client.global_share_limits().ratio == 1.0
    client.reannounce([h])
    client.set_no_share_limits([h])
    client.add_torrent(b"x", info_hash=h, category="mamcrawler", tags=[], save_path="/d")
    assert client.tracker_status(h).working is True
    assert len(slots) == 7 == fake.total_calls()


def test_one_interval_of_our_clock_counts_at_most_two_monitor_periods() -> None:
    config = MonitorConfig.from_settings(_settings(schedule_download_monitor=90, download_stall_seconds=300))
    assert config.max_step_s == 180 and config.stall_s == 300
    assert config.required_s == 72 * 3600 and config.window_s == 30 * 86400
    assert MonitorConfig.from_settings(_settings(schedule_download_monitor=0)).max_step_s == 120


def test_the_tracker_checks_come_from_settings_and_a_check_may_not_go_stale_before_the_next() -> None:
    config = MonitorConfig.from_settings(_settings(tracker_check_seconds=600, tracker_checks_per_cycle=4,
                                                   tracker_stale_seconds=1800))
    assert (config.tracker_check_s, config.tracker_checks_per_cycle, config.tracker_stale_s) == (600, 4, 1800)
    default = MonitorConfig.from_settings(_settings())
    assert (default.tracker_check_s, default.tracker_checks_per_cycle, default.tracker_stale_s) == (900, 10, 2700)
    with pytest.raises(ValidationError, match="MAMC_TRACKER_STALE_SECONDS"):
        _settings(tracker_check_seconds=1800, tracker_stale_seconds=900)
    with pytest.raises(ValidationError):
        _settings(tracker_checks_per_cycle=0)
    with pytest.raises(ValidationError, match="MAMC_SCHEDULE_TRACKER_CHECKS"):
        _settings(schedule_tracker_checks=0)  # no check would ever be fresh: no seeding credited
    with pytest.raises(ValidationError, match="MAMC_SCHEDULE_TRACKER_CHECKS"):
        _settings(schedule_tracker_checks=3000)  # each answer stale (2,700 s) before the next run
    assert _settings(schedule_tracker_checks=0, schedule_download_monitor=0).schedule_tracker_checks == 0


def test_a_window_shorter_than_the_seeding_owed_is_refused() -> None:
    with pytest.raises(ValidationError, match="MAMC_SEEDING_WINDOW_SECONDS"):
        _settings(seeding_required_seconds=7200, seeding_window_seconds=3600)
