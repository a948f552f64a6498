"""The job-type registry: one declaration per job type, and the engine's own ``probe``.

A declaration (:class:`JobType`) holds everything about a job except its body: its name (stored
in the ledger, so never renamed), its argument model, the pool it runs on, the outside services
it throttles on, whether the API may create it, singleton/finalize, and its periodic schedule.
Each domain declares its job types next to each other in ``shared/<domain>/jobs.py``; the body
lives in ``workers/<domain>/tasks.py``. Routing (shared/engine/routing.py), beat's schedule
(shared/engine/schedule.py), the throttle check in ``JobContext.throttle`` and the start-up registry
check (workers/registry.py) are all derived from these declarations, so nothing about a job is
written in a third place.

The gateway validates ``POST /api/v1/jobs`` against this table; a task re-validates what it
reads from the ledger. Argument models are pydantic so a bad request gets a 422 problem with the
field named. Arguments never carry secrets: tasks read credentials from settings or the
encrypted store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.pools import Pool
from shared.infra.errors import PermanentError

if TYPE_CHECKING:
    from shared.infra.settings import Settings


class JobArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ArgsT = TypeVar("ArgsT", bound=JobArgs)


class NoArgs(JobArgs):
    pass


class UndeclaredThrottle(PermanentError):
    """A body took a rate-limit slot its declaration does not list: a bug, so never retried.

    Refusing it keeps the declaration honest: the start-up check proves every declared key has a
    configured limit, which is only worth something if no body can throttle on another key.
    """


@dataclass(frozen=True)
class Schedule:
    """A periodic run of a job type, recorded in the ledger by beat (shared/engine/beat.py).

    ``every`` names the :class:`~shared.infra.settings.Settings` field holding the period in seconds (0
    or less turns the entry off); ``entry`` is the RedBeat entry's name, kept stable because RedBeat
    stores its last run under it. ``args`` are the fixed arguments of each run, and ``from_settings``
    maps further arguments to the Settings fields that supply them (the probe's pool).
    """

    entry: str
    every: str
    args: Mapping[str, Any] = field(default_factory=dict)
    from_settings: Mapping[str, str] = field(default_factory=dict)

    def period(self, settings: Settings) -> float:
        return float(getattr(settings, self.every))

    def args_for(self, settings: Settings) -> dict[str, Any]:
        return {**self.args, **{name: getattr(settings, attr) for name, attr in self.from_settings.items()}}

    def fields(self) -> tuple[str, ...]:
        """Every Settings field this schedule reads (the start-up check proves they exist)."""
        return (self.every, *self.from_settings.values())


@dataclass(frozen=True)
class RouteBy:
    """A pool chosen by one argument's value: ``pools`` maps each accepted value to its pool.

    For a job that reaches several outside services, each from the pool that owns that service (a
    connection test of qBittorrent runs where downloads run: the container that can reach it).
    """

    arg: str
    pools: tuple[tuple[str, Pool], ...]

    def pool_for(self, value: object) -> Pool | None:
        return dict(self.pools).get(str(value))


@dataclass(frozen=True)
class JobType(Generic[ArgsT]):
    """Everything about a job but its body.

    ``pool``: the queue it runs on; ``None`` means ``route`` chooses it from an argument, or, without
    ``route``, its ``pool`` argument names the queue (the probe, a fire drill runnable on any pool).
    ``throttle``: the global rate-limit keys (outside services) its body takes slots of;
    ``JobContext.throttle`` refuses any other, and the start-up check proves each has a limit in
    ``MAMC_RATE_LIMITS``. A key may be narrowed per account
    (``mam:<account>`` counts as ``mam``). ``singleton``: at most one active job of this type, a
    second request returns the first. ``finalize``: the body runs again once its children are done.
    """

    name: str
    args: type[ArgsT]
    pool: Pool | None
    throttle: tuple[str, ...] = ()
    api: bool = True
    finalize: bool = False
    singleton: bool = False
    description: str = ""
    schedule: Schedule | None = None
    route: RouteBy | None = None

    def dedupe_key(self) -> str | None:
        return f"singleton:{self.name}" if self.singleton else None

    def throttles_on(self, key: str) -> bool:
        return key.split(":", 1)[0] in self.throttle


_TYPES: dict[str, JobType[Any]] = {}
_catalogue_loaded = False


def register(job_type: JobType[ArgsT]) -> JobType[ArgsT]:
    if job_type.name in _TYPES and _TYPES[job_type.name] != job_type:
        raise ValueError(f"job type {job_type.name!r} registered twice with different specs")
    _TYPES[job_type.name] = job_type
    return job_type


def _catalogue() -> dict[str, JobType[Any]]:
    """The complete table: the one import point of every domain's declarations.

    Imported on first use rather than at the top because each domain module imports this one to
    register; a new domain adds its line here and nowhere else.
    """
    global _catalogue_loaded
    if not _catalogue_loaded:
        from shared.connections import jobs as _connections  # noqa: F401
        from shared.crawl import jobs as _crawl  # noqa: F401
        from shared.download import jobs as _download  # noqa: F401
        from shared.download import monitor_jobs as _download_monitor  # noqa: F401
        from shared.download import spend_jobs as _download_spend  # noqa: F401
        from shared.imports import jobs as _imports  # noqa: F401
        from shared.library import jobs as _library  # noqa: F401
        from shared.metadata import jobs as _metadata  # noqa: F401
        from shared.notify import jobs as _notify  # noqa: F401
        from shared.wanted import jobs as _wanted  # noqa: F401

        _catalogue_loaded = True
    return _TYPES


def get(name: str) -> JobType[Any]:
    types = _catalogue()
    try:
        return types[name]
    except KeyError:
        raise KeyError(f"unknown job type {name!r}; known: {', '.join(sorted(types))}") from None


def all_types() -> dict[str, JobType[Any]]:
    return dict(_catalogue())


# -- the engine's own job type ---------------------------------------------------------------------


class ProbeArgs(JobArgs):
    """An operator's fire drill: sleep, fail transiently ``fail_times`` times, report who ran it."""

    pool: Pool
    seconds: float = Field(0.0, ge=0, le=3600)
    fail_times: int = Field(0, ge=0, le=100)


PROBE = register(JobType(
    "probe", ProbeArgs, pool=None, throttle=("probe",), description="fire drill on one pool",
    schedule=Schedule("probe-drill", every="schedule_probe_seconds", from_settings={"pool": "schedule_probe_pool"}),
))
