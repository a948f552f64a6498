"""One way out: every call to an outside service (Audiobookshelf, the metadata providers, later MAM
and qBittorrent) goes through :class:`UpstreamClient`.

The layer owns what every client used to do its own way: the rate-limit hook, timeouts, the
response-size cap, the mapping of HTTP outcomes to :mod:`shared.infra.errors`, and secret redaction. A
client is a thin subclass holding its endpoints and parsers, refining the mapping where its service
deviates (see :meth:`UpstreamClient.classify`).
"""

from workers.upstream.client import Reply, UpstreamClient
from workers.upstream.errors import ResponseTooLarge, UpstreamAuthError, classify_status, parse_retry_after
from workers.upstream.options import DEFAULT_USER_AGENT, Throttle, UpstreamOptions
from workers.upstream.redaction import Redactor

__all__ = [
    "DEFAULT_USER_AGENT",
    "Redactor",
    "Reply",
    "ResponseTooLarge",
    "Throttle",
    "UpstreamAuthError",
    "UpstreamClient",
    "UpstreamOptions",
    "classify_status",
    "parse_retry_after",
]
