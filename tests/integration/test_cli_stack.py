"""``make up`` in one shell, ``mamcrawler apikey create`` in another with no environment: it works.

The stack is a real ``mamcrawler up`` (embedded PostgreSQL and Redis under ``./data``); every
operator command runs as a fresh process with only PATH and HOME (and, once, MAMC_DATA_DIR),
as a user typing in a second terminal would.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from shared.devstack.server import find_free_port
from shared.devstack.stackstate import STATE_FILE
from tests.integration.stack import wait_for

pytestmark = pytest.mark.slow

MAMCRAWLER = Path(sys.executable).with_name("mamcrawler")  # the entry point `make install` puts in .venv/bin
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def mamcrawler(*argv: str, cwd: Path, home: Path, data_dir: Path | None = None,
               stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": SYSTEM_PATH, "HOME": str(home)}
    if data_dir is not None:
        env["MAMC_DATA_DIR"] = str(data_dir)
    return subprocess.run([str(MAMCRAWLER), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          input=stdin)


def status(url: str, key: str | None = None) -> int:
    try:
        return httpx.get(url, headers={"X-Api-Key": key} if key else {}, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def test_apikey_commands_find_the_stack_make_up_started(tmp_path: Path) -> None:
    checkout = Path(tempfile.mkdtemp(prefix="mamc-cli-"))  # stands in for the checkout `make up` runs in
    checkout.chmod(0o755)  # PostgreSQL runs as nobody when we are root: it must reach ./data
    home = tmp_path / "home"
    home.mkdir()
    api_port, flower_port = find_free_port(), find_free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMC_")}
    env.update({"MAMC_API_PORT": str(api_port), "MAMC_FLOWER_PORT": str(flower_port)})  # data dir: ./data
    log = tmp_path / "up.log"
    up = subprocess.Popen([str(MAMCRAWLER), "up"], cwd=checkout, env=env, stdout=log.open("wb"),
                          stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{api_port}"
    data = checkout / "data"
    try:
        wait_for(lambda: (data / STATE_FILE).exists() or up.poll() is not None, 120, what="stack.json")
        assert up.poll() is None, log.read_text()[-3000:]
        wait_for(lambda: status(base + "/readyz") == 200, 120, what="api ready")

        # Another shell, another directory: only PATH, HOME and the data dir.
        created = mamcrawler("apikey", "create", "--name", "second", cwd=tmp_path, home=home, data_dir=data)
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip().splitlines()[-1]
        assert re.fullmatch(r"mamc_\S+", key), created.stdout
        assert key not in created.stderr
        assert status(f"{base}/api/v1/jobs", key) == 200

        # From the checkout with no MAMC_* at all: ./data is the default, as for `make up`.
        listed = mamcrawler("apikey", "list", cwd=checkout, home=home)
        assert listed.returncode == 0, listed.stderr
        assert re.search(r"^second\s", listed.stdout, re.MULTILINE), listed.stdout
        migrated = mamcrawler("migrate", cwd=checkout, home=home)
        assert migrated.returncode == 0, migrated.stderr
        assert "database is at the latest migration" in migrated.stdout
        checked = mamcrawler("config", "check", cwd=checkout, home=home)
        assert checked.returncode == 0, checked.stderr
        assert "MAMC_DATABASE_URL=postgresql+psycopg://mamcrawler@127.0.0.1:" in checked.stdout
        assert "MAMC_REDIS_URL=redis://127.0.0.1:" in checked.stdout
        # The first person, password on standard input (a pipe: its first line), then a login.
        person = mamcrawler("user", "create", "--name", "alice", cwd=checkout, home=home,
                            stdin="a long enough password\n")
        assert person.returncode == 0, person.stderr
        assert "a long enough password" not in person.stdout + person.stderr
        again = mamcrawler("user", "create", "--name", "alice", "--password", "another password",
                           cwd=checkout, home=home)
        assert again.returncode == 2 and "already exists" in again.stderr
        with httpx.Client(base_url=base) as web:
            login = web.post("/api/v1/auth/login", json={"name": "alice", "password": "a long enough password"})
            assert login.status_code == 200, login.text
            assert web.get("/api/v1/auth/me").json()["user"]["name"] == "alice"
        revoked = mamcrawler("apikey", "revoke", "--name", "second", cwd=checkout, home=home)
        assert revoked.returncode == 0, revoked.stderr
        wait_for(lambda: status(f"{base}/api/v1/jobs", key) == 401, 30, 1, what="revoked key refused")
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(timeout=90)
    try:
        assert code == 0, log.read_text()[-3000:]
        assert not (data / STATE_FILE).exists(), "a clean stop removes the state file"
        after = mamcrawler("apikey", "create", "--name", "third", cwd=checkout, home=home)
        assert after.returncode == 2
        assert after.stdout == ""
        assert "no MAMcrawler stack is running" in after.stderr and "make up" in after.stderr
    finally:
        shutil.rmtree(checkout, ignore_errors=True)


def test_a_killed_stack_is_reported_not_used(tmp_path: Path) -> None:
    """SIGKILL leaves stack.json behind (nothing could remove it): the CLI must see the stack is gone."""
    checkout = Path(tempfile.mkdtemp(prefix="mamc-cli-"))
    checkout.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMC_")}
    env.update({"MAMC_API_PORT": str(find_free_port()), "MAMC_FLOWER_PORT": str(find_free_port())})
    log = tmp_path / "up.log"
    up = subprocess.Popen([str(MAMCRAWLER), "up"], cwd=checkout, env=env, stdout=log.open("wb"),
                          stderr=subprocess.STDOUT, start_new_session=True)
    state = checkout / "data" / STATE_FILE
    try:
        wait_for(lambda: state.exists() or up.poll() is not None, 120, what="stack.json")
        assert up.poll() is None, log.read_text()[-3000:]
    finally:
        os.killpg(up.pid, signal.SIGKILL)  # the supervisor and the children it runs in its session
        up.wait(timeout=30)
    try:
        assert state.exists()
        out = mamcrawler("apikey", "list", cwd=checkout, home=tmp_path)
        assert out.returncode == 2, out.stdout + out.stderr
        assert f"pid {up.pid}, which is no longer running" in out.stderr and "make up" in out.stderr
    finally:
        _kill_orphans(checkout)
        shutil.rmtree(checkout, ignore_errors=True)


def _kill_orphans(checkout: Path) -> None:
    """The API, workers and beat run in sessions of their own; SIGKILL of the supervisor orphans them.

    They find the embedded servers gone (those die with the supervisor) and would retry forever,
    so stop every process whose environment names this checkout's data dir.
    """
    marker = f"MAMC_DATA_DIR={(checkout / 'data').resolve()}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            continue
