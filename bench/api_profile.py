"""CPU cost of one ``POST /api/v1/jobs`` inside the gateway process, without HTTP or a client.

Why: the latency target (p99 < 15 ms at 200 req/s on 2 cores) is a CPU budget; this drives the
ASGI app directly so the figure is the app's own cost. ``--profile`` prints the top functions.
Run: ``.venv/bin/python -m bench.api_profile [--n 2000] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from shared.devstack.postgres_server import EmbeddedPostgres
from shared.devstack.redis_server import EmbeddedRedis


async def _drive(app: Any, body: bytes, key: str, n: int) -> list[int]:
    statuses: list[int] = []
    headers = [(b"content-type", b"application/json"), (b"x-api-key", key.encode()),
               (b"content-length", str(len(body)).encode())]
    for _ in range(n):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/api/v1/jobs", "raw_path": b"/api/v1/jobs", "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    ns = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mamc-apiprof-"))
    workdir.chmod(0o755)
    pg, rd = EmbeddedPostgres(workdir / "pg", fsync=False), EmbeddedRedis(workdir / "redis")
    pg.start()
    rd.start()
    try:
        url = pg.create_database("prof")
        os.environ.update({"MAMC_DATABASE_URL": url, "MAMC_REDIS_URL": rd.url, "MAMC_DATA_DIR": str(workdir / "d"),
                           "MAMC_LOG_LEVEL": "WARNING", "MAMC_API_RATE_LIMIT": "100000/1"})
        from shared.infra.migrate import upgrade

        upgrade(url)
        from api.app import create_app
        from shared.infra.apikeys import create_api_key
        from shared.infra.db import session_scope

        with session_scope() as s:
            key = create_api_key(s, "prof")
        app = create_app()
        body = json.dumps({"type": "probe", "args": {"pool": "crawl"}}).encode()

        async def run() -> None:
            async with app.router.lifespan_context(app):
                await _drive(app, body, key, 200)  # warm-up
                prof = cProfile.Profile() if ns.profile else None
                cpu0, wall0 = time.process_time(), time.perf_counter()
                if prof:
                    prof.enable()
                statuses = await _drive(app, body, key, ns.n)
                if prof:
                    prof.disable()
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                print(json.dumps({"requests": ns.n, "statuses": sorted(set(statuses)),
                                  "cpu_ms_per_request": round(cpu / ns.n * 1000, 3),
                                  "wall_ms_per_request": round(wall / ns.n * 1000, 3)}))
                if prof:
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(45)

        asyncio.run(run())
    finally:
        pg.stop()
        rd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
