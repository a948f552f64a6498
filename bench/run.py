"""``make bench``: run every benchmark against private servers and write the figures to files.

Results go to ``bench/results/latest.json`` (machine-readable) and ``bench/results/latest.md``
(the table the issues quote). ``--quick`` shrinks every workload for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from shared.devstack.postgres_server import EmbeddedPostgres
from shared.devstack.redis_server import EmbeddedRedis


def _environment(pg_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    from tests.integration.stack import FAST_ENV

    env = {**FAST_ENV, "MAMC_DATABASE_URL": pg_url, "MAMC_REDIS_URL": redis_url,
           "MAMC_DATA_DIR": str(workdir / "data"), "MAMC_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    return {**os.environ}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    areas = ["engine", "library", "metadata", "crawl", "download", "ui"]
    parser.add_argument("--only", choices=areas, action="append")
    parser.add_argument("--crawl-spacing", type=float, help="crawl: one run at this MAM spacing (seconds)")
    parser.add_argument("--crawl-entries", type=int, default=150, help="crawl: wanted entries of that run")
    ns = parser.parse_args()
    only = set(ns.only or areas)
    workdir = Path(tempfile.mkdtemp(prefix="mamc-bench-"))
    workdir.chmod(0o755)
    pg = EmbeddedPostgres(workdir / "pg", fsync=False)
    rd = EmbeddedRedis(workdir / "redis")
    pg.start()
    rd.start()
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "platform": platform.platform()},
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": ns.quick}
    try:
        url = pg.create_database("bench")
        env = _environment(url, rd.url, workdir)
        from shared.infra.migrate import upgrade

        upgrade(url)
        from tests.integration.stack import Stack

        stack = Stack(env=env, workdir=workdir)
        try:
            if "engine" in only:
                from bench import engine
                from shared.infra.apikeys import create_api_key
                from shared.infra.db import session_scope

                with session_scope() as s:
                    key = create_api_key(s, "bench")
                results["engine"] = engine.run(stack, rd.url, key, ns.quick)
                _write(results)
            for area in ("library", "metadata"):
                if area in only:
                    module = _optional(f"bench.{area}")
                    if module is not None:
                        results[area] = module.run(stack, env, ns.quick)
                        _write(results)
            if "crawl" in only:
                from bench import crawl_budget
                from tests.integration.mam_budget_load import BudgetRun

                runs = ((BudgetRun(spacing=ns.crawl_spacing, entries=ns.crawl_entries),)
                        if ns.crawl_spacing else None)
                results["crawl"] = crawl_budget.run(stack, env, ns.quick, runs)
                _write(results)
            if "download" in only:
                from bench import download_monitor

                results["download"] = download_monitor.run(ns.quick)
                _write(results)
            if "ui" in only:
                from bench import ui

                results["ui"] = ui.run(stack, env, ns.quick)
                _write(results)
        finally:
            stack.stop()
    finally:
        pg.stop()
        rd.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    _write(results)
    print(json.dumps(results, indent=2))


def _optional(name: str) -> Any:
    import importlib
    import importlib.util

    return importlib.import_module(name) if importlib.util.find_spec(name) else None


def _write(results: dict[str, Any]) -> None:
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Benchmark results", "", f"Run {results['started']} on {results['machine']}"
             f"{' (quick)' if results['quick'] else ''}.", ""]
    for area, figures in results.items():
        if not isinstance(figures, dict) or area == "machine":
            continue
        lines.append(f"## {area}")
        for name, values in figures.items():
            lines.append(f"- **{name}**: " + ", ".join(f"{k}={v}" for k, v in values.items())
                         if isinstance(values, dict) else f"- **{name}**: {values}")
        lines.append("")
    (out / "latest.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
