"""The qBittorrent WebUI simulator (4.5.2, WebAPI 2.8.19): the subset the download pool's client uses.

    state = QbitSimState(username="mamc", password="secret")
    base_url, stop = serve_qbit(state)        # real HTTP on 127.0.0.1 (uvicorn in a thread)
    state.populate(10_000, category="mamcrawler")
    state.complete(info_hash); state.remove(info_hash); state.restart()

Checked against the real daemon by ``tests/integration/test_qbit_real.py``; where the two could
differ, the real one is the reference and this file follows it.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.sims.providers.common import serve
from tests.sims.qbit.app import QbitSim
from tests.sims.qbit.metainfo import Metainfo, read
from tests.sims.qbit.state import APP_VERSION, BANNED, WEB_API_VERSION, Call, Fault, QbitSimState


def serve_qbit(state: QbitSimState, port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve the simulator over real HTTP on 127.0.0.1: ``(base_url, stop)``."""
    return serve(QbitSim(state), port)  # type: ignore[arg-type]


__all__ = ["APP_VERSION", "BANNED", "WEB_API_VERSION", "Call", "Fault", "Metainfo", "QbitSim", "QbitSimState",
           "read", "serve_qbit"]
