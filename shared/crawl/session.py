"""The MAM session: where its cookie comes from, whether it works, and the gate MAM jobs wait on.

The cookie (``mam_id``) is a secret: stored Fernet-encrypted (``shared.infra.secret_store``), entered
with ``PUT /api/v1/account/session`` or ``MAMC_MAM_ID`` (the stored value wins), never returned,
logged or put in job arguments. Its *state* lives in ``mam_sessions``:

- ``unset``: no cookie anywhere. MAM jobs park until one is entered.
- ``valid``: a cookie is set and no 403 has been seen for it (valid as far as we know).
- ``invalid``: MAM answered 403 to the current cookie. Every MAM job parks on the gate
  :data:`GATE` (``waiting``, no attempt counted) and an alert ``mam_session_invalid`` is open.

Entering a cookie (:func:`enter_cookie`) makes the session valid, resolves the alert and releases
every parked MAM job, in one transaction under the gate's lock (see ``gates.gate_lock``). Each
entered cookie starts a new *epoch*: a 403 or a renewed cookie arriving for an older epoch's
cookie is ignored, so a slow answer to an old cookie can neither undo nor overwrite a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.engine import gates
from shared.infra.alerts import raise_alert, resolve_alerts
from shared.infra.clock import utcnow
from shared.infra.secret_store import effective_secret, put_secret
from shared.models.crawl import MamSession
from shared.notify.events import EventKind, notify

#: Today one MAM account per installation; the name keys its rows so a second one fits later.
ACCOUNT = "main"
#: What MAM jobs park on while the session is unusable.
GATE = f"mam_session:{ACCOUNT}"
ALERT_KIND = "mam_session_invalid"
SECRET_NAME = "mam_id"

SessionState = Literal["valid", "invalid", "unset"]


@dataclass(frozen=True, slots=True)
class Cookie:
    """The value to send and the epoch it belongs to; the value never shows in a repr."""

    value: str = field(repr=False)
    epoch: int
    source: str


@dataclass(frozen=True, slots=True)
class SessionView:
    state: SessionState
    source: str  # "stored", "environment" or "unset"
    reason: str | None
    changed_at: datetime | None


def _row(session: Session, *, lock: bool = False) -> MamSession | None:
    stmt = select(MamSession).where(MamSession.account == ACCOUNT)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def current_cookie(session: Session) -> Cookie | None:
    value, source = effective_secret(session, SECRET_NAME)
    if not value:
        return None
    row = _row(session)
    return Cookie(value, row.epoch if row is not None else 0, source)


def view(session: Session) -> SessionView:
    """What the API shows: the state, where the cookie comes from, and why it is invalid."""
    _, source = effective_secret(session, SECRET_NAME)
    row = _row(session)
    if source == "unset":
        return SessionView("unset", source, None, row.changed_at if row is not None else None)
    if row is None:
        return SessionView("valid", source, None, None)
    return SessionView("invalid" if row.state == "invalid" else "valid", source, row.reason, row.changed_at)


def gate_closed(session: Session) -> bool:
    """True while MAM jobs must not send: no cookie, or the current one was refused."""
    if current_cookie(session) is None:
        return True
    row = _row(session)
    return row is not None and row.state == "invalid"


def enter_cookie(session: Session, value: str) -> int:
    """A person entered a new cookie: store it encrypted, mark the session valid (a new epoch), resolve
    the alert and release every parked MAM job. Returns how many jobs were released. Flushes only."""
    value = value.strip()
    if not value:
        raise ValueError("mam_id must not be empty")
    gates.gate_lock(session, GATE)
    put_secret(session, SECRET_NAME, value)
    stmt = insert(MamSession).values(account=ACCOUNT, state="valid", epoch=1, reason=None, changed_at=utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=["account"],
        set_={"state": "valid", "epoch": MamSession.epoch + 1, "reason": None, "changed_at": stmt.excluded.changed_at,
              "renewed_at": None},
    ))
    resolve_alerts(session, ALERT_KIND)
    return gates.release(session, GATE)


def mark_invalid(session: Session, epoch: int, refused: str, reason: str) -> bool:
    """MAM refused cookie ``refused`` of ``epoch`` (403): the session becomes invalid, an alert is raised.

    Returns False, changing nothing, when that cookie is no longer the one in use: a person entered a
    newer one, or MAM renewed it and the old value outlived its grace while the request waited (the
    job then runs again with the current value). ``reason`` must already be redacted."""
    gates.gate_lock(session, GATE)
    row = _row(session, lock=True)
    if row is None:
        row = MamSession(account=ACCOUNT, state="valid", epoch=0)
        session.add(row)
    current = current_cookie(session)
    if row.epoch != epoch or current is None or current.value != refused:
        return False
    if row.state != "invalid":
        row.state = "invalid"
        row.reason = reason[:1000]
        row.changed_at = utcnow()
    message = f"MAM refused the session cookie; enter a new one with PUT /api/v1/account/session ({reason[:300]})"
    raise_alert(session, ALERT_KIND, message)
    notify(session, EventKind.MAM_SESSION_INVALID, "MAM session invalid: every MAM job is waiting", message,
           once_key=f"epoch:{epoch}")
    session.flush()
    return True


def keep_renewed(session: Session, epoch: int, value: str) -> bool:
    """Persist a cookie MAM renewed (``Set-Cookie``) for the cookie of ``epoch``; ignored (False) if a
    person entered a newer cookie meanwhile, which must not be overwritten."""
    value = value.strip()
    if not value:
        return False
    gates.gate_lock(session, GATE)
    row = _row(session, lock=True)
    if row is None:
        row = MamSession(account=ACCOUNT, state="valid", epoch=0)
        session.add(row)
    if row.epoch != epoch:
        return False
    put_secret(session, SECRET_NAME, value)
    row.renewed_at = utcnow()
    session.flush()
    return True
