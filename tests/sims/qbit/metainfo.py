"""What the simulator reads from an uploaded ``.torrent``: name, size, privacy and the info-hash.

Written apart from the product's decoder (``workers/crawl/bencode.py``) so a test of the client's
``info_hash_of`` against the simulator compares two implementations, not one with itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class NotATorrent(ValueError):
    pass


@dataclass(frozen=True)
class Metainfo:
    info_hash: str
    name: str
    size: int
    private: bool
    announce: str


def _value(data: bytes, at: int) -> tuple[object, int]:
    kind = data[at:at + 1]
    if kind == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1:end]), end + 1
    if kind in (b"l", b"d"):
        at += 1
        items: list[object] = []
        while data[at:at + 1] != b"e":
            if at >= len(data):
                raise NotATorrent("unterminated container")
            item, at = _value(data, at)
            items.append(item)
        if kind == b"l":
            return items, at + 1
        return dict(zip(items[::2], items[1::2], strict=True)), at + 1
    if kind.isdigit():
        colon = data.index(b":", at)
        start = colon + 1
        end = start + int(data[at:colon])
        if end > len(data):
            raise NotATorrent("truncated string")
        return data[start:end], end
    raise NotATorrent(f"unexpected {kind!r} at {at}")


def read(data: bytes) -> Metainfo:
    """Parse a v1 ``.torrent``; :class:`NotATorrent` when it is not one."""
    try:
        if data[:1] != b"d":
            raise NotATorrent("not a dictionary")
        at, info_slice, root = 1, b"", {}
        while data[at:at + 1] != b"e":
            key, at = _value(data, at)
            start = at
            value, at = _value(data, at)
            root[key] = value
            if key == b"info":
                info_slice = data[start:at]
        info = root.get(b"info")
        if not isinstance(info, dict) or not info_slice:
            raise NotATorrent("no info dictionary")
        files = info.get(b"files")
        size = sum(int(f[b"length"]) for f in files) if isinstance(files, list) else int(info[b"length"])
        announce = root.get(b"announce", b"")
        return Metainfo(hashlib.sha1(info_slice).hexdigest(), bytes(info[b"name"]).decode("utf-8", "replace"),
                        size, info.get(b"private") == 1,
                        announce.decode() if isinstance(announce, bytes) else "")
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        if isinstance(exc, NotATorrent):
            raise
        raise NotATorrent(str(exc)) from exc
