"""Beat's schedule, in code, with cadences from settings.

Each entry names a job type; beat does not publish Celery messages itself but records a ledger
job (see shared/beat.py), so periodic work is visible, deduplicated per tick and expires before
its next run instead of piling up behind a stalled pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared import jobtypes
from shared.settings import Settings


@dataclass(frozen=True)
class Periodic:
    name: str
    job_type: str
    every: float
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def expires(self) -> float:
        """Expire just before the next tick: a late run is worth less than the next one."""
        return max(1.0, self.every * 0.9)


def periodic_jobs(settings: Settings) -> list[Periodic]:
    wanted = [
        Periodic("library-sync", "library.sync", settings.schedule_library_sync),
        Periodic("metadata-refresh", "metadata.refresh", settings.schedule_metadata_refresh),
        Periodic("gaps-detect", "gaps.detect", settings.schedule_gaps_detect),
    ]
    if settings.schedule_probe_seconds > 0:
        wanted.append(Periodic("probe-drill", "probe", settings.schedule_probe_seconds,
                               {"pool": settings.schedule_probe_pool}))
    known = jobtypes.all_types()
    return [p for p in wanted if p.job_type in known and p.every > 0]


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        p.name: {
            "task": p.job_type,
            "schedule": timedelta(seconds=p.every),
            "kwargs": p.args,
            "options": {"expires": p.expires},
        }
        for p in periodic_jobs(settings)
    }
