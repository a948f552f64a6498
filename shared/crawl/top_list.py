"""Top lists (``crawl.top_list``): which rows of a category's "most snatched this week" become suggestions.

Pure: no I/O. The worker (``workers/crawl/top_list.py``) asks MAM for one category at a time, sorted
by snatches over a date window, and hands the rows here with a predicate saying whether the library
already holds a work. What comes back is at most ``size`` distinct works, most snatched first, each
with the evidence of where it was seen; what was passed over is counted by reason, so a run's result
says why a list came out shorter than asked.

A row is passed over when it is not an audiobook (``main_cat`` 13 only; MAM is asked for that
already, a row that says otherwise is still refused), not in English, names no title or author (no
work key can be made: the wanted list is one row per title + authors), was snatched by the member
already, is owned, or is a second upload of a work already picked (in this category or an earlier
one of the same run).

Why per category: a list over several categories at once is dominated by the busiest one (Fantasy
would crowd out Westerns); one request per category keeps each category's top ``size``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from shared.crawl.choice.edition import language_key
from shared.crawl.choice.text import series_names_agree
from shared.crawl.torrent import MamTorrent
from shared.models.metadata import wanted_key
from shared.normalize import split_series_title_hint

#: Rows asked per size wanted: owned, foreign and duplicate rows are skipped, so ask for more.
OVERFETCH = 3
MIN_PERPAGE, MAX_PERPAGE = 25, 1000
#: Pages read per category before settling for a shorter list (each page is one MAM request).
MAX_PAGES = 3
ENGLISH = "en"

_BRACKETS = re.compile(r"\s*[(\[{][^()\[\]{}]*[)\]}]")
_TRAILING_LABEL = re.compile(r"[\s,:\-]*(?:book|bk|volume|vol|part|#)\.?\s*\d+(?:\.\d+)?\s*$", re.IGNORECASE)


class Skip(StrEnum):
    """Why a row of a top list did not become a suggestion (counted in the job's result)."""

    NOT_AUDIOBOOK = "not_audiobook"
    NOT_ENGLISH = "not_english"
    NO_TITLE_OR_AUTHOR = "no_title_or_author"
    SNATCHED = "snatched"
    OWNED = "owned"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` in days, as MAM reads ``startDate`` (inclusive) and ``endDate`` (exclusive)."""

    start: date
    end: date

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def window(today: date, days: int) -> Window:
    """The ``days`` full days before ``today`` (today's uploads have had no time to be snatched)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    return Window(today - timedelta(days=days), today)


def perpage_for(size: int) -> int:
    """Rows to ask for so that ``size`` are likely left after skipping."""
    return max(MIN_PERPAGE, min(MAX_PERPAGE, size * OVERFETCH))


def book_title(torrent: MamTorrent) -> str:
    """The book's own title from an uploader's: without bracketed notes ("(Unabridged)"), a trailing
    "Book 3", or a series prefix the row's own ``series_info`` confirms ("Discworld 01 - ...": the
    bare-number form alone cannot tell it from "Catch 22 - A Novel")."""
    title = _BRACKETS.sub("", torrent.title).strip() or torrent.title.strip()
    hint = split_series_title_hint(title)
    if hint is not None and any(series_names_agree(hint[0], s.name) for s in torrent.series):
        title = hint[2]
    return _TRAILING_LABEL.sub("", title).strip() or title


@dataclass(frozen=True, slots=True)
class Pick:
    """One work a top list suggests: the book as the wanted list keeps it, and where it was seen."""

    title: str
    authors: tuple[str, ...]
    series_name: str | None
    position: str | None
    language: str
    category: int
    rank: int  # 1 = most snatched kept in its category
    torrent: MamTorrent

    @property
    def key(self) -> str:
        return wanted_key(self.title, self.authors)

    @property
    def titles(self) -> tuple[str, ...]:
        """Every spelling worth an ownership check: the cleaned title and, if different, the uploader's."""
        raw = self.torrent.title.strip()
        return (self.title,) if raw == self.title else (self.title, raw)

    def source(self, win: Window) -> dict[str, object]:
        """What ``sources["top_list"]`` keeps: ids and counts MAM showed, never a secret."""
        t = self.torrent
        return {"category": self.category, "category_name": t.category_name, "rank": self.rank,
                "torrent_id": t.torrent_id, "times_completed": t.times_completed, "seeders": t.seeders,
                "added": t.added.isoformat() if t.added else None, "window": win.as_dict()}


def _row_skip(torrent: MamTorrent) -> Skip | None:
    """The checks a row answers on its own."""
    if not torrent.is_audiobook:
        return Skip.NOT_AUDIOBOOK
    if language_key(torrent.lang_code) not in (None, ENGLISH):
        return Skip.NOT_ENGLISH
    if not torrent.title.strip() or not any(a.strip() for a in torrent.authors):
        return Skip.NO_TITLE_OR_AUTHOR
    if torrent.my_snatched:
        return Skip.SNATCHED
    return None


def _pick(torrent: MamTorrent, category: int, rank: int) -> Pick:
    series = torrent.series[0] if torrent.series else None
    position = series.positions[0].canonical if series is not None and len(series.positions) == 1 else None
    return Pick(title=book_title(torrent), authors=tuple(a.strip() for a in torrent.authors if a.strip()),
                series_name=series.name if series is not None else None, position=position, language=ENGLISH,
                category=category, rank=rank, torrent=torrent)


@dataclass
class Selection:
    """A category's picks (most snatched first) and the rows passed over, by reason."""

    category: int
    picks: list[Pick] = field(default_factory=list)
    skipped: Counter[Skip] = field(default_factory=Counter)

    def skipped_dict(self) -> dict[str, int]:
        return {str(k): v for k, v in sorted(self.skipped.items())}


def select_top(rows: Iterable[MamTorrent], *, category: int, size: int, owned: Callable[[Pick], bool],
               taken: frozenset[str] = frozenset()) -> Selection:
    """The top ``size`` works of ``rows`` by snatches (``times_completed``), skipping as the module says.

    Rows are re-sorted here rather than trusting MAM's order (pages are concatenated, and a stable
    sort keeps MAM's order among ties). ``taken``: work keys an earlier category of the run picked.
    """
    ordered = sorted(rows, key=lambda t: t.times_completed, reverse=True)
    chosen = Selection(category)
    seen: set[str] = set(taken)
    seen_ids: set[int] = set()
    for torrent in ordered:
        if len(chosen.picks) >= size:
            break
        if torrent.torrent_id in seen_ids:  # the same row on two pages (an upload shifted the paging)
            continue
        seen_ids.add(torrent.torrent_id)
        reason = _row_skip(torrent)
        if reason is None:
            candidate = _pick(torrent, category, len(chosen.picks) + 1)
            if candidate.key in seen:
                reason = Skip.DUPLICATE
            elif owned(candidate):
                reason = Skip.OWNED
            else:
                seen.add(candidate.key)
                chosen.picks.append(candidate)
                continue
        chosen.skipped[reason] += 1
    return chosen
