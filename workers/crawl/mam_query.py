"""What a MAM search asks and what one page answers, as typed values.

:class:`MamQuery` renders MAM's POST JSON form (``srchIn`` a list, ``main_cat`` available,
``perpage``/``my_snatched``/``mediaInfo`` beside ``tor``). ``dlLink`` is never sent: rows would carry
the member's personal download hash, a secret we neither need nor want to hold (grabs go through
``/tor/download.php?tid=`` with the cookie).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.crawl.torrent import MainCategory, MamTorrent

MIN_PERPAGE, MAX_PERPAGE = 5, 1000
SEARCH_TYPES = frozenset({"all", "active", "inactive", "fl", "fl-VIP", "VIP", "nVIP", "nMeta"})
SEARCH_IN = frozenset({"title", "author", "narrator", "series", "description", "filenames", "tags", "fileTypes"})
_SORT_KEYS = ("title", "file", "size", "seeders", "leechers", "snatched", "date", "bmka", "reseed", "category")
SORT_TYPES = frozenset({"default", "random", *(k + d for k in _SORT_KEYS for d in ("Asc", "Desc"))})


@dataclass(frozen=True, slots=True)
class MamQuery:
    """One search. Defaults: audiobooks only, English, relevance order, 100 rows from the first.

    ``start_date`` is inclusive and ``end_date`` exclusive (MAM's reading), which is what a "top of
    the week" window needs. ``my_snatched`` asks MAM to mark or limit to the member's snatches; see
    :func:`workers.crawl.mam_rows.snatched_shape` for reading the answer either way.
    """

    text: str = ""
    search_in: tuple[str, ...] = ("title", "author", "narrator", "series")
    search_type: str = "all"
    main_cat: tuple[int, ...] = (int(MainCategory.AUDIOBOOKS),)
    categories: tuple[int, ...] = ()  # () = every sub-category ("cat": ["0"])
    browse_lang: tuple[int, ...] = (1,)  # 1 = English
    sort_type: str = "default"
    start_number: int = 0
    perpage: int = 100
    start_date: date | datetime | None = None
    end_date: date | datetime | None = None
    my_snatched: bool = False
    media_info: bool = True
    description: bool = False

    def __post_init__(self) -> None:
        if self.search_type not in SEARCH_TYPES:
            raise ValueError(f"search_type must be one of {sorted(SEARCH_TYPES)}, got {self.search_type!r}")
        if self.sort_type not in SORT_TYPES:
            raise ValueError(f"sort_type {self.sort_type!r} is not one MAM knows")
        unknown = set(self.search_in) - SEARCH_IN
        if unknown:
            raise ValueError(f"search_in: unknown fields {sorted(unknown)}")
        if not MIN_PERPAGE <= self.perpage <= MAX_PERPAGE:
            raise ValueError(f"perpage must be {MIN_PERPAGE}..{MAX_PERPAGE}, got {self.perpage}")
        if self.start_number < 0:
            raise ValueError("start_number must not be negative")

    def next_page(self) -> MamQuery:
        return replace(self, start_number=self.start_number + self.perpage)

    def body(self) -> dict[str, Any]:
        """The POST JSON body MAM's search endpoint takes."""
        tor: dict[str, Any] = {
            "text": self.text,
            "srchIn": list(self.search_in),
            "searchType": self.search_type,
            "searchIn": "torrents",
            "main_cat": list(self.main_cat),
            "cat": [str(c) for c in self.categories] or ["0"],
            "browse_lang": list(self.browse_lang),
            "sortType": self.sort_type,
            "startNumber": self.start_number,
            "minSize": 0,
            "maxSize": 0,
            "unit": 1048576,
            "minSeeders": 0,
        }
        if self.start_date is not None:
            tor["startDate"] = _day(self.start_date)
        if self.end_date is not None:
            tor["endDate"] = _day(self.end_date)
        body: dict[str, Any] = {"tor": tor, "perpage": self.perpage}
        if self.my_snatched:
            body["my_snatched"] = "1"
        if self.media_info:
            body["mediaInfo"] = "1"
        if self.description:
            body["description"] = "1"
        return body


def _day(value: date | datetime) -> str | int:
    return int(value.timestamp()) if isinstance(value, datetime) else value.isoformat()


class SnatchedShape(StrEnum):
    """How an answer to a ``my_snatched`` search reads (the reference: "sources disagree")."""

    #: Rows carry the flag and some say "not snatched": read it row by row.
    ANNOTATED = "annotated"
    #: Every row says snatched, or none carries the flag: the rows *are* the member's snatches;
    #: search again without the flag for candidates.
    FILTERED = "filtered"
    #: No rows: nothing to tell the readings apart (and nothing snatched among the results).
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class MamSearchPage:
    """One page of results. ``total_found`` is MAM's count over every page; ``rows`` hold only the
    rows that parsed (``skipped`` counts rows without a usable id, ``warnings`` says why)."""

    rows: tuple[MamTorrent, ...]
    start: int
    perpage: int
    total_found: int
    skipped: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def has_more(self) -> bool:
        return self.start + len(self.rows) + self.skipped < self.total_found

    @classmethod
    def empty(cls, query: MamQuery) -> MamSearchPage:
        return cls(rows=(), start=query.start_number, perpage=query.perpage, total_found=0)
