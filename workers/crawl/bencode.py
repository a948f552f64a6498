"""A strict bencode decoder: enough to prove a download is a real ``.torrent`` and to read it.

MAM answers a refused download with an HTML or JSON page under status 200; checking the first byte
is not enough (a truncated torrent also starts with ``d``), so the whole body is decoded.
"""

from __future__ import annotations

import hashlib

Value = int | bytes | list["Value"] | dict[bytes, "Value"]

_MAX_DEPTH = 64


class BencodeError(ValueError):
    """The bytes are not one complete bencoded value."""


def bdecode(data: bytes) -> Value:
    """The one value ``data`` holds; :class:`BencodeError` when malformed or followed by junk."""
    value, end = _decode(data, 0, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} trailing bytes after the value")
    return value


def _decode(data: bytes, at: int, depth: int) -> tuple[Value, int]:
    if depth > _MAX_DEPTH:
        raise BencodeError("nested too deeply")
    if at >= len(data):
        raise BencodeError("truncated")
    head = data[at:at + 1]
    if head == b"i":
        end = data.find(b"e", at)
        if end < 0:
            raise BencodeError("unterminated integer")
        try:
            return int(data[at + 1:end]), end + 1
        except ValueError:
            raise BencodeError(f"bad integer at {at}") from None
    if head == b"l":
        items: list[Value] = []
        at += 1
        while data[at:at + 1] != b"e":
            item, at = _decode(data, at, depth + 1)
            items.append(item)
        return items, at + 1
    if head == b"d":
        result: dict[bytes, Value] = {}
        at += 1
        while data[at:at + 1] != b"e":
            key, at = _decode(data, at, depth + 1)
            if not isinstance(key, bytes):
                raise BencodeError(f"dictionary key at {at} is not a string")
            result[key], at = _decode(data, at, depth + 1)
        return result, at + 1
    if head.isdigit():
        colon = data.find(b":", at)
        if colon < 0 or not data[at:colon].isdigit():
            raise BencodeError(f"bad string length at {at}")
        start = colon + 1
        end = start + int(data[at:colon])
        if end > len(data):
            raise BencodeError("truncated string")
        return data[start:end], end
    raise BencodeError(f"unexpected byte {head!r} at {at}")


def info_hash(data: bytes) -> str:
    """The v1 info-hash (hex SHA-1 of the ``info`` value's bytes as sent), how qBittorrent names the
    torrent; computed on the original bytes so a non-canonical encoding still hashes right."""
    bdecode(data)  # the whole body must be valid first
    if data[:1] != b"d":
        raise BencodeError("not a dictionary")
    at = 1
    while data[at:at + 1] != b"e":
        key, at = _decode(data, at, 0)
        start = at
        _value, at = _decode(data, at, 1)
        if key == b"info":
            return hashlib.sha1(data[start:at]).hexdigest()  # BitTorrent v1 names torrents by SHA-1
    raise BencodeError("no info dictionary")
