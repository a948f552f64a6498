"""``mamcrawler up`` on a fresh data dir: embedded servers, every process, restarts, clean stop."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from shared.devstack.server import find_free_port
from tests.integration.stack import ROOT, wait_for

pytestmark = pytest.mark.slow


def test_up_runs_everything_restarts_and_stops(tmp_path: Path) -> None:
    data = Path(tempfile.mkdtemp(prefix="mamc-up-"))
    data.chmod(0o755)
    api_port, flower_port = find_free_port(), find_free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMC_")}
    env.update({"MAMC_DATA_DIR": str(data / "data"), "MAMC_API_PORT": str(api_port),
                "MAMC_FLOWER_PORT": str(flower_port), "MAMC_HEARTBEAT_INTERVAL": "1"})
    log = tmp_path / "up.log"
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli", "up"], cwd=ROOT, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{api_port}"
    try:
        key = wait_for(lambda: re.search(r"API key \(shown once\): (\S+)", log.read_text()), 120,
                       what="first API key").group(1)
        wait_for(lambda: _ok(base + "/readyz"), 120, what="api ready")
        h = {"X-Api-Key": key}
        wait_for(lambda: all(p["live_consumers"] == 1 for p in httpx.get(f"{base}/api/v1/pools", headers=h).json()),
                 120, 1, what="a live consumer on every pool")
        job = httpx.post(f"{base}/api/v1/jobs", headers=h, json={"type": "probe", "args": {"pool": "crawl"}}).json()
        wait_for(lambda: httpx.get(f"{base}/api/v1/jobs/{job['id']}", headers=h).json()["state"] == "succeeded",
                 60, what="probe succeeded")
        # Flower: behind basic auth, sees the four pools
        flower = f"http://127.0.0.1:{flower_port}"
        wait_for(lambda: _status(flower + "/api/workers") in (200, 401), 60, what="flower up")
        assert _status(flower + "/api/workers") == 401
        password = (data / "data" / "flower.password").read_text().strip()
        workers = wait_for(
            lambda: httpx.get(flower + "/api/workers?refresh=1", auth=("admin", password), timeout=10).json(),
            60, 1, what="flower sees workers")
        assert {name.split("-")[0] for name in workers} >= {"crawl", "metadata", "download", "library_sync"}
        # a worker that dies is restarted
        pools = httpx.get(f"{base}/api/v1/pools", headers=h).json()
        victim = next(p for p in pools if p["pool"] == "download")["workers"][0]["pid"]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: _download_pid(base, h) not in (None, victim), 90, 1, what="download worker restarted")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=90)
        text = log.read_text()
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0, text[-3000:]
    assert "MAMcrawler stopped" in text
    time.sleep(0.5)
    assert not _ok(base + "/healthz")


def _ok(url: str) -> bool:
    return _status(url) == 200


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _download_pid(base: str, h: dict[str, str]) -> int | None:
    try:
        pools = httpx.get(f"{base}/api/v1/pools", headers=h, timeout=3).json()
    except httpx.HTTPError:
        return None
    workers = next(p for p in pools if p["pool"] == "download")["workers"]
    live = [w for w in workers if w["consuming"] and w["seen_seconds_ago"] < 5]
    return live[0]["pid"] if live else None
