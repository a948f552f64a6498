"""Real audio behind the MAM simulator's torrents, made and seeded the first time MAM serves one.

The simulator calls a :class:`Payloads` as its ``torrent_maker`` when download.php is asked for a
torrent: the files are written (ffmpeg: an ``.m4b``, or numbered ``.mp3`` parts in a folder, at the
listing's bitrate, tagged with title, author and narrators), a private ``.torrent`` announcing to the
swarm's tracker is made by mktorrent, whitelisted and seeded by the seeder qbittorrent-nox, and only
then are its bytes served. So a grab downloads real files through a real swarm, and nothing is made
for the hundreds of books nobody grabs. The same torrent asked again gets the same bytes.
"""

from __future__ import annotations

import secrets
import subprocess
import threading
from pathlib import Path

from tests.demo.books import BITRATE_KBPS
from tests.fixtures.audio import make_m4b, make_mp3
from tests.fixtures.swarm import Swarm
from tests.sims.mam.catalogue import SimTorrent


def _safe(name: str) -> str:
    return name.replace("/", "-").strip() or "untitled"


class Payloads:
    def __init__(self, root: Path, swarm: Swarm, seconds: dict[int, float]) -> None:
        self.root = root
        self.swarm = swarm
        self.seconds = seconds  # torrent id -> how long its files run in all
        self.made: dict[int, bytes] = {}
        # in every file's tags: two worlds never make the same torrent (same audio, same info-hash), which
        # a qbittorrent-nox shared by several tests would take for one it already has
        self.token = secrets.token_hex(6)
        self._lock = threading.Lock()

    def __call__(self, torrent: SimTorrent, announce: str) -> bytes:
        with self._lock:  # one book at a time: a second request for the same one waits, then reuses it
            if torrent.id not in self.made:
                self.made[torrent.id] = self._make(torrent, announce)
            return self.made[torrent.id]

    def content_path(self, torrent: SimTorrent) -> Path:
        """The seeder's copy: the ``.m4b`` file, or the folder of ``.mp3`` parts."""
        parent = self.root / str(torrent.id)
        if torrent.filetype == "mp3" and torrent.numfiles > 1:
            return parent / _safe(f"{torrent.title} [{torrent.id}]")
        return parent / _safe(f"{torrent.title}.{torrent.filetype}")

    def _make(self, torrent: SimTorrent, announce: str) -> bytes:
        seconds = self.seconds.get(torrent.id, 60.0)
        path = self.content_path(torrent)
        tags = {"title": torrent.title, "artist": ", ".join(torrent.authors) or None,
                "composer": "; ".join(torrent.narrators) or None, "comment": f"flow world {self.token}"}
        bitrate = f"{BITRATE_KBPS}k"
        if path.suffix == ".m4b":
            make_m4b(path, seconds, bitrate=bitrate, album=torrent.title, **tags)
        else:
            parts = max(1, torrent.numfiles)
            for n in range(1, parts + 1):
                make_mp3(path / f"Part {n:02d}.mp3", seconds / parts, bitrate=bitrate, **tags)
        out = path.parent / f"{torrent.id}.torrent"
        subprocess.run(["mktorrent", "-a", announce, "-p", "-s", "MAM", "-l", "16", "-c",
                        f"https://www.myanonamouse.net/t/{torrent.id}", "-o", str(out), str(path)],
                       check=True, capture_output=True, timeout=60)
        data = out.read_bytes()
        self.swarm.seed_torrent(data, path.parent)
        return data
