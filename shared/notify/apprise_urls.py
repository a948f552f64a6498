"""Apprise URLs loaded into a sender: the one place that hands them to Apprise.

Both the API (refusing a URL Apprise cannot use before it is stored) and the sender call
:func:`load`. Apprise logs a URL it cannot parse at ERROR, whole, and such a URL may hold a token,
so its logger is muted while the URLs are added; what we report is the URL's position only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import apprise

_LOG = logging.getLogger("apprise")


def load(urls: Iterable[str]) -> tuple[apprise.Apprise, list[int]]:
    """A sender holding every URL Apprise understands, and the (0-based) positions of the others."""
    sender = apprise.Apprise()
    unusable: list[int] = []
    level = _LOG.level
    _LOG.setLevel(logging.CRITICAL + 1)
    try:
        for index, url in enumerate(urls):
            if not sender.add(url):
                unusable.append(index)
    finally:
        _LOG.setLevel(level)
    return sender, unusable
