"""What an import expects of a download, read once from the wanted entry and the chosen candidate.

- The book (:class:`~shared.imports.book.BookFacts`): the wanted entry's title, authors, series and
  position, year and ASIN, and the narrators of the recording we chose.
- The chosen narrators: those the chosen MAM torrent lists (the choice took them knowingly), else
  those metadata expects of the book.
- The names in play for the listener: the chosen ones, every other candidate's narrators in the
  same search, the wanted entry's, and the narrators of the owned books of its series.
- The ASINs the duplicate check looks for: the wanted book's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.crawl.targets import series_narrators
from shared.imports.book import BookFacts
from shared.imports.verify import Expectation
from shared.models.crawl import MamCandidate, MamSearch
from shared.models.download import Download
from shared.models.metadata import Wanted

__all__ = ["Expected", "load_expected"]


@dataclass(frozen=True, slots=True)
class Expected:
    book: BookFacts
    expectation: Expectation
    names_in_play: list[str]
    asins: tuple[str, ...]
    candidate: dict[str, Any] | None  # the chosen candidate's item, as the search judged it


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip() for v in value if isinstance(v, str) and v.strip())


def _candidates(session: Session, wanted_id: int, torrent_id: int | None) -> tuple[dict[str, Any] | None,
                                                                                   list[dict[str, Any]]]:
    """The chosen torrent's item in the latest search that judged it, and that search's other items."""
    if torrent_id is None:
        return None, []
    search_id = session.scalar(select(MamCandidate.search_id).join(MamSearch, MamSearch.id == MamCandidate.search_id)
                               .where(MamSearch.wanted_id == wanted_id, MamCandidate.torrent_id == torrent_id)
                               .order_by(MamCandidate.search_id.desc()).limit(1))
    if search_id is None:
        return None, []
    rows = list(session.scalars(select(MamCandidate).where(MamCandidate.search_id == search_id)
                                .order_by(MamCandidate.rank)))
    chosen = next((r.item for r in rows if r.torrent_id == torrent_id), None)
    return chosen, [r.item for r in rows if r.torrent_id != torrent_id]


def load_expected(session: Session, download: Download, wanted: Wanted, tolerance: float) -> Expected:
    candidate, others = _candidates(session, wanted.id, download.torrent_id)
    torrent_narrators = _names((candidate or {}).get("narrators"))
    chosen = torrent_narrators or _names(wanted.narrators)
    authors = _names(wanted.authors) or _names((candidate or {}).get("authors"))
    year = wanted.release_date[:4] if wanted.release_date and wanted.release_date[:4].isdigit() else None
    book = BookFacts(title=wanted.title or download.title or download.name or f"download {download.id}",
                     authors=authors, narrators=chosen, series=wanted.series_name, position=wanted.position,
                     year=year, asin=wanted.asin.upper() if wanted.asin else None)
    names = list(dict.fromkeys([*chosen, *(n for item in others for n in _names(item.get("narrators"))),
                                *_names(wanted.narrators), *series_narrators(session, wanted)]))
    expectation = Expectation(runtime_seconds=wanted.runtime_seconds, tolerance=tolerance, narrators=chosen,
                              authors=authors)
    return Expected(book=book, expectation=expectation, names_in_play=names,
                    asins=(book.asin,) if book.asin else (), candidate=candidate)
