"""ASGI simulators of the six metadata providers, all serving one :mod:`tests.sims.world`.

Usage::

    world = generate_world(40, seed=1)
    app = build_audnexus_app(world)
    client = in_process_client(app)          # sync httpx client, no sockets
    base_url, stop = serve(app)              # or real HTTP on 127.0.0.1
    app.state.storm_429(times=2, retry_after="3")
    assert app.state.requests["book"] == 1

Each factory returns a :class:`SimApp`; its ``state`` holds request counters and fault injection.
"""

from tests.sims.providers.audible import build_audible_app
from tests.sims.providers.audnexus import build_audnexus_app
from tests.sims.providers.common import Fault, ManualClock, SimApp, SimState, in_process_client, serve
from tests.sims.providers.googlebooks import build_googlebooks_app
from tests.sims.providers.hardcover import build_hardcover_app
from tests.sims.providers.itunes import build_itunes_app
from tests.sims.providers.openlibrary import build_openlibrary_app

__all__ = [
    "Fault",
    "ManualClock",
    "SimApp",
    "SimState",
    "build_audible_app",
    "build_audnexus_app",
    "build_googlebooks_app",
    "build_hardcover_app",
    "build_itunes_app",
    "build_openlibrary_app",
    "in_process_client",
    "serve",
]
