"""Filling in a wishlist entry from Audible: by ASIN (the product), or by title + author (a search).

The gateway stores what the user typed and queues this; an ASIN-only entry is keyed ``asin:<ASIN>``
until its title and authors are known, then takes the work key. If that work is already wanted
(say, as a series gap), the two rows become one with both reasons; an ignored row the user now
explicitly wishes for becomes wanted again (``shared.wanted.service.resolve_wish``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.infra.errors import NotFound
from shared.models.metadata import Wanted
from shared.names import natural_name, title_query
from shared.positions import canonical_position
from shared.wanted.service import Resolved, mark_unresolved, resolve_wish
from workers.metadata.match import choose
from workers.metadata.providers._normalize import normalize_language
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.base import ProviderBook
from workers.metadata.recordings import LibraryRecording

__all__ = ["apply", "lookup", "mark_unresolved"]


def lookup(row: Wanted, audible: AudibleClient, threshold: float) -> tuple[ProviderBook | None, str]:
    if row.asin:
        try:
            return audible.product(row.asin), "asin"
        except NotFound:  # the answer is "no such product here": recorded on the row, not a failure
            return None, f"ASIN {row.asin} not found in marketplace {audible.region}"
    if not row.title:
        return None, "nothing to look up (no ASIN, no title)"
    author = natural_name(row.authors[0]) if row.authors else None
    found = list(audible.search(title=title_query(row.title), author=author, num_results=20).books)
    probe = LibraryRecording(recording_id=0, work_id=0, title=row.title, authors=tuple(row.authors), narrators=(),
                             series=(), asin=None, isbn=None, language=row.language, duration_seconds=None,
                             abridged=False, item_ids=())
    decision = choose(probe, [b for b in found if not b.abridged], threshold=threshold)
    # no runtime to compare: title and author must carry it alone (0.75 of the weight at most)
    if decision.book is None or decision.score is None or decision.score.title < 0.9 or decision.score.author < 0.9:
        return None, f"no Audible product found for {row.title!r}"
    return decision.book, "title_author"


def apply(session: Session, row: Wanted, book: ProviderBook, how: str) -> Wanted:
    """Fill in the locked ``row`` from the provider's record (the merge rules are the wanted domain's)."""
    ref = book.series[0] if book.series else None
    found = Resolved(title=book.title, authors=list(book.authors), asin=book.asin, release_date=book.release_date,
                     series_name=ref.name if ref else None,
                     position=canonical_position(ref.position) if ref and ref.position else None,
                     language=normalize_language(book.language),
                     runtime_seconds=float(book.duration_seconds) if book.duration_seconds else None,
                     narrators=tuple(book.narrators))
    return resolve_wish(session, row, found, how)
