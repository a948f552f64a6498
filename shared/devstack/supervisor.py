"""``mamcrawler up``: the whole stack on one host, kept running, stopped cleanly.

Runs the API, one worker per pool, beat and Flower as child processes; restarts any that dies
(with backoff, so a crash loop does not spin); on Ctrl-C/SIGTERM stops them all (workers get
their soft-shutdown window) and then the embedded servers. Without MAMC_DATABASE_URL and
MAMC_REDIS_URL it runs its own PostgreSQL and Redis under MAMC_DATA_DIR, and says where they
listen in MAMC_DATA_DIR/stack.json (shared/devstack/stackstate.py) for the CLI in other shells.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.devstack.stackstate import remove_state, write_state
from shared.engine.pools import QUEUES
from shared.infra.settings import Settings, get_settings

log = logging.getLogger("mamcrawler.up")
STOP_TIMEOUT = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started: float = field(default=0.0)


def _embedded(settings: Settings, env: dict[str, str]) -> list[Any]:
    from shared.devstack.postgres_server import EmbeddedPostgres
    from shared.devstack.redis_server import EmbeddedRedis

    servers: list[Any] = []
    base = settings.data_dir.resolve()
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root: it must traverse this
    if not settings.database_url:
        pg = EmbeddedPostgres(base / "postgres")
        pg.start()
        env["MAMC_DATABASE_URL"] = pg.url
        servers.append(pg)
        print(f"embedded PostgreSQL on port {pg.port} (data in {base / 'postgres'})", flush=True)
    if not settings.redis_url:
        rd = EmbeddedRedis(base / "redis")
        rd.start()
        env["MAMC_REDIS_URL"] = rd.url
        servers.append(rd)
        print(f"embedded Redis on port {rd.port} (AOF in {base / 'redis'})", flush=True)
    return servers


def _first_run_secrets(settings: Settings, env: dict[str, str]) -> None:
    """Dev conveniences: a generated secret key and Flower password, kept in the data dir (0600)."""
    from shared.infra.crypto import ensure_key_file

    if settings.secret_key is None:
        env["MAMC_SECRET_KEY"] = ensure_key_file(settings.data_dir)
    if settings.flower_password is None:
        path = settings.data_dir / "flower.password"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(18))
        env["MAMC_FLOWER_PASSWORD"] = path.read_text().strip()
        print(f"Flower: user {settings.flower_user!r}, password in {path}", flush=True)


def _prepare_database(env: dict[str, str], prepare: Callable[[], None] | None = None) -> None:
    os.environ.update(env)
    get_settings.cache_clear()
    from shared.infra.apikeys import create_api_key
    from shared.infra.db import session_scope
    from shared.infra.migrate import upgrade
    from shared.models.jobs import ApiKey
    from shared.models.people import User

    upgrade(env["MAMC_DATABASE_URL"])
    if prepare is not None:
        prepare()
    with session_scope() as s:
        if s.query(ApiKey).count() == 0:
            key = create_api_key(s, "first-run")
            print(f"created the first API key (shown once): {key}", flush=True)
        if s.query(User).count() == 0:
            print("nobody can log in to the web UI yet: in another shell, "
                  "`.venv/bin/mamcrawler user create --name NAME`", flush=True)


def children() -> list[Child]:
    cli = [sys.executable, "-m", "shared.cli"]
    out = [Child("api", [*cli, "api"]), Child("beat", [*cli, "beat"]), Child("flower", [*cli, "flower"])]
    out += [Child(f"worker-{pool}", [*cli, "worker", pool]) for pool in QUEUES]
    return out


class Supervisor:
    def __init__(self, env: dict[str, str], kids: list[Child]) -> None:
        self.env = env
        self.kids = kids
        self.stopping = False

    def start(self, child: Child) -> None:
        child.popen = subprocess.Popen(child.argv, env=self.env, start_new_session=True)
        child.started = time.monotonic()
        log.info("started %s (pid %d)", child.name, child.popen.pid)

    def watch_once(self) -> None:
        now = time.monotonic()
        for child in self.kids:
            if child.popen is None:
                if now >= child.next_start:
                    self.start(child)
                continue
            code = child.popen.poll()
            if code is None:
                if now - child.started > 60:
                    child.restarts = 0  # it stayed up: forget old crashes
                continue
            child.restarts += 1
            delay = min(30.0, 2 ** min(child.restarts - 1, 5))
            log.warning("%s exited with %s; restarting in %.0fs", child.name, code, delay)
            child.popen = None
            child.next_start = now + delay

    def stop(self) -> None:
        self.stopping = True
        running = [c for c in self.kids if c.popen is not None and c.popen.poll() is None]
        for child in running:
            assert child.popen is not None
            child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in running:
            assert child.popen is not None
            try:
                child.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs: killing it", child.name, STOP_TIMEOUT)
                os.killpg(child.popen.pid, signal.SIGKILL)
                child.popen.wait()


def run_stack(*, prepare: Callable[[], None] | None = None, started: Callable[[], None] | None = None) -> int:
    """Run the stack until SIGINT/SIGTERM. ``prepare`` runs once the database is migrated, before any
    process starts (``make demo`` adds its person and data there); ``started`` once the processes are
    started and the URL printed (it must return quickly: the supervisor's loop waits for it)."""
    settings = get_settings()
    env = dict(os.environ)
    env["MAMC_DATA_DIR"] = str(settings.data_dir.resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    servers = _embedded(settings, env) if settings.embedded else []
    stop_requested = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sup = Supervisor(env, children())
    try:
        _first_run_secrets(settings, env)
        _prepare_database(env, prepare)
        if servers:  # tell `mamcrawler apikey ...` in another shell where our servers are
            write_state(settings.data_dir, database_url=None if settings.database_url else env["MAMC_DATABASE_URL"],
                        redis_url=None if settings.redis_url else env["MAMC_REDIS_URL"])
        print(f"MAMcrawler API and web UI on http://{settings.api_host}:{settings.api_port} "
              f"(Flower on http://{settings.flower_host}:{settings.flower_port}); Ctrl-C stops", flush=True)
        if started is not None:
            started()
        while not stop_requested:
            sup.watch_once()
            time.sleep(0.5)
    finally:
        remove_state(settings.data_dir)  # first: a stack that is stopping is no longer one to use
        sup.stop()
        for server in reversed(servers):
            server.stop()
        print("MAMcrawler stopped", flush=True)
    return 0
