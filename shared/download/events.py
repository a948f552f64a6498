"""The download pool's events, and :func:`emit`, the one way the monitor tells anyone about them.

An event is emitted once, when it happens (an obligation *becomes* at risk), never on every cycle
a condition lasts. :data:`SUBSCRIBERS` is the list of what happens to each: it is logged; the
kinds an operator must act on open an alert (``shared/infra/alerts.py``: one open alert per kind,
the first message kept, resolved by the monitor when the condition is gone everywhere); the kinds
a person asked to hear about queue a notification (``shared/notify``: Apprise, each kind can be
switched off). Append a subscriber to extend it; each runs in the caller's transaction, so an
event is delivered only if the change it reports is committed.

Messages name the download and the torrent, never a passkey or an announce URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from shared.infra.alerts import raise_alert
from shared.notify.events import EventKind, notify

log = logging.getLogger(__name__)


class DownloadEvent(StrEnum):
    COMPLETED = "download_completed"
    ADOPTED = "download_adopted"  # a torrent added by hand in our category, now followed
    STALLED = "download_stalled"  # no progress, re-announced, still none
    VANISHED = "download_vanished"  # gone from qBittorrent before it completed
    HIT_AND_RUN_RISK = "hit_and_run_risk"  # seeding time owed and the torrent is not seeding
    RECOVERED = "obligation_recovered"
    MET = "obligation_met"
    FAILED = "obligation_failed"  # the window closed with time still owed
    READDED = "torrent_readded"  # vanished with its files still there: added again from the stored .torrent
    GLOBAL_SHARE_LIMITS = "qbit_global_share_limits"  # qBittorrent's global limits would stop a seed early


#: Kinds that open an operator alert (their ``kind`` in ``GET /api/v1/alerts`` is the event's value).
ALERTING = frozenset({DownloadEvent.STALLED, DownloadEvent.HIT_AND_RUN_RISK, DownloadEvent.FAILED,
                      DownloadEvent.READDED, DownloadEvent.GLOBAL_SHARE_LIMITS})
#: Kinds that queue a notification, and under which notification kind.
NOTIFYING: dict[DownloadEvent, EventKind] = {
    DownloadEvent.STALLED: EventKind.DOWNLOAD_STALLED,
    DownloadEvent.HIT_AND_RUN_RISK: EventKind.HIT_AND_RUN_RISK,
    DownloadEvent.FAILED: EventKind.HIT_AND_RUN_RISK,
}


@dataclass(frozen=True, slots=True)
class Event:
    kind: DownloadEvent
    message: str
    details: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Session, Event], None]


def _log(session: Session, event: Event) -> None:
    level = logging.WARNING if event.kind in ALERTING else logging.INFO
    log.log(level, "%s: %s", event.kind.value, event.message)


def _alert(session: Session, event: Event) -> None:
    if event.kind in ALERTING:
        raise_alert(session, event.kind.value, event.message)


def _notify(session: Session, event: Event) -> None:
    kind = NOTIFYING.get(event.kind)
    if kind is not None:
        subject = event.details.get("download_id", "")
        notify(session, kind, event.message[:200], event.message, once_key=f"{event.kind.value}:{subject}")


SUBSCRIBERS: list[Subscriber] = [_log, _alert, _notify]


def emit(session: Session, kind: DownloadEvent, message: str, **details: Any) -> Event:
    """Deliver one event to every subscriber (in the caller's transaction); returns it."""
    event = Event(kind, message, details)
    for subscriber in SUBSCRIBERS:
        subscriber(session, event)
    return event
