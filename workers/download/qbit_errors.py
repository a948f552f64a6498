"""What qBittorrent's failures mean to the download pool, mapped once from qbittorrent-api's exceptions.

=============================================  ===========================================================
connection refused, timeouts, 5xx              :class:`QbitUnavailable` (transient: a restarting daemon
                                               is back in seconds; the pool retries with back-off)
login refused ("Fails.", 401 from 5.1+), IP    :class:`QbitLoginRefused` (an operator must act: retrying
ban (403 "banned"), 403 after a login          cannot help and only extends qBittorrent's ban)
torrent / endpoint not found (404)             :class:`shared.infra.errors.NotFound`
a body qbittorrent-api cannot parse            :class:`shared.infra.errors.MalformedResponse` (transient)
409 (it exists already)                        :class:`QbitConflict` (callers decide: usually fine)
other 4xx (a bad parameter, an invalid file)   :class:`QbitRefused` (permanent)
=============================================  ===========================================================

Messages name what to fix and never contain the password: every message passes the client's
:class:`~workers.upstream.redaction.Redactor`, and none quotes a request body.
"""

from __future__ import annotations

import qbittorrentapi

from shared.infra.errors import MalformedResponse, MamcError, NotFound, PermanentError, UpstreamUnavailable
from workers.upstream import Redactor, UpstreamAuthError

SERVICE = "qbit"
FIX_CREDENTIALS = "set MAMC_QBIT_USER / MAMC_QBIT_PASSWORD, or PUT /api/v1/settings/qbittorrent"


class QbitUnavailable(UpstreamUnavailable):
    """qBittorrent did not answer usefully (down, restarting, overloaded): retry with back-off."""


class QbitLoginRefused(UpstreamAuthError):
    """qBittorrent refused our credentials (or banned our address for failing them).

    Always ``fatal``: every later call would be refused too, and each failed login brings
    qBittorrent's ban (5 failures by default, one hour) closer, so the pool's qBittorrent work stops
    until the settings change instead of retrying.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, service=SERVICE, fatal=True)


class QbitRefused(PermanentError):
    """qBittorrent answered, and said no (a parameter it rejects, a file it cannot read as a torrent)."""


class QbitConflict(QbitRefused):
    """409: the thing exists already (a category; a torrent, from qBittorrent 5 on)."""


def translate(exc: Exception, *, what: str, url: str, username: str, redact: Redactor,
              password_set: bool = True) -> MamcError:
    """The project's error for a qbittorrent-api (or requests) exception raised during ``what``."""
    where = f"qBittorrent at {url}: {what}"
    detail = redact(_text(exc))
    if isinstance(exc, qbittorrentapi.LoginFailed):
        why = "wrong user name or password" if password_set else "no password is set"
        return QbitLoginRefused(f"{where}: login as {username!r} refused ({why}); {FIX_CREDENTIALS}")
    if isinstance(exc, qbittorrentapi.Forbidden403Error):
        if "banned" in detail.lower():
            return QbitLoginRefused(
                f"{where}: qBittorrent has banned this address after too many failed logins ({detail}); "
                f"{FIX_CREDENTIALS}, then wait for the ban to end (WebUI ban duration) or restart qBittorrent")
        return QbitLoginRefused(f"{where}: forbidden (403) although logged in as {username!r}; check the "
                                f"credentials ({FIX_CREDENTIALS}) and that MAMC_QBIT_URL reaches the WebUI "
                                f"directly (its host-header validation rejects other names)")
    if isinstance(exc, qbittorrentapi.Unauthorized401Error):
        return QbitLoginRefused(f"{where}: unauthorized (401){_colon(detail)}; {FIX_CREDENTIALS}")
    if isinstance(exc, qbittorrentapi.HTTP5XXError):
        return QbitUnavailable(f"{where}: HTTP {_status(exc)}{_colon(detail)}")
    if isinstance(exc, qbittorrentapi.Conflict409Error):
        return QbitConflict(f"{where}: conflict (409){_colon(detail)}")
    if isinstance(exc, qbittorrentapi.NotFound404Error):
        return NotFound(f"{where}: not found{_colon(detail)}")
    if isinstance(exc, qbittorrentapi.HTTPError):
        return QbitRefused(f"{where}: HTTP {_status(exc)}{_colon(detail)}")
    if isinstance(exc, qbittorrentapi.APIConnectionError):
        return QbitUnavailable(f"{where}: unreachable ({detail or type(exc).__name__}); is qBittorrent running "
                               f"and MAMC_QBIT_URL right?")
    if isinstance(exc, qbittorrentapi.APIError):
        return MalformedResponse(f"{where}: unreadable answer{_colon(detail)}")
    return QbitUnavailable(f"{where}: {type(exc).__name__}{_colon(detail)}")


def _text(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:300]


def _colon(detail: str) -> str:
    return f": {detail}" if detail else ""


def _status(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None) or getattr(exc, "http_status_code", None)
    return str(code) if code else "error"
