"""The governor's spend job type. Body: workers/download/spend.py.

``account.spend`` runs on the ``crawl`` pool because it talks to MAM through the account's one session
and budget (``mam``), like every MAM job, and parks with them while the session is invalid. A
singleton: two spend runs at once could each plan the same upload credit from the same snapshot (the
spend keys would still stop a double purchase, but the second run would only waste a request).
Beat runs it every ``MAMC_SCHEDULE_ACCOUNT_SPEND`` seconds (1 h): often enough that points accruing
toward the cap are spent before they reach it, and that the pace gate, which opens with time alone,
is re-checked. The governor policy's ``dry_run`` (or ``MAMC_DRY_RUN``) records the plan and buys
nothing.
"""

from __future__ import annotations

from shared.engine.jobtypes import JobType, NoArgs, Schedule, register
from shared.engine.pools import Pool

ACCOUNT_SPEND = register(JobType(
    "account.spend", NoArgs, pool=Pool.CRAWL, throttle=("mam",), singleton=True,
    description="spend bonus points as the governor policy plans: renew VIP before it lapses, upload credit "
                "before points reach the cap (never gift or sendWedge)",
    schedule=Schedule("account-spend", every="schedule_account_spend"),
))
