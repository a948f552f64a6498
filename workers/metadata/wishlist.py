"""Filling in a wishlist entry from Audible: by ASIN (the product), or by title + author (a search).

The gateway stores what the user typed and queues this; an ASIN-only entry is keyed ``asin:<ASIN>``
until its title and authors are known, then takes the work key. If that work is already wanted
(say, as a series gap), the two rows become one with both reasons; an ignored row the user now
explicitly wishes for becomes wanted again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.models.metadata import Wanted, author_key, wanted_key
from shared.normalize import position_sort_key
from shared.positions import canonical_position
from workers.metadata.match import choose
from workers.metadata.names import natural_name, title_query
from workers.metadata.providers._normalize import normalize_language
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.base import ProviderBook
from workers.metadata.recordings import LibraryRecording


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
    ref = book.series[0] if book.series else None
    position = canonical_position(ref.position) if ref and ref.position else None
    fields: dict[str, Any] = {
        "title": book.title, "authors": list(book.authors),
        "author_keys": sorted({author_key(a) for a in book.authors}), "asin": book.asin,
        "release_date": book.release_date, "series_name": row.series_name or (ref.name if ref else None),
        "position": row.position or position, "language": row.language or normalize_language(book.language)}
    fields["sort_key"] = position_sort_key(fields["position"])
    key = wanted_key(book.title, list(book.authors))
    other = session.scalar(select(Wanted).where(Wanted.key == key, Wanted.id != row.id).with_for_update())
    target = other or row
    for name, value in fields.items():
        if getattr(target, name) in (None, [], "") or target is row:
            setattr(target, name, value)
    target.reasons = sorted(set(target.reasons) | set(row.reasons))
    target.sources = {**(target.sources or {}), "wishlist": {"resolved_by": how, "asin": book.asin}}
    if other is not None:
        if other.state == "ignored":
            other.state = "wanted"  # the user asked for it again, explicitly
        if not other.priority_manual:
            other.priority = max(other.priority, row.priority)
        session.execute(delete(Wanted).where(Wanted.id == row.id))
    else:
        row.key = key
    return target
