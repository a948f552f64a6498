"""The swarm fixture leaves nothing behind: a test process killed with SIGKILL takes opentracker and
both qbittorrent-nox with it (parent-death signals; opentracker's re-armed by setpriv when root)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.swarm import BINARIES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from tests.fixtures.swarm import Swarm
root = Path(tempfile.mkdtemp(prefix="mamc-swarm-kill-")); root.chmod(0o755)
swarm = Swarm(root)
swarm.start()
print(json.dumps({"root": str(root), "pids": [swarm.tracker.proc.pid, swarm.seeder.proc.pid, swarm.ours.proc.pid]}),
      flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running, not a zombie: an orphan's exit is reaped by init (or, in a container, maybe never)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2:].split(" ", 1)[0] not in ("Z", "X")


def test_sigkill_of_the_test_process_leaks_no_daemon() -> None:
    assert all(shutil.which(b) for b in BINARIES)
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    started = json.loads(child.stdout.readline())
    pids = started["pids"]
    try:
        assert len(pids) == 3 and all(_alive(p) for p in pids)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if _alive(p)], "swarm processes outlived the killed test process"
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(started["root"], ignore_errors=True)
