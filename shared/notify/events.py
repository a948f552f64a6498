"""The notification events, and :func:`notify`, the one way any part of MAMcrawler raises one.

Apprise delivers them (one list of Apprise URLs, e.g. ``ntfy://``, ``discord://``, ``json://``); each
event kind can be switched off. Both come from :mod:`shared.notify.config` (the environment's
``MAMC_NOTIFY_*``, overridden by ``PUT /api/v1/settings/notifications``), read at each event. Messages
are plain text and must already be free of secrets: they travel as job arguments and to outside services.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.orm import Session

from shared.engine import ledger
from shared.notify.config import effective
from shared.notify.kinds import EventKind

__all__ = ["EventKind", "enabled", "notify"]

log = logging.getLogger(__name__)


def enabled(session: Session, kind: EventKind) -> bool:
    """Whether ``kind`` would be sent now: some URL is set and the kind is not switched off."""
    return effective(session).enabled(kind)


def notify(session: Session, kind: EventKind, title: str, body: str, *, once_key: str | None = None) -> bool:
    """Queue a notification (sent after the caller commits). ``once_key`` sends it at most once while
    an identical one is pending (a condition seen on every cycle notifies once, not every cycle).
    False when the kind is switched off or no URL is configured."""
    if not enabled(session, kind):
        return False
    key = once_key or hashlib.sha256(f"{kind}:{title}:{body}".encode()).hexdigest()[:24]
    ledger.create_job(session, "notify.send", {"kind": kind.value, "title": title[:200], "body": body[:4000]},
                      dedupe_key=f"notify:{kind.value}:{key}")
    log.info("notification queued: %s: %s", kind.value, title[:200])
    return True
