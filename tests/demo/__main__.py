"""``make demo``: the whole MAMcrawler stack against the flow world, for a newcomer to watch in a browser.

    .venv/bin/python -m tests.demo [--dir data/demo] [--series 80] [--seed 7]

Starts the flow world (tests/demo/world.py: ABS with a few hundred books and their series gaps, the
metadata providers, MAM, a real qbittorrent-nox swarm), then runs ``mamcrawler up``'s supervisor
(private PostgreSQL and Redis, the gateway with the web UI, one worker per pool, beat, Flower) with
settings pointing at that world. It prints the URL and a line ``demo login: demo / PASSWORD``, then
each milestone of the flow as it happens, with the seconds since start: the library syncs, gaps
appear, searches choose editions (auto-grab is on), downloads complete, imports land in ABS.

Everything lives under ``--dir`` (default ``data/demo``), wiped at each start: a demo starts fresh.
Ctrl-C stops it all. It never touches a real service: every URL points at the world, and a ``.env``
naming a database or Redis is refused rather than used.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

from shared.devstack.server import find_free_port
from shared.devstack.stackstate import find_running_stack
from shared.infra.errors import ConfigError
from shared.infra.settings import get_settings
from shared.notify.events import EventKind
from tests.demo.kickoff import DEMO_USER, follow, seed_demo
from tests.demo.world import MissingTools, check_tools, start_world


def _port(preferred: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: a stopped demo's
        try:  # connections in TIME_WAIT do not make the port look taken
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return find_free_port()
    return preferred


def _running(stack_dir: Path) -> bool:
    """A live demo owns ``stack_dir`` (a stale or unreadable state file is no demo: the dir is wiped)."""
    try:
        find_running_stack(stack_dir)
    except ConfigError:  # StackNotRunning among them
        return False
    return True


def demo_env(data: Path) -> dict[str, str]:
    """The stack's own settings for the demo (the world's come from ``FlowWorld.env``)."""
    return {
        "MAMC_DATA_DIR": str(data / "stack"),
        "MAMC_API_PORT": str(_port(int(os.environ.get("MAMC_API_PORT", "8080")))),
        "MAMC_FLOWER_PORT": str(_port(int(os.environ.get("MAMC_FLOWER_PORT", "5555")))),
        # the flow at a pace a person can watch: searches every 15 s, qBittorrent read every 3 s (with
        # room in the download pool for the monitor beside the grabs: a tick that waits past its expiry
        # holds its slot until the sweeper's grace, here 15 s, cancels it)
        "MAMC_SCHEDULE_CRAWL_AUTO_SEARCH": "15", "MAMC_CRAWL_AUTO_SEARCH_BATCH": "5",
        "MAMC_SCHEDULE_DOWNLOAD_MONITOR": "3", "MAMC_CONCURRENCY": json.dumps({"download": 4}),
        "MAMC_LOST_MESSAGE_GRACE": "15",
        "MAMC_DRY_RUN": "false",
        # the terminal is for the URL, the login and the milestones: the processes say only what goes wrong
        # (MAMC_LOG_LEVEL=INFO make demo shows everything)
        "MAMC_LOG_LEVEL": os.environ.get("MAMC_LOG_LEVEL", "WARNING"),
        # a .env's notification URLs must not hear about simulated books
        "MAMC_NOTIFY_DISABLED": ",".join(k.value for k in EventKind),
    }


def main(argv: list[str] | None = None) -> int:
    t0 = time.monotonic()
    p = argparse.ArgumentParser(prog="make demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", type=Path, default=Path("data/demo"), help="everything lives here (wiped at start)")
    p.add_argument("--series", type=int, default=80, help="series in the generated world (80: ~270 books)")
    p.add_argument("--seed", type=int, default=7)
    ns = p.parse_args(argv)
    data = ns.dir.resolve()
    try:
        check_tools()
    except MissingTools as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return 2
    if _running(data / "stack"):
        print(f"make demo: a demo is already running on {data} (Ctrl-C it first, or give --dir)", file=sys.stderr)
        return 2
    shutil.rmtree(data, ignore_errors=True)
    world = start_world(data / "world", series=ns.series, seed=ns.seed)
    try:
        os.environ.update({**world.env(), **demo_env(data)})
        get_settings.cache_clear()
        try:
            settings = get_settings()
        except ConfigError as exc:
            print(f"make demo: {exc}", file=sys.stderr)
            return 2
        if settings.database_url or settings.redis_url:
            print("make demo: MAMC_DATABASE_URL or MAMC_REDIS_URL is set (in the environment or .env): the demo "
                  "runs its own servers and never writes into yours; unset them for the demo", file=sys.stderr)
            return 2
        gaps = sum(len(t.true_gaps) for t in world.world.truths.values())
        print(f"flow world: {len(world.world.owned_books)} books in ABS with {gaps} missing from their series; "
              f"{len(world.mam.catalogue)} torrents on MAM for {gaps - len(world.catalogue.unoffered)} of them; "
              f"a qbittorrent-nox swarm on 127.0.0.1 (all under {data})", flush=True)
        password = secrets.token_urlsafe(9)
        sync: list[uuid.UUID] = []
        base = f"http://{settings.api_host}:{settings.api_port}"

        def started() -> None:
            print(f"demo login: {DEMO_USER} / {password}", flush=True)
            print(f"[{time.monotonic() - t0:6.1f}s] URL printed: open {base}/ and log in", flush=True)
            wrong = [t.title for t in world.mam.catalogue if t.id in world.catalogue.wrong_recordings]
            follow(sync[0], world.world.as_of, base, t0, pin=wrong, login=f"demo login: {DEMO_USER} / {password}",
                   say=lambda line: print(line, flush=True))

        from shared.devstack.supervisor import run_stack

        return run_stack(prepare=lambda: sync.append(seed_demo(password)), started=started)
    finally:
        world.stop()


if __name__ == "__main__":
    sys.exit(main())
