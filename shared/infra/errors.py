"""The error vocabulary every pool's retry policy is written against.

Clients translate what the outside world says (HTTP status, timeouts, malformed bodies) into
these classes once, at the edge; retry policies then decide by class, never by parsing messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class MamcError(Exception):
    """Base of every error MAMcrawler raises on purpose."""


class ConfigError(MamcError):
    """A setting is missing or wrong; raised at start-up with what to set."""


class TransientError(MamcError):
    """Worth retrying later: timeouts, connection errors, 429, 5xx, a half-written body.

    ``retry_after`` (seconds) is a hint from the server (Retry-After) that the retry policy
    honours as a lower bound for its backoff.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnavailable(TransientError):
    """The service did not answer usefully (connection refused, timeout, 5xx)."""


class MalformedResponse(TransientError):
    """The service answered 200 with a body we cannot parse.

    Transient because providers do serve truncated JSON under load; the retry cap turns a
    persistent one into a dead job with this readable message.
    """


class RateLimited(TransientError):
    """No slot in a global rate limit (ours, or the service's 429) for ``retry_after`` seconds.

    Waiting for a slot is not a failure: the task base re-schedules the job for when the
    slot opens without counting an attempt.
    """

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"rate limit {key}: next slot in {retry_after:.2f}s", retry_after=retry_after)
        self.key = key


class WaitingFor(RateLimited):
    """The job needs another job's result first (a wishlist entry being resolved): look again in
    ``retry_after`` seconds. Re-scheduled like a rate-limit wait, so no attempt is counted; polling
    rather than parking, so a dead-lettered job it waited for can never strand it."""

    def __init__(self, what: str, retry_after: float) -> None:
        TransientError.__init__(self, f"waiting for {what}: looking again in {retry_after:.1f}s",
                                retry_after=retry_after)
        self.key = what


class Parked(MamcError):
    """The job cannot run until ``gate`` opens (the MAM session is invalid): park it, don't retry.

    Not a :class:`TransientError`: time alone does not open a gate, an operator does (a new MAM
    cookie), so retrying would only burn attempts and, against MAM, break its rules. The task base
    hands the job to ``gates.park``, which keeps it ``waiting`` without counting the attempt until
    the gate's owner releases it (``gates.release``). ``still_closed(session)`` is asked under the
    gate's lock just before parking: a gate reopened meanwhile re-queues the job instead, so a
    release can never miss a job that was about to park.
    """

    def __init__(self, gate: str, message: str, *, still_closed: Callable[[Session], bool]) -> None:
        super().__init__(message)
        self.gate = gate
        self.still_closed = still_closed


class PermanentError(MamcError):
    """Retrying cannot help: 4xx other than 429, a validation error, a missing record."""


class NotFound(PermanentError):
    """The outside service says the thing does not exist (404)."""


class AuthError(PermanentError):
    """Credentials are missing or refused (401/403); an operator has to act."""


class Cancelled(MamcError):
    """The job was cancelled while it ran; raised at a cooperative checkpoint."""
