"""The simulator's torrents and account as typed values, and a builder from plain dicts.

A test writes ``build_catalogue([{"title": "The Colour of Magic", "authors": ["Terry Pratchett"],
"series": [("Discworld", "1")], "quirks": ["numbers_as_strings"]}, ...])``; ids, MAM's author and
series ids (stable per name) and sensible defaults are filled in. How a torrent is *rendered* (its
quirks) lives in :mod:`tests.sims.mam.render`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

#: Row quirks a torrent can carry (see render.py for what each does).
QUIRKS = frozenset({
    "numbers_as_strings",   # ids, counts, main_cat... as "123"
    "flags_as_strings",     # vip/free/... as "0"/"1"
    "flags_as_booleans",    # vip/free/... as true/false
    "malformed_author_info",
    "malformed_narrator_info",
    "malformed_series_info",
    "html_entities",        # names and title HTML-escaped (&amp; &#039;)
    "size_as_bytes",        # "6324306932" instead of "287.4 MiB"
    "size_as_number",       # 6324306932
    "no_my_snatched",       # the row carries no my_snatched field
    "info_as_object",       # author_info etc. as JSON objects, not strings
})

LANGUAGES = {"ENG": 1, "GER": 2, "FRE": 4, "SPA": 5, "DUT": 6, "ITA": 8}
_ids = itertools.count(400_001)


@dataclass
class SimTorrent:
    """One torrent of the catalogue, typed; ``series`` holds (name, volume text) pairs."""

    id: int
    title: str
    authors: list[str] = field(default_factory=list)
    narrators: list[str] = field(default_factory=list)
    series: list[tuple[str, str]] = field(default_factory=list)
    main_cat: int = 13
    category: int = 41
    catname: str = "Audiobooks - Fantasy"
    lang_code: str = "ENG"
    filetype: str = "m4b"
    size_bytes: int = 301_358_284
    numfiles: int = 1
    seeders: int = 10
    leechers: int = 0
    times_completed: int = 100
    vip: bool = False
    free: bool = False
    fl_vip: bool = False
    personal_freeleech: bool = False
    snatched: bool = False
    added: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    tags: str = "Unabridged"
    description: str = ""
    mediainfo: dict[str, Any] | None = None
    quirks: frozenset[str] = frozenset()

    @property
    def language(self) -> int:
        return LANGUAGES.get(self.lang_code, 99)

    def haystack(self, where: str) -> str:
        """The text a ``srchIn`` field searches, lower-cased."""
        parts = {
            "title": [self.title],
            "author": self.authors,
            "narrator": self.narrators,
            "series": [name for name, _ in self.series],
            "description": [self.description],
            "tags": [self.tags],
            "filenames": [self.title],
            "fileTypes": [self.filetype],
        }.get(where, [])
        return " ".join(parts).lower()


@dataclass
class SimAccount:
    """The member as ``jsonLoad.php`` shows them; volumes in bytes, rendered human."""

    uid: int = 229_001
    username: str = "sim_mouse"
    classname: str = "Power User"
    uploaded: int = 2_345_000_000_000
    downloaded: int = 987_000_000_000
    seedbonus: float = 12_345.6
    wedges: int = 3
    vip_until: datetime | None = None
    unsat_count: int = 12
    unsat_limit: int = 100
    satisfied: int = 230
    seeding: int = 250
    leeching: int = 1
    numbers_as_strings: bool = False

    @property
    def ratio(self) -> float:
        return round(self.uploaded / self.downloaded, 2) if self.downloaded else 0.0


def build_torrent(spec: dict[str, Any], *, default_added: datetime | None = None) -> SimTorrent:
    """One :class:`SimTorrent` from a dict of its fields (unknown keys and quirks are errors, so a
    misspelt test input fails loudly)."""
    known = {f.name for f in fields(SimTorrent)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown torrent fields {sorted(unknown)}")
    values = dict(spec)
    values.setdefault("id", next(_ids))
    if default_added is not None:
        values.setdefault("added", default_added)
    values["quirks"] = frozenset(values.get("quirks", ()))
    bad = values["quirks"] - QUIRKS
    if bad:
        raise ValueError(f"unknown quirks {sorted(bad)}")
    values["series"] = [(str(name), str(volume)) for name, volume in values.get("series", [])]
    return SimTorrent(**values)


def build_catalogue(specs: list[dict[str, Any]]) -> list[SimTorrent]:
    """Torrents from dicts; ``added`` defaults to one hour apart, oldest first."""
    start = datetime(2021, 6, 1, tzinfo=UTC)
    return [build_torrent(spec, default_added=start + timedelta(hours=i)) for i, spec in enumerate(specs)]
