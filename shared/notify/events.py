"""The notification events, and :func:`notify`, the one way any part of MAMcrawler raises one.

Apprise delivers them (``MAMC_NOTIFY_URLS``: one list of Apprise URLs, e.g. ``ntfy://``, ``discord://``,
``json://``); each event kind can be switched off (``MAMC_NOTIFY_DISABLED``). Messages are plain text
and must already be free of secrets: they travel as job arguments and to outside services.
"""

from __future__ import annotations

import hashlib
import logging
from enum import StrEnum

from sqlalchemy.orm import Session

from shared.engine import ledger
from shared.infra.settings import Settings, get_settings

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """Every notification kind; ``MAMC_NOTIFY_DISABLED`` lists the ones switched off."""

    GRABBED = "grabbed"
    DOWNLOAD_STALLED = "download_stalled"
    HIT_AND_RUN_RISK = "hit_and_run_risk"
    MAM_SESSION_INVALID = "mam_session_invalid"
    UNSAT_NEAR_LIMIT = "unsat_near_limit"
    VIP_EXPIRING = "vip_expiring"
    POINTS_NEAR_CAP = "points_near_cap"


def disabled_kinds(settings: Settings) -> frozenset[str]:
    return frozenset(k.strip() for k in settings.notify_disabled.split(",") if k.strip())


def enabled(kind: EventKind, settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    return settings.notify_urls is not None and bool(settings.notify_urls.get_secret_value().strip()) \
        and kind.value not in disabled_kinds(settings)


def notify(session: Session, kind: EventKind, title: str, body: str, *, once_key: str | None = None) -> bool:
    """Queue a notification (sent after the caller commits). ``once_key`` sends it at most once while
    an identical one is pending (a condition seen on every cycle notifies once, not every cycle).
    False when the kind is switched off or no URL is configured."""
    if not enabled(kind):
        return False
    key = once_key or hashlib.sha256(f"{kind}:{title}:{body}".encode()).hexdigest()[:24]
    ledger.create_job(session, "notify.send", {"kind": kind.value, "title": title[:200], "body": body[:4000]},
                      dedupe_key=f"notify:{kind.value}:{key}")
    log.info("notification queued: %s: %s", kind.value, title[:200])
    return True
