"""The gate qBittorrent jobs wait on while qBittorrent refuses our login.

A refused login is not worth retrying: the same credentials are refused again, and each failed
login brings qBittorrent's ban (5 failures by default, one hour) closer. So the first refusal
closes the gate (:func:`mark_refused`): a job that meets ``QbitLoginRefused`` parks on
:data:`GATE` (``shared.infra.errors.Parked`` with ``still_closed=gate_closed``) and an alert
``qbit_login_refused`` says what to fix.

The gate is closed for *those* credentials only. The refused connection is kept encrypted, like
every stored secret, and :func:`gate_closed` compares it with the effective one. New values from
``PUT /api/v1/settings/qbittorrent`` (which calls :func:`settings_changed`: the record is dropped,
the alert resolved and every parked job released, in one transaction under the gate's lock) or
from a changed environment after a restart (:func:`release_if_changed`, cheap enough for every
monitoring cycle) open it.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.download.qbit_settings import QbitConnection, load_connection
from shared.engine import gates
from shared.infra.alerts import raise_alert, resolve_alerts
from shared.infra.crypto import decrypt, encrypt
from shared.infra.errors import ConfigError
from shared.models.crawl import AppSetting

GATE = "qbit_login"
ALERT_KIND = "qbit_login_refused"
RECORD = "qbittorrent_refused"


def _identity(conn: QbitConnection) -> str:
    return json.dumps([conn.url, conn.username, conn.password or ""])


def _refused(session: Session) -> str | None:
    """The refused connection's identity, or None (no refusal, or one written under another key)."""
    value = session.scalar(select(AppSetting.value).where(AppSetting.name == RECORD))
    if not isinstance(value, dict) or not isinstance(value.get("who"), str):
        return None
    try:
        return decrypt(value["who"].encode())
    except ConfigError:  # MAMC_SECRET_KEY changed: the record means nothing any more
        return None


def gate_closed(session: Session) -> bool:
    """True while the effective credentials are the ones qBittorrent refused."""
    refused = _refused(session)
    return refused is not None and refused == _identity(load_connection(session))


def mark_refused(session: Session, conn: QbitConnection, reason: str) -> None:
    """qBittorrent refused ``conn``: close the gate for it and raise the alert. ``reason`` must be
    redacted already (``QbitLoginRefused`` messages are). Flushes only."""
    gates.gate_lock(session, GATE)
    value = {"who": encrypt(_identity(conn)).decode(), "reason": reason[:1000]}
    stmt = insert(AppSetting).values(name=RECORD, value=value, updated_at=func.now())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[AppSetting.name], set_={"value": stmt.excluded.value, "updated_at": func.now()}))
    raise_alert(session, ALERT_KIND, f"qBittorrent refused the login; qBittorrent jobs wait until the settings "
                                     f"change ({reason[:500]})")
    session.flush()


def settings_changed(session: Session) -> int:
    """The connection settings changed: forget the refusal, resolve the alert, release the parked
    jobs (they try the new values). Returns how many were released. Flushes only."""
    gates.gate_lock(session, GATE)
    session.execute(delete(AppSetting).where(AppSetting.name == RECORD))
    resolve_alerts(session, ALERT_KIND)
    released = gates.release(session, GATE)
    session.flush()
    return released


def release_if_changed(session: Session) -> int:
    """:func:`settings_changed` when a refusal is recorded but the effective credentials differ from it
    (e.g. ``MAMC_QBIT_PASSWORD`` changed and the workers restarted); 0 otherwise."""
    if _refused(session) is None or gate_closed(session):
        return 0
    return settings_changed(session)
