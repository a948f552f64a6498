"""A MAM search row and the member's account, as typed values the rest of the code relies on.

MAM's JSON drifts (numbers as strings, flags as "0"/"1" or booleans, JSON inside strings that can be
malformed, sizes as "287.4 MiB" or bytes): the client's parser absorbs all of that and produces these.
Nothing downstream sees a raw dict. What a parser had to skip is kept in ``warnings`` so a row with a
malformed ``author_info`` is still a candidate, and the reason it has no author is visible.

The personal download hash (``dl``) is a secret and is deliberately *not* a field: grabs go through
``/tor/download.php?tid=`` with the session cookie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from shared.positions import SeriesPosition


class MainCategory(IntEnum):
    """MAM's ``main_cat``: only 13 is an audiobook."""

    AUDIOBOOKS = 13
    EBOOKS = 14
    MUSICOLOGY = 15
    RADIO = 16


@dataclass(frozen=True, slots=True)
class TorrentSeries:
    """One entry of ``series_info``: a torrent may list several; ``positions`` holds every number the
    volume text names ("01-16, 13.5" gives a range and a decimal), empty when the text names none."""

    name: str
    volume_text: str
    positions: tuple[SeriesPosition, ...] = ()
    mam_series_id: int | None = None


@dataclass(frozen=True, slots=True)
class MamTorrent:
    torrent_id: int
    title: str
    authors: tuple[str, ...] = ()
    narrators: tuple[str, ...] = ()
    series: tuple[TorrentSeries, ...] = ()
    main_cat: int | None = None
    category: int | None = None
    category_name: str = ""
    lang_code: str | None = None
    filetypes: tuple[str, ...] = ()
    size_bytes: int | None = None
    numfiles: int | None = None
    seeders: int = 0
    leechers: int = 0
    times_completed: int = 0
    vip: bool = False
    free: bool = False
    fl_vip: bool = False
    personal_freeleech: bool = False
    my_snatched: bool | None = None  # None: the row did not say
    added: datetime | None = None
    tags: str = ""
    description: str = ""
    bitrate_kbps: int | None = None  # from mediaInfo, tags or title, in that order of trust
    duration_seconds: float | None = None  # from mediaInfo when present
    warnings: tuple[str, ...] = field(default=())

    @property
    def is_audiobook(self) -> bool:
        return self.main_cat == MainCategory.AUDIOBOOKS


#: Classes at or above VIP: ``fl_vip`` torrents are free for them and ``vip`` uploads downloadable.
VIP_CLASSES = frozenset({"vip", "elite vip", "staff", "moderator", "admin", "sysop", "dev", "uploader elite"})


def is_vip_class(classname: str | None) -> bool:
    return (classname or "").strip().lower() in VIP_CLASSES


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """``/jsonLoad.php?snatch_summary`` parsed; ``raw`` keeps the answer (secrets removed) for what we
    do not read yet, since its exact shape varies."""

    uid: int | None
    username: str | None
    classname: str | None
    ratio: float | None
    uploaded_bytes: int | None
    downloaded_bytes: int | None
    seedbonus: float | None
    wedges: int | None
    vip_until: datetime | None
    unsat_count: int | None
    unsat_limit: int | None
    seeding: int | None = None
    leeching: int | None = None
    satisfied: int | None = None
    bonus_per_hour: float | None = None
    raw: dict[str, object] = field(default_factory=dict)

    @property
    def is_vip(self) -> bool:
        return is_vip_class(self.classname)

    def free_for_member(self, torrent: MamTorrent) -> bool:
        """Freeleech for *this* member: ``free`` or a personal wedge always; ``fl_vip`` only for VIP+."""
        return torrent.free or torrent.personal_freeleech or (torrent.fl_vip and self.is_vip)

    def may_download(self, torrent: MamTorrent) -> bool:
        """``vip`` uploads are not downloadable below VIP."""
        return not torrent.vip or self.is_vip
