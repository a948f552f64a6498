"""The MAM simulator (``shared/reference/mam.md``): search (GET and POST forms), ``jsonLoad.php``,
``download.php`` with real ``.torrent`` bytes, ``bonusBuy.php``, cookie rotation, 403 on a dead
session, fault and quirk injection, and a request log without secrets.

    state = MamSimState(catalogue=build_catalogue([{"title": "...", "authors": ["..."]}]))
    http = mam_http_client(state)               # in-process, no sockets
    base_url, stop = serve_mam(state)           # real HTTP on 127.0.0.1 (uvicorn in a thread)
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.sims.mam.app import MamSim, route_of
from tests.sims.mam.catalogue import QUIRKS, SimAccount, SimTorrent, build_catalogue, build_torrent
from tests.sims.mam.render import dl_hash, human_size, render_row
from tests.sims.mam.state import Fault, LogEntry, MamSimState
from tests.sims.mam.torrents import TorrentFile, torrent_file, write_content
from tests.sims.providers.common import in_process_client, serve

BASE_URL = "http://mam.test"


def mam_http_client(state: MamSimState) -> httpx.Client:
    """A sync ``httpx.Client`` that reaches the simulator in-process (pass as ``UpstreamOptions.http``)."""
    client = in_process_client(MamSim(state))  # type: ignore[arg-type]
    client.base_url = httpx.URL(BASE_URL)
    return client


def serve_mam(state: MamSimState, port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve the simulator over real HTTP on 127.0.0.1: ``(base_url, stop)``."""
    return serve(MamSim(state), port)  # type: ignore[arg-type]


__all__ = [
    "BASE_URL", "QUIRKS", "Fault", "LogEntry", "MamSim", "MamSimState", "SimAccount", "SimTorrent",
    "TorrentFile", "build_catalogue", "build_torrent", "dl_hash", "human_size", "mam_http_client",
    "render_row", "route_of", "serve_mam", "torrent_file", "write_content",
]
