"""A MAM client bound to the account: its stored cookie, its global budget, and the 403 stop.

Every MAM job body talks to MAM through :func:`mam_session`, which is where the account-wide rules
are kept, so no body can forget one:

- before anything is sent, and again before every request (after its budget slot is taken), the
  session's gate is checked: while it is closed (cookie unset or refused) the job parks
  (:class:`~shared.infra.errors.Parked`, ``waiting``, no attempt counted) and sends nothing;
- every request takes a slot of the ``mam`` limit (one every 3 s on all hosts by default), and waits
  out the account's back-off first;
- a 429 or 5xx closes the budget for the whole account (``Retry-After``, else
  ``MAMC_MAM_BACKOFF_SECONDS``); a 429 is our pace being too fast, so that job waits (re-scheduled,
  not an attempt); a 5xx is the site failing, so that job retries by its pool's policy;
- a 403 marks the session invalid, raises the alert and parks the job: every other MAM job parks at
  its next check, so MAM sees at most the requests already on the wire;
- a renewed cookie is persisted (encrypted) for the epoch it belongs to, and used from then on, by
  this job and (read again before each request) by every other;
- a 403 to a cookie that is no longer the stored one (renewed or replaced while the request waited)
  changes nothing: the job is queued again and sends the new value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from shared.crawl import session as mam_state
from shared.crawl.budget import THROTTLE_KEY, back_off, backoff_remaining
from shared.infra.db import session_scope
from shared.infra.errors import MamcError, Parked, RateLimited
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from workers.context import JobContext
from workers.crawl.mam_client import MamClient
from workers.crawl.mam_errors import MamSessionInvalid
from workers.upstream import Reply, UpstreamOptions, parse_retry_after
from workers.upstream.client import Params
from workers.upstream.redaction import Hidden

log = logging.getLogger(__name__)

#: How long a request may sleep for its budget slot before the job is re-scheduled instead.
SLOT_MAX_WAIT = 10.0


def parked(why: str) -> Parked:
    return Parked(mam_state.GATE, why, still_closed=mam_state.gate_closed)


class AccountMamClient(MamClient):
    """:class:`MamClient` bound to the account's stored cookie.

    It closes the account's budget on 429/5xx (see the module docstring), stores renewed cookies for
    the epoch they belong to, and sends the newest stored cookie with each request (another process
    may have stored a renewal since: the old value only lives for a few more requests). A request
    that waited for its slot while a renewal happened may still carry the old value; if MAM refuses
    it, :func:`shared.crawl.session.mark_invalid` sees it is no longer current and the job runs again."""

    def __init__(self, options: UpstreamOptions, cookie: mam_state.Cookie, *, redis: Any,
                 backoff_default: float, cookie_source: Callable[[], mam_state.Cookie] | None = None) -> None:
        super().__init__(options, cookie.value, on_cookie_renewed=self._keep_renewed)
        self._cookie_source = cookie_source or _open_cookie
        self.epoch = cookie.epoch
        self._sent = self._cookie
        self._redis = redis
        self._backoff_default = backoff_default

    @property
    def sent_cookie(self) -> str:
        """The value the last request carried (for the 403 check; never log it)."""
        return self._sent.reveal()

    def send(self, method: str, path: str, *, params: Params | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Reply:
        """Each request carries the newest stored cookie (parks instead while the gate is closed)."""
        cookie = self._cookie_source()
        if cookie.value != self._cookie.reveal():
            self.redact.add(cookie.value)
            self._cookie = Hidden(cookie.value)
        self.epoch = cookie.epoch
        self._sent = self._cookie
        return super().send(method, path, params=params, body=body, headers=headers)

    def _keep_renewed(self, value: str) -> None:
        with session_scope() as s:
            kept = mam_state.keep_renewed(s, self.epoch, value)
        log.info("MAM renewed the session cookie; %s", "stored" if kept else
                 "not stored (a newer cookie was entered meanwhile)")

    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        error = super().classify(reply, method, path)
        if reply.status == 429 or reply.status >= 500:
            hinted = parse_retry_after(reply.headers.get("retry-after"))
            wait = hinted if hinted is not None else self._backoff_default
            back_off(self._redis, wait)
            log.warning("MAM answered %d: every MAM request of the account waits %.0fs", reply.status, wait)
            if reply.status == 429:
                return RateLimited(THROTTLE_KEY, max(wait, 0.001))
        return error


def _open_cookie() -> mam_state.Cookie:
    """The cookie to send now, or :class:`Parked` while the gate is closed."""
    with session_scope() as s:
        cookie = mam_state.current_cookie(s)
        closed = mam_state.gate_closed(s)
    if cookie is None or closed:
        raise parked("the MAM session is invalid or unset; waiting for a new cookie "
                     "(PUT /api/v1/account/session)")
    return cookie


def _wait_out_backoff(redis: Any) -> None:
    wait = backoff_remaining(redis)
    if wait > 0:
        raise RateLimited(THROTTLE_KEY, wait)


def _throttle(ctx: JobContext[Any], redis: Any) -> None:
    """Before each request: the account's back-off, a budget slot, then the back-off and the gate
    again (a 429 or a 403 elsewhere while this job waited for its slot must stop it before it sends),
    and last the slot's stamp: the spacing counts from when the request leaves, not from its grant
    (a request held up after its grant would otherwise reach MAM close behind the next one)."""
    _wait_out_backoff(redis)
    ctx.throttle(THROTTLE_KEY, max_wait=SLOT_MAX_WAIT)
    _wait_out_backoff(redis)
    with session_scope() as s:
        if mam_state.gate_closed(s):
            raise parked("the MAM session became invalid while this job waited for its turn")
    ctx.limiter.stamp(THROTTLE_KEY)


@contextmanager
def mam_session(ctx: JobContext[Any]) -> Iterator[MamClient]:
    """A client for the account's current cookie; parks the job instead while the gate is closed."""
    settings = get_settings()
    cookie = _open_cookie()
    redis = get_redis()
    options = UpstreamOptions(settings.mam_url, throttle=lambda: _throttle(ctx, redis))
    client = AccountMamClient(options, cookie, redis=redis, backoff_default=settings.mam_backoff_seconds)
    try:
        yield client
    except MamSessionInvalid as exc:
        with session_scope() as s:
            marked = mam_state.mark_invalid(s, client.epoch, client.sent_cookie, str(exc))
        if marked:
            log.error("MAM refused the session cookie (403): MAM jobs wait for a new one; %s", exc)
        else:
            log.warning("MAM refused a cookie that was replaced meanwhile; running again with the new one")
        raise parked(f"MAM refused the session cookie: {exc}") from None
    finally:
        client.close()
