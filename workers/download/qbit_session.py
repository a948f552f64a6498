"""A qBittorrent client for a download-pool job, with the pool's rule for a refused login.

A refused login (wrong password, or qBittorrent's ban after failures) is not retried: the job parks
on the ``qbit_login`` gate (``shared.download.qbit_gate``), the refused credentials are recorded and
an alert says what to fix; new settings (``PUT /api/v1/settings/qbittorrent``) release it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.download import qbit_gate
from shared.download.qbit_settings import load_connection
from shared.infra.db import session_scope
from shared.infra.errors import Parked
from workers.download.qbit import QbitClient, connect
from workers.download.qbit_errors import QbitLoginRefused


def _parked(why: str) -> Parked:
    return Parked(qbit_gate.GATE, why, still_closed=qbit_gate.gate_closed)


@contextmanager
def qbit_client() -> Iterator[QbitClient]:
    with session_scope() as s:
        if qbit_gate.gate_closed(s):
            raise _parked("qBittorrent refused these credentials; waiting for new ones "
                          "(PUT /api/v1/settings/qbittorrent or MAMC_QBIT_USER/MAMC_QBIT_PASSWORD)")
        client = connect(s)
    try:
        yield client
    except QbitLoginRefused as exc:
        with session_scope() as s:
            qbit_gate.mark_refused(s, load_connection(s), str(exc))
        raise _parked(str(exc)) from None
