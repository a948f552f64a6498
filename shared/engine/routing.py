"""Job type → queue, derived from the declarations (shared/engine/jobtypes.py and ``shared/<domain>/jobs.py``).

Each declaration names its pool, so a new job lands on the right pool by being declared, and a job
type nobody declared is refused before it reaches the ledger. A declaration without a pool is
routed by an argument: the one its ``route`` names (``connection.test``: each service from the pool
that owns it), else its ``pool`` argument (the probe, a fire drill runnable on any pool).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.engine import jobtypes
from shared.engine.pools import Pool


class UnroutableJob(ValueError):
    """A job type nobody declared, or a job routed by its arguments naming no known pool."""


def queue_for(job_type: str, args: Mapping[str, Any] | None = None) -> str:
    try:
        spec = jobtypes.get(job_type)
    except KeyError:
        raise UnroutableJob(f"no queue routes job type {job_type!r}: no declaration names it") from None
    if spec.pool is not None:
        return spec.pool.value
    if spec.route is not None:
        chosen = spec.route.pool_for((args or {}).get(spec.route.arg))
        if chosen is None:
            known = ", ".join(value for value, _ in spec.route.pools)
            raise UnroutableJob(f"{job_type} needs args.{spec.route.arg}, one of {known}")
        return chosen.value
    pool = (args or {}).get("pool")
    try:
        return Pool(str(pool)).value
    except ValueError:
        raise UnroutableJob(f"{job_type} needs args.pool, one of {[p.value for p in Pool]}") from None


def routes() -> dict[str, str]:
    """The derived view, for docs and operators: every job type and its queue (or how it is chosen)."""
    return {name: spec.pool.value if spec.pool is not None else f"args.{spec.route.arg if spec.route else 'pool'}"
            for name, spec in sorted(jobtypes.all_types().items())}
