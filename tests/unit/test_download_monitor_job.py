"""The monitor job's plumbing: its client (one per process, from a factory), the ``qbit`` slot
taken per call, and the figures it reads from settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from shared.download.torrents import ShareLimits
from shared.infra.errors import ConfigError
from shared.infra.settings import Settings
from tests.fixtures.qbit_fake import FakeQbit, info_hash, view
from workers.download import monitor
from workers.download.cycle import MonitorConfig
from workers.download.throttled import Throttled


def _settings(**kw: Any) -> Settings:
    return Settings(database_url="postgresql://x", redis_url="redis://x", **kw)


@pytest.fixture(autouse=True)
def no_factory() -> Iterator[None]:
    monitor.set_client_factory(None)
    yield
    monitor.set_client_factory(None)


def test_without_a_client_factory_the_job_says_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="set_client_factory"):
        monitor.client_for(lambda: None)


def test_the_factory_is_asked_every_cycle_with_the_jobs_slot_taker() -> None:
    fake = FakeQbit()
    asked: list[object] = []

    def factory(take_slot: monitor.TakeSlot) -> Throttled:
        asked.append(take_slot)
        return Throttled(fake, take_slot)

    monitor.set_client_factory(factory)
    slots: list[int] = []
    monitor.client_for(lambda: slots.append(1)).snapshot()
    monitor.client_for(lambda: slots.append(1)).snapshot()
    assert len(asked) == 2 and slots == [1, 1]


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
    assert len(slots) == 6 == fake.total_calls()


def test_one_interval_of_our_clock_counts_at_most_two_monitor_periods() -> None:
    config = MonitorConfig.from_settings(_settings(schedule_download_monitor=90, download_stall_seconds=300))
    assert config.max_step_s == 180 and config.stall_s == 300
    assert config.required_s == 72 * 3600 and config.window_s == 30 * 86400
    assert MonitorConfig.from_settings(_settings(schedule_download_monitor=0)).max_step_s == 120


def test_a_window_shorter_than_the_seeding_owed_is_refused() -> None:
    with pytest.raises(ValidationError, match="MAMC_SEEDING_WINDOW_SECONDS"):
        _settings(seeding_required_seconds=7200, seeding_window_seconds=3600)
