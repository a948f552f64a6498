"""One declaration per job type: the start-up check, the throttle guard and beat's schedule follow it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from shared.engine import jobtypes
from shared.engine.jobtypes import JobArgs, JobType, NoArgs, Schedule, UndeclaredThrottle
from shared.engine.pools import Pool
from shared.engine.schedule import periodic_jobs
from shared.infra.errors import ConfigError
from shared.infra.settings import Settings
from shared.library.jobs import LIBRARY_SYNC, SyncArgs
from workers.base import job_task
from workers.catalogue import register_all
from workers.context import JobContext
from workers.registry import check_registry, declaration_problems

ROOT = Path(__file__).resolve().parents[2]


def _settings(**kw: Any) -> Settings:
    return Settings(database_url="postgresql://x", redis_url="redis://x", **kw)


def _app() -> Celery:
    """Every task the workers register, on an app that never connects."""
    app = Celery("declarations-test", broker="memory://", set_as_current=False)
    register_all(app)
    return app


def test_the_real_catalogue_passes_the_start_up_check() -> None:
    check_registry(_app(), _settings())


def test_a_declaration_with_an_unknown_throttle_key_fails_naming_the_key_and_the_setting() -> None:
    spec = JobType("crawl.search", NoArgs, pool=Pool.CRAWL, throttle=("mam", "tracker2"))
    (problem,) = declaration_problems([spec], _settings())
    assert "crawl.search" in problem and "'tracker2'" in problem and "MAMC_RATE_LIMITS" in problem
    # once the operator configures it, the declaration passes
    assert declaration_problems([spec], _settings(rate_limits={"tracker2": "1/5"})) == []


def test_the_start_up_check_refuses_an_unconfigured_throttle_key(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = JobType("library.sync", SyncArgs, pool=Pool.LIBRARY_SYNC, throttle=("abs", "absx"), singleton=True)
    monkeypatch.setitem(jobtypes._catalogue(), "library.sync", bad)
    with pytest.raises(ConfigError) as err:
        check_registry(_app(), _settings())
    assert "'absx'" in str(err.value) and "MAMC_RATE_LIMITS" in str(err.value)


def test_a_schedule_naming_a_missing_setting_fails_the_check() -> None:
    spec = JobType("library.sync", SyncArgs, pool=Pool.LIBRARY_SYNC,
                   schedule=Schedule("library-sync", every="schedule_library_synk"))
    (problem,) = declaration_problems([spec], _settings())
    assert "schedule_library_synk" in problem


def test_a_schedule_whose_arguments_the_job_refuses_fails_the_check() -> None:
    spec = JobType("library.sync", SyncArgs, pool=Pool.LIBRARY_SYNC,
                   schedule=Schedule("library-sync", every="schedule_library_sync", args={"forse": True}))
    (problem,) = declaration_problems([spec], _settings())
    assert "scheduled arguments are invalid" in problem and "forse" in problem


def test_a_task_without_a_declaration_fails_the_check() -> None:
    app = _app()
    undeclared = JobType("crawl.undeclared", NoArgs, pool=Pool.CRAWL)  # never registered in the catalogue

    def body(ctx: JobContext[NoArgs]) -> None:  # pragma: no cover - never run
        raise AssertionError

    job_task(app, undeclared)(body)
    with pytest.raises(ConfigError) as err:
        check_registry(app, _settings())
    assert "task crawl.undeclared has no job type declaration" in str(err.value)


class _Limiter:
    def __init__(self) -> None:
        self.taken: list[str] = []

    def acquire(self, key: str, max_wait: float = 5.0) -> None:
        self.taken.append(key)


def _ctx(job_type: str, args: JobArgs, limiter: _Limiter) -> JobContext[Any]:
    return JobContext(job_id=uuid.uuid4(), job_type=job_type, generation=1, attempt=1, correlation_id="t",
                      phase=None, args=args, limiter=limiter,  # type: ignore[arg-type]
                      worker_host="test", worker_pid=0, lifetime_attempts=1)


def test_throttle_refuses_a_key_the_job_did_not_declare() -> None:
    limiter = _Limiter()
    ctx = _ctx("library.sync", SyncArgs(), limiter)
    ctx.throttle("abs")
    with pytest.raises(UndeclaredThrottle) as err:
        ctx.throttle("audible")
    assert "library.sync" in str(err.value) and "'audible'" in str(err.value)
    assert limiter.taken == ["abs"], "the refused key must not take a slot"


def test_a_per_account_key_counts_as_its_service(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = JobType("crawl.per_account", NoArgs, pool=Pool.CRAWL, throttle=("mam",))
    monkeypatch.setitem(jobtypes._catalogue(), spec.name, spec)
    limiter = _Limiter()
    _ctx("crawl.per_account", NoArgs(), limiter).throttle("mam:account-1")
    assert limiter.taken == ["mam:account-1"]


def test_beat_schedule_is_built_from_the_declarations() -> None:
    entries = {p.name: p for p in periodic_jobs(_settings(schedule_probe_seconds=30, schedule_probe_pool="crawl"))}
    assert set(entries) == {"library-sync", "metadata-refresh", "gaps-detect", "probe-drill",
                            "account-refresh", "crawl-auto-search", "account-spend",
                            "download-monitor", "download-trackers"}
    assert entries["library-sync"].job_type == LIBRARY_SYNC.name and entries["library-sync"].every == 6 * 3600
    assert entries["probe-drill"].args == {"pool": "crawl"} and entries["probe-drill"].every == 30
    off = {p.name for p in periodic_jobs(_settings(schedule_library_sync=0))}
    assert "library-sync" not in off and "probe-drill" not in off


def test_the_catalogue_is_complete_in_a_process_that_imported_only_the_registry() -> None:
    """The gateway never imports workers/: the registry alone must know every domain's job types."""
    code = "from shared.engine import jobtypes; print(' '.join(sorted(jobtypes.all_types())))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    names = set(out.stdout.split())
    assert {"probe", "library.sync", "library.writeback", "gaps.detect", "metadata.resolve_wanted"} <= names
    assert names == set(jobtypes.all_types())
