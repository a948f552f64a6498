"""A bencode encoder for the simulator's ``.torrent`` files, written apart from the client's decoder
(``workers/crawl/bencode.py``) so a test checks one against the other, not a module against itself."""

from __future__ import annotations

from collections.abc import Mapping


def bencode(value: object) -> bytes:
    """Canonical bencoding: dictionary keys sorted as raw bytes, strings UTF-8."""
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans; use 0/1")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list | tuple):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, Mapping):
        items = sorted(((k.encode() if isinstance(k, str) else k), v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")
