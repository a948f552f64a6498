"""The named ways a MAM call fails beyond the layer's own mapping (:mod:`workers.upstream.errors`).

Retry policies decide by class: :class:`MamSessionInvalid` stops every MAM job of the account until a
new cookie is entered; the refusals are permanent because the same call would be refused again.
"""

from __future__ import annotations

from shared.infra.errors import PermanentError
from workers.crawl.mam_rows import MamApiError
from workers.upstream.errors import UpstreamAuthError

__all__ = ["MamApiError", "MamDownloadError", "MamEndpointRefused", "MamForbiddenSpend", "MamSessionInvalid"]


class MamSessionInvalid(UpstreamAuthError):
    """HTTP 403: the ``mam_id`` session expired, was revoked, or no longer matches our IP/ASN.

    Always ``fatal``: it holds for every request of the account, so callers stop all MAM traffic,
    mark the session invalid and alert, instead of retrying (MAM's rules: never retry in a loop).
    """

    def __init__(self, message: str, *, service: str = "MAM") -> None:
        super().__init__(message, service=service, fatal=True)


class MamEndpointRefused(PermanentError):
    """The client was asked for a path outside MAM's documented JSON endpoints; nothing was sent.

    A programming error, not a server answer: MAM's rules allow automation through the API only
    (no HTML pages, no login form), and the allowlist makes that a property of the client.
    """


class MamForbiddenSpend(PermanentError):
    """A bonus-store purchase the client never makes (``gift``, ``sendWedge``, anything unlisted);
    raised before any request, so the refusal is visible in tests and leaves no trace at MAM."""


class MamDownloadError(PermanentError):
    """``/tor/download.php`` answered 200 with something that is not a complete ``.torrent``
    (an HTML or JSON error page, a truncated body)."""
