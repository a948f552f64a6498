"""``connection.test``: can MAMcrawler reach one outside service with the settings it has now?

One job type for every service, each run on the pool that uses that service (``RouteBy``): in a
deployment where each pool is its own container, the test answers for the container that matters
(qBittorrent from the download pool, MAM from the crawl pool). Body: workers/connections/tasks.py.

The job succeeds whenever the test ran, and its result says what it found: ``ok`` and a ``message``
for a person (never a secret), so a refused key is a readable verdict rather than a retried job.
Each test is one cheap call through the service's own client and its rules: the MAM test takes a
slot of the account's budget and reads the account's standing (spends nothing); the qBittorrent
test never logs in again with credentials qBittorrent already refused (its ban comes closer with
each failure).
"""

from __future__ import annotations

from enum import StrEnum

from shared.engine.jobtypes import JobArgs, JobType, RouteBy, register
from shared.engine.pools import Pool


class Service(StrEnum):
    ABS = "abs"
    QBITTORRENT = "qbittorrent"
    MAM = "mam"
    AUDIBLE = "audible"
    HARDCOVER = "hardcover"
    GOOGLEBOOKS = "googlebooks"


#: The pool each service is tested from: the one whose jobs use it.
POOLS: dict[Service, Pool] = {
    Service.ABS: Pool.LIBRARY_SYNC,
    Service.QBITTORRENT: Pool.DOWNLOAD,
    Service.MAM: Pool.CRAWL,
    Service.AUDIBLE: Pool.METADATA,
    Service.HARDCOVER: Pool.METADATA,
    Service.GOOGLEBOOKS: Pool.METADATA,
}


class ConnectionTestArgs(JobArgs):
    service: Service


CONNECTION_TEST = register(JobType(
    "connection.test", ConnectionTestArgs, pool=None,
    route=RouteBy("service", tuple((service.value, pool) for service, pool in POOLS.items())),
    throttle=("abs", "qbit", "mam", "audible", "hardcover", "googlebooks"),
    description="test one outside service's connection with the current settings (result: ok and why)",
))


def dedupe_key(service: Service) -> str:
    """One test per service at a time: a second click while one runs returns that one."""
    return f"connection.test:{service.value}"
