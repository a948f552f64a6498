"""Real ``.torrent`` files for the simulator's download endpoint, over real (small) content.

Each torrent's payload is deterministic bytes derived from its id (``content_bytes``), small enough
to write to disk, so a later test can seed the files with qbittorrent-nox and download them through
a tracker at the configurable announce URL. The payload is not the catalogue's ``size`` (that number
is what MAM *says*; a 300 MB fixture would only slow tests down).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tests.sims.mam.bencode import bencode
from tests.sims.mam.catalogue import SimTorrent

PIECE_LENGTH = 16 * 1024
DEFAULT_PAYLOAD = 40 * 1024  # three pieces, the last one short


def content_files(torrent: SimTorrent, payload: int = DEFAULT_PAYLOAD) -> list[tuple[str, bytes]]:
    """(relative path, bytes) of the torrent's files: one ``.m4b`` or ``numfiles`` ``.mp3`` parts."""
    count = max(1, torrent.numfiles)
    ext = (torrent.filetype.split() or ["m4b"])[0]
    seed = hashlib.sha256(f"mam-sim:{torrent.id}".encode()).digest()
    files = []
    for index in range(count):
        size = max(1, payload // count)
        blob = (seed * (size // len(seed) + 1))[:size]
        name = f"{torrent.title[:60]}.{ext}" if count == 1 else f"Part {index + 1:02d}.{ext}"
        files.append((name.replace("/", "-"), blob))
    return files


def folder_name(torrent: SimTorrent) -> str:
    return f"{torrent.title[:80]} [{torrent.id}]".replace("/", "-")


def info_dict(torrent: SimTorrent, payload: int = DEFAULT_PAYLOAD) -> dict[str, object]:
    files = content_files(torrent, payload)
    data = b"".join(blob for _, blob in files)
    pieces = b"".join(hashlib.sha1(data[i:i + PIECE_LENGTH]).digest() for i in range(0, len(data), PIECE_LENGTH))
    info: dict[str, object] = {"piece length": PIECE_LENGTH, "pieces": pieces, "private": 1,
                               "source": "MAM"}
    if len(files) == 1:
        info.update({"name": files[0][0], "length": len(files[0][1])})
    else:
        info.update({"name": folder_name(torrent),
                     "files": [{"length": len(blob), "path": [name]} for name, blob in files]})
    return info


@dataclass(frozen=True)
class TorrentFile:
    data: bytes
    info_hash: str
    announce: str


def torrent_file(torrent: SimTorrent, announce: str, payload: int = DEFAULT_PAYLOAD) -> TorrentFile:
    """The bencoded metainfo MAM would serve the member for ``torrent``."""
    info = info_dict(torrent, payload)
    encoded_info = bencode(info)
    data = bencode({"announce": announce, "created by": "mam-sim", "creation date": 1_700_000_000,
                    "comment": f"https://www.myanonamouse.net/t/{torrent.id}", "info": info})
    return TorrentFile(data, hashlib.sha1(encoded_info).hexdigest(), announce)


def write_content(torrent: SimTorrent, directory: Path, payload: int = DEFAULT_PAYLOAD) -> Path:
    """Write the torrent's files under ``directory`` as a client would after a complete download;
    returns the file (single-file) or folder (multi-file) path."""
    files = content_files(torrent, payload)
    if len(files) == 1:
        target = directory / files[0][0]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[0][1])
        return target
    folder = directory / folder_name(torrent)
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files:
        (folder / name).write_bytes(blob)
    return folder
