"""Library-sync benchmarks against the ABS simulator over HTTP, with real workers.

- full sync of 10,000 items vs the *bare read*: the same client fetching every response the sync
  needs (all list pages and every expanded item) with no database, in the same run (target <= 1.3x).
  The sync runs on the library-sync pool at its default concurrency (2 processes, so one chunk's
  reads overlap another's writes); the figure for a pool of one process is reported beside it;
- worker memory (peak RSS of the pool's processes) syncing 10,000 and 100,000 items (target: flat);
- a no-change resync of 10,000 items (target < 2 s).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from shared.engine import ledger
from shared.infra.db import session_scope
from tests.integration.stack import Proc, Stack, wait_state
from tests.sims.abs import generate_library, serve_abs
from workers.library.abs_client import AbsClient
from workers.library.sync import CHUNK
from workers.upstream import UpstreamOptions


def bare_read(base: str, token: str) -> tuple[float, int]:
    start = time.perf_counter()
    items = 0
    with AbsClient(UpstreamOptions(base), token) as client:
        for lib in client.book_libraries():
            ids = [entry.id for entry in client.iter_minified(lib.id)]
            for i in range(0, len(ids), CHUNK):
                items += len(client.get_expanded(ids[i:i + CHUNK]))
    return time.perf_counter() - start, items


def timed_sync(force: bool = False) -> float:
    start = time.perf_counter()
    with session_scope() as s:
        job_id = ledger.create_job(s, "library.sync", {"force": force}).job.id
    done = wait_state(job_id, ("succeeded", "failed", "dead"), 3600)
    assert done.state == "succeeded", done.error
    return time.perf_counter() - start


def peak_rss_mb(proc: Proc) -> float:
    """Peak resident memory (VmHWM) of the worker's main process and each pool process, in MB."""
    pids = [proc.popen.pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                                and _ppid(int(p.name)) == proc.popen.pid]
    peaks = [_hwm(pid) for pid in pids]
    return round(max(peaks) / 1024, 1) if peaks else 0.0


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def fresh_database(stack: Stack, env: dict[str, str]) -> None:
    """Point the stack at an empty migrated database, so each size starts from nothing."""
    import os

    from shared.infra.migrate import upgrade
    from tests.integration.conftest import reset_singletons

    base = env["MAMC_DATABASE_URL"].rsplit("/", 1)[0]
    name = f"lib_{uuid.uuid4().hex[:8]}"
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    os.environ["MAMC_DATABASE_URL"] = url
    stack.env["MAMC_DATABASE_URL"] = url
    reset_singletons()
    upgrade(url)


def run_size(stack: Stack, env: dict[str, str], n: int, seed: int, *, single_process: bool = False) -> dict[str, Any]:
    stack.stop()  # workers of earlier runs point at another database but share Redis: they must go
    stack.procs.clear()
    state, truth = generate_library(n, seed=seed)
    base, stop = serve_abs(state)
    try:
        stack.env.update({"MAMC_ABS_URL": base, "MAMC_ABS_TOKEN": truth.admin_token,
                          "MAMC_RATE_LIMITS": '{"abs": "100000/1/1000"}', "MAMC_LOG_LEVEL": "WARNING"})
        fresh_database(stack, env)
        worker = stack.worker("library_sync", concurrency=2)
        try:
            bare, items = bare_read(base, truth.admin_token)
            full = timed_sync()
            rss = peak_rss_mb(worker)
            resync = timed_sync()
        finally:
            worker.terminate()
            stack.procs.remove(worker)
        figures = {"items": n, "expanded_items_read": items, "bare_read_s": round(bare, 2),
                   "full_sync_s": round(full, 2), "sync_over_bare": round(full / bare, 3),
                   "no_change_resync_s": round(resync, 3), "worker_peak_rss_mb": rss}
        if single_process:
            figures.update(_single_process(stack, env, bare))
    finally:
        stop()
    return figures


def _single_process(stack: Stack, env: dict[str, str], bare: float) -> dict[str, float]:
    """Informative: the same full sync by a pool of one process (the default is two), where the
    expanded reads and the database writes cannot overlap at all."""
    fresh_database(stack, env)
    worker = stack.worker("library_sync", concurrency=1)
    try:
        full = timed_sync()
    finally:
        worker.terminate()
        stack.procs.remove(worker)
    return {"full_sync_concurrency_1_s": round(full, 2), "sync_over_bare_concurrency_1": round(full / bare, 3)}


def run(stack: Stack, env: dict[str, str], quick: bool) -> dict[str, Any]:
    small = run_size(stack, env, 2_000 if quick else 10_000, seed=1, single_process=True)
    large = run_size(stack, env, 10_000 if quick else 100_000, seed=2)
    return {"sync_10k": {**small, "target_sync_over_bare": 1.3, "target_resync_s": 2.0},
            "sync_100k": {**large, "memory_growth_vs_10k": round(large["worker_peak_rss_mb"]
                                                                 / max(small["worker_peak_rss_mb"], 1), 2)}}
