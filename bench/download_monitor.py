"""``download.monitor`` cycles at 1,000 and 10,000 torrents: time, database time and qBittorrent calls.

Three ways to play qBittorrent:

- ``sim``: the pool's real client (``workers/download/qbit.py`` ``QbitClient`` on qbittorrent-api)
  over HTTP against the qBittorrent WebUI simulator (``tests/sims/qbit``, ``sync/maindata`` with
  rids and partial updates, served by uvicorn in a thread of this process), at both sizes.
- ``fake``: the in-memory fake of ``tests/fixtures/qbit_fake.py`` (the same semantics, no HTTP): the
  monitor's own cost (the merge, PostgreSQL, the rules) without the transport, at both sizes, and
  once more at 10,000 with no rows yet (``adopt``: a first sync that adopts every torrent).
- ``real``: the same client against a real qbittorrent-nox (4.5.2 here, started as
  ``tests/fixtures/swarm.py`` does) holding 1,000 torrents made by mktorrent: 16 KiB files added with
  their check skipped, so they seed, towards a dead tracker (nothing is announced anywhere; every
  tracker check answers "Connection refused"). No rows at first: its cold cycle is a first sync.

The steady workload (sim, fake) mirrors a library: 70 % seeding with an open obligation (each
credited every cycle: one row written each), 20 % met, 10 % downloading (one in ten of them moving
each cycle); every seed's tracker was checked within the last 15 minutes and works. Each run has one
cold cycle (the process's first: a full snapshot and the global share limits; over HTTP a 403 and
a login too) and steady cycles one minute apart by the injected clock.

Calls: ``sync/maindata`` calls per steady cycle (target: one), and the cycle's tracker checks
(``torrents/trackers``: only for torrents found complete in the cycle, so none in steady state; the
seeds' round-robin checks are ``download.trackers``'s, at most ``MAMC_TRACKER_CHECKS_PER_CYCLE`` a
run). ``db`` figures are the time spent
in PostgreSQL statements (SQLAlchemy's cursor events: execute, plus the fetch for a select). CPU is
this process's (PostgreSQL's is not in it; the simulator's is, since it serves from a thread here),
steadier than wall time on a shared machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, event, insert

from shared.download.states import DownloadState, ObligationState
from shared.download.torrents import TorrentClient
from shared.infra.clock import ManualClock, use_clock
from shared.infra.db import engine, session_scope
from shared.models.download import Download, Obligation
from tests.fixtures.qbit_fake import FakeQbit, info_hash, view
from tests.sims.qbit import QbitSimState, serve_qbit
from workers.download.cycle import MonitorConfig, MonitorMemory, run_cycle
from workers.download.qbit import QbitClient

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CYCLE = 60.0
CATEGORY = "mamcrawler"
DEAD_TRACKER = "http://127.0.0.1:1/announce"  # nothing listens on port 1: every announce is refused


@dataclass
class Backend:
    """A qBittorrent for the benchmark: the client the monitor uses, and how the test moves it."""

    client: TorrentClient
    calls: Callable[[], int]
    move: Callable[[str, int], None]  # a download gains bytes
    stop: Callable[[], None]
    start: datetime = T0  # the injected clock's start (a real qBittorrent's times are real)


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


def _real(n: int) -> tuple[list[str], Backend, dict[str, Any]]:
    """A real qbittorrent-nox holding ``n`` seeding torrents of ours (mktorrent, a dead tracker)."""
    import qbittorrentapi

    from tests.fixtures.swarm_procs import QbitDaemon

    root = Path(tempfile.mkdtemp(prefix="mamc-bench-qbit-"))
    root.chmod(0o755)
    daemon = QbitDaemon("bench", root / "qbit")
    payloads = root / "payloads"
    payloads.mkdir()
    setup: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        daemon.start()
        setup["daemon_start_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        torrents: list[bytes] = []
        for i in range(n):
            payload = payloads / f"Book {i:05d}.m4b"
            payload.write_bytes(os.urandom(16 * 1024))
            out = root / "torrents" / f"{i:05d}.torrent"
            out.parent.mkdir(exist_ok=True)
            subprocess.run(["mktorrent", "-a", DEAD_TRACKER, "-p", "-s", "MAMC-BENCH", "-l", "15", "-o", str(out),
                            str(payload)], check=True, capture_output=True, timeout=60)
            torrents.append(out.read_bytes())
        setup["mktorrent_s"] = round(time.perf_counter() - started, 2)
        api = qbittorrentapi.Client(host=daemon.url, username=daemon.username, password=daemon.password,
                                    REQUESTS_ARGS={"timeout": (3, 120)}, FORCE_SCHEME_FROM_HOST=True)
        api.auth_log_in()
        started = time.perf_counter()
        for first in range(0, n, 100):
            api.torrents_add(torrent_files={f"{i}.torrent": t for i, t in enumerate(torrents[first:first + 100],
                                                                                     start=first)},
                             save_path=str(payloads), category=CATEGORY, is_skip_checking=True,
                             use_auto_torrent_management=False, content_layout="Original")
        deadline = time.monotonic() + 300
        while len(api.torrents_info(category=CATEGORY)) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"qbittorrent-nox did not list {n} torrents within 300 s")
            time.sleep(0.5)
        setup["add_s"] = round(time.perf_counter() - started, 2)
        hashes = [t.hash for t in api.torrents_info(category=CATEGORY)]
        setup["seeding"] = sum(1 for t in api.torrents_info(category=CATEGORY) if t.state in ("stalledUP", "uploading"))
        setup["qbittorrent"] = str(api.app_version())
    except BaseException:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    client = QbitClient(daemon.url, daemon.username, daemon.password, category=CATEGORY, timeout=120)

    def close() -> None:
        client.close()
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)

    return hashes, Backend(client, lambda: client.calls, lambda h, more: None, close, datetime.now(UTC)), setup


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
                     "last_progress_at": T0, "tracker_working": None if downloading else True,
                     "tracker_message": None if downloading else "",
                     "tracker_checked_at": None if downloading else T0 - timedelta(seconds=i % 900)})
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
        if rows:
            s.execute(insert(Download), rows)
        if obligations:
            s.execute(insert(Obligation), obligations)


def _empty() -> None:
    with session_scope() as s:
        s.execute(delete(Obligation))
        s.execute(delete(Download))


class _DbTimer:
    """Time spent in PostgreSQL statements, from SQLAlchemy's cursor events."""

    def __init__(self, bind: Engine) -> None:
        self.seconds = 0.0
        self.statements = 0
        self._bind = bind
        event.listen(bind, "before_cursor_execute", self._before)
        event.listen(bind, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, *args: Any) -> None:
        self.seconds += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        self.statements += 1

    @contextmanager
    def measuring(self) -> Iterator[None]:
        self.seconds, self.statements = 0.0, 0
        yield

    def close(self) -> None:
        event.remove(self._bind, "before_cursor_execute", self._before)
        event.remove(self._bind, "after_cursor_execute", self._after)


