"""Secrets never leave a client in text: not in errors (so not in the ledger), logs or reprs.

A :class:`Redactor` holds a client's secrets behind an object whose ``repr`` shows nothing, so
``vars(client)``, debuggers and error trackers capturing locals do not reveal them either. Error
messages are built from redacted text only (the layer never quotes a request URL that could carry
a key). httpx itself logs each request URL at INFO, and Google Books takes its key in the query
string, so a filter on httpx's loggers redacts every secret any live client holds.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable

MASK = "***"
#: Shorter strings would mask ordinary words; no real token is this short.
MIN_SECRET_LENGTH = 4


class Hidden:
    """A secret value that prints as ``<redacted>``."""

    __slots__ = ("_value", "__weakref__")

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"


_live: weakref.WeakSet[Hidden] = weakref.WeakSet()
_live_lock = threading.Lock()


class Redactor:
    """Masks a client's secrets in any text; ``reveal`` is for building the request only."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: tuple[Hidden, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        fresh = [Hidden(s) for s in (x.strip() if x else "" for x in secrets) if len(s) >= MIN_SECRET_LENGTH]
        # longest first, so a secret that contains another is masked whole
        self._secrets = tuple(sorted((*self._secrets, *fresh), key=lambda h: -len(h.reveal())))
        with _live_lock:
            _live.update(fresh)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            value = secret.reveal()
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


def redact_all(text: str) -> str:
    """``text`` with every secret of every live client masked (for text we did not write)."""
    with _live_lock:
        values = sorted((h.reveal() for h in _live), key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


#: Header values httpcore logs at DEBUG (``(b'set-cookie', b'mam_id=...')``) that are credentials. A
#: renewed cookie arrives in such a header before any client knows the value, so it cannot be
#: masked as a known secret: the header's whole value is.
_CREDENTIAL_HEADERS = re.compile(
    r"""(b?['"](?:set-cookie|cookie|authorization|proxy-authorization|x-api-key)['"],\s*b?['"])[^'"]*(['"])""",
    re.IGNORECASE,
)


def redact_headers(text: str) -> str:
    return _CREDENTIAL_HEADERS.sub(lambda m: m.group(1) + MASK + m.group(2), text)


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with every live secret and credential header masked (the
    record is formatted once)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_headers(redact_all(message))
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = RedactingFilter()
#: The HTTP stack's own loggers, which quote URLs and headers we do not control.
HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


def install_log_filter(names: Iterable[str] = HTTP_LOGGERS) -> None:
    """Attach the redacting filter to the HTTP stack's loggers (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
