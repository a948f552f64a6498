"""Real MAMcrawler processes for integration tests: workers, beat and the API as subprocesses.

Each process is started with ``python -m shared.cli ...`` in its own session (process group), so a
test can SIGKILL one pool process, a whole worker (parent and children, as when a host dies), or
stop everything cleanly. Settings reach the processes the way they reach production: through
``MAMC_*`` environment variables.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis as redis_lib
from sqlalchemy import select

from shared.devstack.server import find_free_port
from shared.infra.db import session_scope
from shared.models.jobs import Job, JobAttempt

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

FAST_ENV = {
    "MAMC_HEARTBEAT_INTERVAL": "0.5",
    "MAMC_HEARTBEAT_STALE_AFTER": "3",
    "MAMC_SWEEP_INTERVAL": "1",
    "MAMC_LOST_MESSAGE_GRACE": "4",
    "MAMC_BEAT_LOCK_TIMEOUT": "6",
    "MAMC_BEAT_MAX_LOOP_INTERVAL": "1",
    "MAMC_RETRY_POLICIES": json.dumps({p: "0.5/2/3" for p in ("crawl", "metadata", "download", "library_sync")}),
    "MAMC_LOG_LEVEL": "INFO",
    "MAMC_FLOWER_PASSWORD": "test-flower-password",
}


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate} (last: {last!r})")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill_group(self) -> None:
        """SIGKILL the process and all its children, as a host dying would."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


@dataclass
class Stack:
    env: dict[str, str]
    workdir: Path
    procs: list[Proc] = field(default_factory=list)

    def _spawn(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> Proc:
        log = self.workdir / f"{name}-{uuid.uuid4().hex[:4]}.log"
        fh = log.open("wb")
        popen = subprocess.Popen([sys.executable, "-m", "shared.cli", *args], cwd=ROOT,
                                 env={**self.env, **(extra_env or {})}, stdout=fh, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, pool: str, concurrency: int = 2, *, wait: bool = True,
               extra_env: dict[str, str] | None = None) -> Proc:
        name = f"{pool}-{uuid.uuid4().hex[:6]}@testhost"
        proc = self._spawn(f"worker-{pool}", "worker", pool, "--concurrency", str(concurrency), "--name", name,
                           extra_env=extra_env)
        if wait:
            client = redis_lib.Redis.from_url(self.env["MAMC_REDIS_URL"])
            key = f"mamc:worker:{pool}:{name}"
            wait_for(lambda: client.exists(key) or not proc.alive(), 60, what=f"worker {pool} ready")
            assert proc.alive(), proc.tail()
        return proc

    def beat(self) -> Proc:
        return self._spawn("beat", "beat")

    def api(self, port: int | None = None) -> tuple[Proc, str]:
        """The gateway on ``port`` (a free one by default; pass the old one to restart it in place)."""
        port = port or find_free_port()
        proc = self._spawn("api", "api", extra_env={"MAMC_API_PORT": str(port)})
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return not proc.alive()

        wait_for(up, 60, what="api up")
        assert proc.alive(), proc.tail()
        return proc, base

    def stop(self) -> None:
        """SIGTERM everything at once (soft shutdowns run in parallel), then wait for each."""
        for proc in self.procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            proc.terminate(timeout=20)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in self.procs)


def job(job_id: uuid.UUID | str) -> Job:
    with session_scope() as s:
        found = s.get(Job, uuid.UUID(str(job_id)))
        assert found is not None
        return found


def attempts(job_id: uuid.UUID | str) -> list[JobAttempt]:
    with session_scope() as s:
        return list(s.scalars(select(JobAttempt).where(JobAttempt.job_id == uuid.UUID(str(job_id)))
                              .order_by(JobAttempt.id)))


def wait_state(job_id: uuid.UUID | str, states: tuple[str, ...], timeout: float = 60.0) -> Job:
    return wait_for(lambda: (j := job(job_id)).state in states and j, timeout, 0.2,
                    what=f"job {job_id} in {states}")


def api_headers(key: str) -> dict[str, Any]:
    return {"X-Api-Key": key}
