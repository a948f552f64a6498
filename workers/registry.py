"""Start-up checks: fail fast, not at 3 a.m.

Every ledgered task routes to a queue that has a pool; every job type the API accepts has a
task; the broker's visibility timeout is longer than any task may run plus the longest delay we
ever put on a message; the attempt cap leaves room for every pool's retries.
"""

from __future__ import annotations

from celery import Celery

from shared import jobtypes
from shared.errors import ConfigError
from shared.pools import QUEUES, all_pool_configs
from shared.routing import UnroutableJob, queue_for
from shared.settings import Settings
from workers.base import LedgerTask


def check_registry(app: Celery, settings: Settings) -> None:
    problems: list[str] = []
    tasks = {name: t for name, t in app.tasks.items() if isinstance(t, LedgerTask)}
    for name in tasks:
        if name == "probe":
            continue
        try:
            queue = queue_for(name)
        except UnroutableJob as exc:
            problems.append(str(exc))
            continue
        if queue not in QUEUES:
            problems.append(f"task {name} routes to {queue}, which has no pool")
    for name, spec in jobtypes.all_types().items():
        if name not in tasks:
            problems.append(f"job type {name} ({'API' if spec.api else 'internal'}) has no task")
    longest = max(cfg.time_limit for cfg in all_pool_configs())
    if settings.visibility_timeout <= longest + settings.max_countdown:
        problems.append(
            f"MAMC_VISIBILITY_TIMEOUT={settings.visibility_timeout} must exceed the longest time limit "
            f"({longest}s) plus MAMC_MAX_COUNTDOWN ({settings.max_countdown}s)"
        )
    for cfg in all_pool_configs():
        if cfg.retry.max_retries + 1 > settings.attempt_cap:
            problems.append(f"MAMC_ATTEMPT_CAP={settings.attempt_cap} is below pool {cfg.pool} retries + 1")
    if problems:
        raise ConfigError("registry check failed:\n  " + "\n  ".join(problems))
