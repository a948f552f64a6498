"""The one mapping from HTTP outcomes to :mod:`shared.infra.errors`, which every client refines.

=========================================  ==========================================================
429, 503, other 5xx, 408                   :class:`UpstreamUnavailable` (``Retry-After`` kept)
timeouts, connection and protocol errors   :class:`UpstreamUnavailable`
401 / 403                                  :class:`UpstreamAuthError` (``fatal`` when the client says
                                           the whole service is unusable until an operator acts)
404                                        :class:`NotFound`
other 4xx; 3xx not followed                :class:`PermanentError`
200 with a body we cannot parse            :class:`MalformedResponse` (raised by the parsers)
a body past the size cap                   :class:`ResponseTooLarge`
=========================================  ==========================================================

Retry policies decide by class, never by message; the messages are for people and are redacted.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

from shared.infra.errors import AuthError, MamcError, NotFound, PermanentError, UpstreamUnavailable


class UpstreamAuthError(AuthError):
    """The service refused our credentials (401/403).

    ``fatal`` says the refusal holds for every request to the service, not just this one (an expired
    session, a revoked key): callers should stop talking to it until an operator acts, rather than
    fail each job in turn. A 403 that only concerns one request (ABS's "Invalid payload", a
    permission a user lacks) is not fatal. Clients decide per response in
    :meth:`workers.upstream.client.UpstreamClient.auth_is_fatal`.
    """

    def __init__(self, message: str, *, service: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.service = service
        self.fatal = fatal


class ResponseTooLarge(PermanentError):
    """The answer grew past the client's ``max_response_bytes``; reading stopped there.

    Permanent: the same request would return the same oversized answer. The cap guards a worker's
    memory against a misbehaving server or a query that matched far more than intended.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; None if absent
    or unreadable. Never negative (a date in the past means "now")."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_status(
    status: int,
    message: str,
    *,
    service: str,
    retry_after: float | None = None,
    auth_fatal: bool = False,
) -> MamcError:
    """The default error for a non-2xx status; ``message`` must already be redacted."""
    if status == 429 or status == 408 or status >= 500:
        return UpstreamUnavailable(message, retry_after=retry_after)
    if status in (401, 403):
        return UpstreamAuthError(message, service=service, fatal=auth_fatal)
    if status == 404:
        return NotFound(message)
    if 300 <= status < 500:
        return PermanentError(message)
    return UpstreamUnavailable(message, retry_after=retry_after)
