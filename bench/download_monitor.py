"""``download.monitor`` cycles at 1,000 and 10,000 torrents: time per cycle and qBittorrent calls.

qBittorrent is played by the in-memory fake of ``tests/fixtures/qbit_fake.py``, which keeps
``sync/maindata``'s semantics (a rid; each snapshot carries only what changed and is merged into full
views). The qBittorrent simulator over HTTP (``tests/sims/qbit``) had not landed when this was
written, so the figures leave out the HTTP and JSON cost of the one ``sync/maindata`` call: they are
the monitor's own cost (the merge, PostgreSQL, the rules). Real qbittorrent-nox is not used here.

The workload mirrors a library in steady state: 70 % seeding with an open obligation (each credited
every cycle: one row written each), 20 % met (read, not written), 10 % downloading (a tenth of them
moving each cycle). Each size runs one cold cycle (the first of a process: a full snapshot and the
global share limits) and then steady cycles one minute apart by the injected clock. Target: steady
cycles cost at most one qBittorrent call. ``steady_cycle_cpu_p50_s`` is this process's CPU time in a
cycle (PostgreSQL's own work is not in it): on a shared machine it is steadier than the wall time.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert

from shared.download.states import DownloadState, ObligationState
from shared.infra.clock import ManualClock, use_clock
from shared.infra.db import session_scope
from shared.models.download import Download, Obligation
from tests.fixtures.qbit_fake import FakeQbit, info_hash, view
from workers.download.cycle import MonitorConfig, MonitorMemory, run_cycle

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CYCLE = 60.0


def _populate(n: int, fake: FakeQbit) -> None:
    rows: list[dict[str, Any]] = []
    obligations: list[dict[str, Any]] = []
    for i in range(n):
        h = info_hash(i + 1)
        kind = i % 10
        downloading = kind == 9
        state = DownloadState.DOWNLOADING if downloading else DownloadState.SEEDING
        fake.put(view(h, state="downloading" if downloading else "stalledUP", progress=0.5 if downloading else 1.0,
                      downloaded_bytes=i, completion_on=None if downloading else T0 - timedelta(hours=1)))
        rows.append({"id": i + 1, "info_hash": h, "torrent_id": i + 1, "state": state.value, "source": "grab",
                     "dry_run": False, "name": f"Book {h[:6]}", "title": f"Book {h[:6]}", "category": "mamcrawler",
                     "tags": ["mamcrawler"], "save_path": "/downloads", "content_path": f"/downloads/Book {h[:6]}",
                     "size_bytes": 100_000_000, "progress": 0.5 if downloading else 1.0, "ratio": 0.0,
                     "uploaded_bytes": 0, "downloaded_bytes": i if downloading else 100_000_000,
                     "qbit_state": "downloading" if downloading else "stalledUP", "added_at": T0 - timedelta(hours=2),
                     "completed_at": None if downloading else T0 - timedelta(hours=1), "last_seen_at": T0,
                     "last_progress_at": T0})
        if not downloading:
            met = kind in (7, 8)
            obligations.append({
                "download_id": i + 1, "state": (ObligationState.MET if met else ObligationState.OPEN).value,
                "required_seconds": 72 * 3600, "window_seconds": 30 * 86400, "completed_at": T0 - timedelta(hours=1),
                "deadline": T0 + timedelta(days=30), "seeded_seconds": 72 * 3600.0 if met else 3600.0,
                "qbit_seeding_time": 0, "last_tick_at": T0, "met_at": T0 if met else None})
    with session_scope() as s:
        s.execute(delete(Obligation))
        s.execute(delete(Download))
        s.execute(insert(Download), rows)
        if obligations:
            s.execute(insert(Obligation), obligations)


def _move_some(fake: FakeQbit, n: int, cycle: int) -> None:
    """A tenth of the downloads gain bytes each cycle (the rest are left idle, as most seeds are)."""
    for i in range(9, n, 100):
        h = info_hash(i + 1)
        fake.set(h, downloaded_bytes=fake.torrents[h].downloaded_bytes + 1000 * (cycle + 1))


def measure(n: int, steady_cycles: int) -> dict[str, Any]:
    fake = FakeQbit()
    _populate(n, fake)
    clock = ManualClock(T0)
    memory = MonitorMemory()
    config = MonitorConfig(max_step_s=2 * CYCLE)
    times: list[float] = []
    cpu: list[float] = []
    calls: list[int] = []
    credited = 0.0
    for cycle in range(steady_cycles + 1):
        clock.advance(CYCLE)
        if cycle:
            _move_some(fake, n, cycle)
        before = fake.total_calls()
        start, start_cpu = time.perf_counter(), time.process_time()
        with use_clock(clock), session_scope() as s:
            report = run_cycle(s, fake, clock.now, config, memory)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        calls.append(fake.total_calls() - before)
        credited = report.credited_s
    snap_start = time.perf_counter()
    fake.snapshot()
    snapshot_s = time.perf_counter() - snap_start
    steady = times[1:]
    return {"torrents": n, "cold_cycle_s": round(times[0], 3), "cold_cycle_calls": calls[0],
            "steady_cycles": len(steady), "steady_cycle_p50_s": round(statistics.median(steady), 3),
            "steady_cycle_max_s": round(max(steady), 3), "steady_cycle_cpu_p50_s": round(statistics.median(cpu[1:]), 3),
            "steady_calls_max": max(calls[1:]),
            "fake_snapshot_s": round(snapshot_s, 4), "credited_last_cycle_s": round(credited),
            "target_steady_calls": 1}


def run(quick: bool) -> dict[str, Any]:
    sizes = (1_000, 10_000)
    cycles = 3 if quick else 10
    return {f"monitor_{n // 1000}k": measure(n, cycles) for n in sizes}