def measure(n: int, steady_cycles: int, kind: str, *, adopt: bool = False) -> dict[str, Any]:
    setup: dict[str, Any] = {}
    if kind == "sim":
        hashes, backend = _sim(n)
    elif kind == "real":
        hashes, backend, setup = _real(n)
        adopt = True
    else:
        hashes = [info_hash(i + 1) for i in range(n)]
        backend = _fake(hashes)
    try:
        _empty() if adopt else _populate(hashes)
        figures = _cycles(n, steady_cycles, hashes, backend)
        return figures | {"qbittorrent": kind, "first_sync_adopts": adopt} | ({"setup": setup} if setup else {})
    finally:
        backend.stop()


def _cycles(n: int, steady_cycles: int, hashes: list[str], backend: Backend) -> dict[str, Any]:
    clock = ManualClock(backend.start)
    memory = MonitorMemory()
    config = MonitorConfig(max_step_s=2 * CYCLE)
    timer = _DbTimer(engine())
    times: list[float] = []
    cpu: list[float] = []
    db: list[float] = []
    calls: list[int] = []
    reports: list[dict[str, Any]] = []
    try:
        for cycle in range(steady_cycles + 1):
            clock.advance(CYCLE)
            if cycle:
                for i in range(9, n, 100):  # a tenth of the downloads gain bytes; the rest stay idle
                    backend.move(hashes[i], 1000 * cycle)
            before = backend.calls()
            start, start_cpu = time.perf_counter(), time.process_time()
            with timer.measuring(), use_clock(clock), session_scope() as s:
                report = run_cycle(s, backend.client, clock.now, config, memory)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            db.append(timer.seconds)
            calls.append(backend.calls() - before)
            reports.append(report.result())
    finally:
        timer.close()
    snap_start = time.perf_counter()
    backend.client.snapshot()
    snapshot_s = time.perf_counter() - snap_start
    steady = reports[1:]
    return {"torrents": n, "cold_cycle_s": round(times[0], 3), "cold_cycle_db_s": round(db[0], 3),
            "cold_cycle_cpu_s": round(cpu[0], 3), "cold_cycle_calls": calls[0],
            "cold_adopted": reports[0].get("adopted", 0), "steady_cycles": len(steady),
            "steady_cycle_p50_s": round(statistics.median(times[1:]), 3),
            "steady_cycle_max_s": round(max(times[1:]), 3),
            "steady_cycle_cpu_p50_s": round(statistics.median(cpu[1:]), 3),
            "steady_cycle_db_p50_s": round(statistics.median(db[1:]), 3),
            "steady_cycle_db_max_s": round(max(db[1:]), 3),
            "steady_sync_calls_max": max(r["sync_calls"] for r in steady),
            "steady_tracker_checks_max": max(r.get("tracker_checks", 0) for r in steady),
            "steady_calls_max": max(calls[1:]), "steady_rows_written_p50": statistics.median(
                r.get("rows_written", 0) for r in steady),
            "steady_obligations_written_p50": statistics.median(r.get("obligations_written", 0) for r in steady),
            "quiet_snapshot_s": round(snapshot_s, 4), "credited_last_cycle_s": round(reports[-1]["credited_s"]),
            "target_steady_sync_calls": 1}


def run(quick: bool) -> dict[str, Any]:
    cycles = 3 if quick else 10
    results = {f"monitor_{n // 1000}k_{kind}": measure(n, cycles, kind)
               for kind in ("sim", "fake") for n in (1_000, 10_000)}
    results["monitor_10k_fake_first_sync"] = measure(10_000, cycles, "fake", adopt=True)
    if shutil.which("qbittorrent-nox") and shutil.which("mktorrent"):
        results["monitor_1k_real"] = measure(100 if quick else 1_000, cycles, "real")
    else:
        results["monitor_1k_real"] = {"skipped": "qbittorrent-nox or mktorrent is not installed"}
    return results
