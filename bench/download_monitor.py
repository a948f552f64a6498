"""``download.monitor`` cycles at 1,000 and 10,000 torrents: time per cycle and qBittorrent calls.

Two ways to play qBittorrent, each at both sizes:

- ``sim``: the pool's real client (``workers/download/qbit.py`` ``QbitClient`` on qbittorrent-api)
  over HTTP against the qBittorrent WebUI simulator (``tests/sims/qbit``, ``sync/maindata`` with
  rids and partial updates, served by uvicorn in a thread of this process). Calls are counted at the
  HTTP layer (``QbitClient.calls``: every response, logins included).
- ``fake``: the in-memory fake of ``tests/fixtures/qbit_fake.py`` (the same semantics, no HTTP): the
  monitor's own cost (the merge, PostgreSQL, the rules) without the transport.

The workload mirrors a library in steady state: 70 % seeding with an open obligation (each credited
every cycle: one row written each), 20 % met (read, not written), 10 % downloading (one in ten of them
moving each cycle). Each size runs one cold cycle (the process's first: a full snapshot, plus the
global share limits; for the simulator a 403 and a login too) and then steady cycles one minute apart
by the injected clock. Target: steady cycles cost at most one qBittorrent call.
``steady_cycle_cpu_p50_s`` is this process's CPU time in a cycle (PostgreSQL's work is not in it; the
simulator's is, since it serves from a thread here): on a shared machine steadier than wall time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert

from shared.download.states import DownloadState, ObligationState
from shared.download.torrents import TorrentClient
from shared.infra.clock import ManualClock, use_clock
from shared.infra.db import session_scope
from shared.models.download import Download, Obligation
from tests.fixtures.qbit_fake import FakeQbit, info_hash, view
from tests.sims.qbit import QbitSimState, serve_qbit
from workers.download.cycle import MonitorConfig, MonitorMemory, run_cycle
from workers.download.qbit import QbitClient

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CYCLE = 60.0
CATEGORY = "mamcrawler"


@dataclass
class Backend:
    """A qBittorrent for the benchmark: the client the monitor uses, and how the test moves it."""

    client: TorrentClient
    calls: Callable[[], int]
    move: Callable[[str, int], None]  # a download gains bytes
    stop: Callable[[], None]


def _fake(hashes: list[str]) -> Backend:
    fake = FakeQbit(category=CATEGORY)
    for i, h in enumerate(hashes):
        downloading = i % 10 == 9
        fake.put(view(h, state="downloading" if downloading else "stalledUP", progress=0.5 if downloading else 1.0,
                      downloaded_bytes=i, completion_on=None if downloading else T0 - timedelta(hours=1)))

    def move(h: str, more: int) -> None:
        fake.set(h, downloaded_bytes=fake.torrents[h].downloaded_bytes + more)

    return Backend(fake, fake.total_calls, move, lambda: None)


def _sim(n: int) -> tuple[list[str], Backend]:
    state = QbitSimState(username="bench", password="bench-password")
    base, stop = serve_qbit(state)
    hashes = state.populate(n, category=CATEGORY)
    for i, h in enumerate(hashes):
        if i % 10 == 9:
            state.update(h, state="downloading", progress=0.5, amount_left=50_000_000, completion_on=0,
                         downloaded=i)
    client = QbitClient(base, "bench", "bench-password", category=CATEGORY)

    def move(h: str, more: int) -> None:
        state.update(h, downloaded=int(state.torrents[h].fields["downloaded"]) + more)

    def close() -> None:
        client.close()
        stop()

    return hashes, Backend(client, lambda: client.calls, move, close)


def _populate(hashes: list[str]) -> None:
    rows: list[dict[str, Any]] = []
    obligations: list[dict[str, Any]] = []
    for i, h in enumerate(hashes):
        kind = i % 10
        downloading = kind == 9
        state = DownloadState.DOWNLOADING if downloading else DownloadState.SEEDING
        rows.append({"id": i + 1, "info_hash": h, "torrent_id": i + 1, "state": state.value, "source": "grab",
                     "dry_run": False, "name": f"Book {i}", "title": f"Book {i}", "category": CATEGORY,
                     "tags": ["mamcrawler"], "save_path": "/downloads", "content_path": f"/downloads/Book {i}",
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


def measure(n: int, steady_cycles: int, kind: str) -> dict[str, Any]:
    if kind == "sim":
        hashes, backend = _sim(n)
    else:
        hashes = [info_hash(i + 1) for i in range(n)]
        backend = _fake(hashes)
    try:
        _populate(hashes)
        return _cycles(n, steady_cycles, hashes, backend) | {"qbittorrent": kind}
    finally:
        backend.stop()


def _cycles(n: int, steady_cycles: int, hashes: list[str], backend: Backend) -> dict[str, Any]:
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
            for i in range(9, n, 100):  # a tenth of the downloads gain bytes; the rest stay idle
                backend.move(hashes[i], 1000 * cycle)
        before = backend.calls()
        start, start_cpu = time.perf_counter(), time.process_time()
        with use_clock(clock), session_scope() as s:
            report = run_cycle(s, backend.client, clock.now, config, memory)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        calls.append(backend.calls() - before)
        credited = report.credited_s
    snap_start = time.perf_counter()
    backend.client.snapshot()
    snapshot_s = time.perf_counter() - snap_start
    steady = times[1:]
    return {"torrents": n, "cold_cycle_s": round(times[0], 3), "cold_cycle_calls": calls[0],
            "steady_cycles": len(steady), "steady_cycle_p50_s": round(statistics.median(steady), 3),
            "steady_cycle_max_s": round(max(steady), 3), "steady_cycle_cpu_p50_s": round(statistics.median(cpu[1:]), 3),
            "steady_calls_max": max(calls[1:]), "quiet_snapshot_s": round(snapshot_s, 4),
            "credited_last_cycle_s": round(credited), "target_steady_calls": 1}


def run(quick: bool) -> dict[str, Any]:
    cycles = 3 if quick else 10
    return {f"monitor_{n // 1000}k_{kind}": measure(n, cycles, kind)
            for kind in ("sim", "fake") for n in (1_000, 10_000)}
