"""Start-up checks: fail fast, not at 3 a.m.

Every ledgered task has a declaration whose pool exists; every declared job type has a task; every
throttle key a declaration lists has a configured rate limit; every schedule reads Settings fields
that exist and gives arguments its job type accepts; the broker's visibility timeout is longer than
any task may run plus the longest delay we ever put on a message; the attempt cap leaves room for
every pool's retries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import Celery
from pydantic import ValidationError

from shared.engine import jobtypes
from shared.engine.jobtypes import JobType
from shared.engine.pools import QUEUES, all_pool_configs
from shared.infra.errors import ConfigError
from shared.infra.settings import Settings
from workers.base import LedgerTask


def declaration_problems(types: Iterable[JobType[Any]], settings: Settings) -> list[str]:
    """What is wrong with the declarations themselves, judged against the configured settings."""
    problems: list[str] = []
    limits = settings.limits()
    fields = type(settings).model_fields
    for spec in types:
        if spec.pool is not None and spec.pool.value not in QUEUES:
            problems.append(f"job type {spec.name} runs on pool {spec.pool}, which has no queue")
        for key in spec.throttle:
            if key.split(":", 1)[0] not in limits:
                problems.append(
                    f"job type {spec.name} throttles on {key!r}, which has no rate limit: set "
                    f'MAMC_RATE_LIMITS={{"{key}": "LIMIT/PERIOD_SECONDS[/BURST]"}} '
                    f"(configured: {', '.join(sorted(limits))})")
        if spec.schedule is None:
            continue
        missing = [name for name in spec.schedule.fields() if name not in fields]
        if missing:
            problems.append(f"job type {spec.name}'s schedule reads settings that do not exist: {', '.join(missing)}")
            continue
        try:
            spec.args.model_validate(spec.schedule.args_for(settings))
        except ValidationError as exc:
            problems.append(f"job type {spec.name}'s scheduled arguments are invalid: {exc}")
    return problems


def check_registry(app: Celery, settings: Settings) -> None:
    problems: list[str] = []
    tasks = {name: t for name, t in app.tasks.items() if isinstance(t, LedgerTask)}
    declared = jobtypes.all_types()
    for name in tasks:
        if name not in declared:
            problems.append(f"task {name} has no job type declaration, so no queue routes it")
    for name, spec in declared.items():
        if name not in tasks:
            problems.append(f"job type {name} ({'API' if spec.api else 'internal'}) has no task")
    problems += declaration_problems(declared.values(), settings)
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
