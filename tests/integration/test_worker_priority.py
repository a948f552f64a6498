"""A worker runs below the gateway's CPU priority (MAMC_WORKER_NICE), its pool children too.

Why it matters: on a small host the gateway and the pools share cores; a pool working flat out
must not add tens of milliseconds to every API answer. On a kernel with autogroup every session
is scheduled as a group first, and the stack starts each service in a session of its own: the
worker's session group is lowered too, or its nice value would rank it against nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.stack import Stack

pytestmark = pytest.mark.slow


def _nice(pid: int) -> int:
    # /proc/PID/stat field 19 is the nice value; the command name (field 2) may hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_worker_and_its_children_run_at_the_configured_nice(stack: Stack) -> None:
    base = os.nice(0)
    stack.env["MAMC_WORKER_NICE"] = "7"
    proc = stack.worker("download", concurrency=2)
    api_proc, _ = stack.api()
    worker_pids = [proc.popen.pid, *_children(proc.popen.pid)]
    assert len(worker_pids) >= 3, "the worker should have forked its pool children"
    assert {_nice(p) for p in worker_pids} == {min(base + 7, 19)}
    assert _nice(api_proc.popen.pid) == base  # the gateway keeps its priority


def _autogroup_nice(pid: int) -> int | None:
    path = Path(f"/proc/{pid}/autogroup")
    return int(path.read_text().split()[-1]) if path.exists() else None


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroup")
def test_a_worker_leading_its_session_lowers_its_session_group(stack: Stack) -> None:
    stack.env["MAMC_WORKER_NICE"] = "7"
    proc = stack.worker("download", concurrency=1)
    api_proc, _ = stack.api()
    assert os.getsid(proc.popen.pid) == proc.popen.pid  # the stack starts each service in its own session
    group = _autogroup_nice(proc.popen.pid)
    assert group == 7
    assert {_autogroup_nice(p) for p in _children(proc.popen.pid)} == {7}  # the children share the group
    assert _autogroup_nice(api_proc.popen.pid) == 0  # the gateway's group keeps its share
