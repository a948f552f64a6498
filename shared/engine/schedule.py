"""Beat's schedule, built from the declarations that carry a :class:`~shared.engine.jobtypes.Schedule`.

Each entry names a job type; beat does not publish Celery messages itself but records a ledger
job (see shared/engine/beat.py), so periodic work is visible, deduplicated per tick and expires before
its next run instead of piling up behind a stalled pool. Cadences come from settings; an entry
whose period is 0 or less is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared.engine import jobtypes
from shared.infra.settings import Settings


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
    wanted = [Periodic(spec.schedule.entry, spec.name, spec.schedule.period(settings),
                       spec.schedule.args_for(settings))
              for spec in jobtypes.all_types().values() if spec.schedule is not None]
    return sorted((p for p in wanted if p.every > 0), key=lambda p: p.name)


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
