"""The crawl domain's job types (the MAM account). Bodies: workers/crawl/tasks.py.

Every MAM job runs on the ``crawl`` pool and throttles on ``mam``, the account's one global budget;
while the MAM session is invalid (or unset) they park on ``shared.crawl.session.GATE`` instead of
running.
"""

from __future__ import annotations

from shared.engine.jobtypes import JobType, NoArgs, Schedule, register
from shared.engine.pools import Pool

ACCOUNT_REFRESH = register(JobType(
    "account.refresh", NoArgs, pool=Pool.CRAWL, throttle=("mam",), singleton=True,
    description="read the MAM account's standing (jsonLoad) into the history",
    schedule=Schedule("account-refresh", every="schedule_account_refresh"),
))
