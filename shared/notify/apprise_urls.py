"""Apprise URLs handed to Apprise: the one place that does it, quietly.

Both the API (refusing a URL Apprise cannot use before it is stored) and the sender come here. An
Apprise URL often holds a token, and Apprise logs URLs whole (an unparseable one at ERROR, the
target at DEBUG), as does urllib3 under it (each request's path at DEBUG), so both loggers are
muted while Apprise works; what we report is a URL's position, never its text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import apprise

_TALKATIVE = (logging.getLogger("apprise"), logging.getLogger("urllib3"))


@contextmanager
def _quiet() -> Iterator[None]:
    levels = [log.level for log in _TALKATIVE]
    for log in _TALKATIVE:
        log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for log, level in zip(_TALKATIVE, levels, strict=True):
            log.setLevel(level)


def _load(urls: Sequence[str]) -> tuple[apprise.Apprise, list[int]]:
    sender = apprise.Apprise()
    return sender, [i for i, url in enumerate(urls) if not sender.add(url)]


def unusable(urls: Sequence[str]) -> list[int]:
    """The (0-based) positions of the URLs Apprise does not understand."""
    with _quiet():
        return _load(urls)[1]


@dataclass(frozen=True, slots=True)
class Delivery:
    delivered: bool  # Apprise reached every usable URL
    usable: int
    unusable: int


def send(urls: Sequence[str], *, title: str, body: str) -> Delivery:
    """Send to every URL Apprise understands (none usable: not delivered, nothing sent)."""
    with _quiet():
        sender, bad = _load(urls)
        usable = len(urls) - len(bad)
        delivered = usable > 0 and bool(sender.notify(title=title, body=body))
    return Delivery(delivered, usable, len(bad))
