"""Followed authors: their books the library lacks become wanted.

Mode ``all``: every released book by the author. Mode ``future``: only books released after the
follow's ``since`` date, announced ones included (they wait as wanted until they are out). Either
way the same rules as series gaps apply: one edition per work in the library's language, never
abridged, no omnibus/novella/prequel unless the gap rules ask for them, never a book already owned
(by ASIN, title or an owned series position).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.infra.settings import Settings
from shared.models.metadata import Follow, MetadataSeries
from shared.names import author_keys
from shared.positions import canonical_position
from shared.wanted.service import WantedRow, retire, upsert_wanted
from shared.wanted.states import FollowMode, WantedReason
from workers.metadata.detect import load_owned
from workers.metadata.gaps import Book, covers, kind_of, released
from workers.metadata.providers._normalize import normalize_language
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.base import ProviderBook

MAX_PAGES = 10
PRIORITY = {FollowMode.FUTURE: 70, FollowMode.ALL: 40}


def author_books(follow: Follow, audible: AudibleClient) -> list[ProviderBook]:
    books: list[ProviderBook] = []
    for page in range(MAX_PAGES):
        found = audible.search(author=follow.name, num_results=50, page=page)
        books += [b for b in found.books if follow.author_key in author_keys(b.authors)]
        if not found.has_more:
            break
    return books


def _after(release: str | None, since: date) -> bool:
    if not release:
        return False
    if len(release) == 4:
        return int(release) > since.year
    return release[:10] > since.isoformat()


def eligible(book: ProviderBook, follow: Follow, settings: Settings, as_of: date) -> bool:
    language = normalize_language(book.language)
    if book.abridged or (language is not None and language != settings.metadata_language):
        return False
    position = canonical_position(book.series[0].position) if book.series and book.series[0].position else None
    kind = kind_of(position) if position else "primary"
    if kind != "primary" and kind not in settings.gap_rules:
        return False
    if follow.mode == FollowMode.FUTURE:
        return _after(book.release_date, follow.since.date())
    return released(book.release_date, as_of) or "unreleased" in settings.gap_rules


def owned_positions(session: Session) -> dict[str, set[str]]:
    """Audible series ASIN -> positions owned in it (from the last gap scan of each series)."""
    out: dict[str, set[str]] = {}
    for asins, result in session.execute(select(MetadataSeries.audible_asins, MetadataSeries.result)):
        held = {p for o in (result or {}).get("owned", []) for p in covers(o["position"])}
        for asin in asins or ():
            out.setdefault(asin, set()).update(held)
    return out


def check_follow(session: Session, follow: Follow, books: list[ProviderBook], settings: Settings,
                 as_of: date) -> dict[str, int]:
    candidates = [b for b in books if eligible(b, follow, settings, as_of)]
    as_books = [Book(b.title, b.authors, asin=b.asin) for b in candidates]
    owned = load_owned(session, as_books)
    held = owned_positions(session)
    rows: dict[str, WantedRow] = {}
    for book, probe in zip(candidates, as_books, strict=True):
        ref = book.series[0] if book.series else None
        position = canonical_position(ref.position) if ref and ref.position else None
        in_series = ref is not None and position is not None and position in held.get(ref.source_series_id or "", ())
        if in_series or owned.why(probe, author_keys(book.authors)) is not None:
            continue
        row = WantedRow(reason=WantedReason.FOLLOWED_AUTHOR, title=book.title, authors=list(book.authors),
                        priority=PRIORITY[FollowMode(follow.mode)], series_name=ref.name if ref else None,
                        position=position,
                        language=normalize_language(book.language) or settings.metadata_language, asin=book.asin,
                        release_date=book.release_date, follow_id=follow.id,
                        runtime_seconds=float(book.duration_seconds) if book.duration_seconds else None,
                        narrators=list(book.narrators),
                        sources={"followed_author": {"author": follow.name, "mode": follow.mode}})
        rows.setdefault(row.key, row)
    upsert_wanted(session, list(rows.values()))
    retired = retire(session, reason=WantedReason.FOLLOWED_AUTHOR, scope="follow_id", scope_id=follow.id,
                     keep=list(rows))
    return {"books": len(books), "eligible": len(candidates), "wanted": len(rows), "retired": retired}
