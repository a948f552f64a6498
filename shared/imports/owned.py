"""Does the library already hold this book? Checked before an import places anything.

Two ways to know, as the edition choice uses (``shared.crawl.choice.rejections``):

- an ASIN: the wanted book's, or one the chosen torrent names, among the ASINs the library's works
  are known by in *every* marketplace (``metadata_owned_keys``, kept by the gap scans) or that a
  present recording carries;
- title + author + duration: a present recording by the same authors whose title agrees and whose
  duration is within ``max(120 s, tolerance)`` of what was just measured. Title and author alone
  are not enough: an abridged copy in the library must not stop the unabridged one.

An existing copy is never replaced here (an upgrade that swaps a lower-quality copy is a later,
explicit feature, and must not delete a copy that still seeds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.crawl.choice.match import TitleVerdict, compare_titles
from shared.crawl.targets import owned_recordings
from shared.imports.verify import SAME_PERSON
from shared.names import names_agree

__all__ = ["owned_copy"]

_GOOD_TITLE = (TitleVerdict.EXACT, TitleVerdict.SUBTITLE, TitleVerdict.FUZZY)


def _owned_asin(session: Session, asins: list[str]) -> str | None:
    if not asins:
        return None
    found = session.scalar(text("""
        SELECT key FROM metadata_owned_keys WHERE kind = 'asin' AND upper(key) = ANY(:asins)
        UNION ALL SELECT upper(r.asin) FROM recordings r JOIN library_items i ON i.recording_id = r.id
         WHERE i.state = 'present' AND upper(r.asin) = ANY(:asins) LIMIT 1"""), {"asins": asins})
    return str(found) if found is not None else None


def owned_copy(session: Session, *, asins: Iterable[str], title: str, authors: Sequence[str],
               duration_seconds: float | None, tolerance: float) -> str | None:
    """Why the library already holds this book, or None."""
    wanted = sorted({a.strip().upper() for a in asins if a and a.strip()})
    asin = _owned_asin(session, wanted)
    if asin is not None:
        return f"ASIN {asin} is in the library"
    if not duration_seconds or not authors:
        return None
    for rec in owned_recordings(session, list(authors)):
        verdict, _ = compare_titles(title, rec.title)
        agree = names_agree(rec.authors, authors)
        owned_for = rec.duration_seconds
        if (verdict in _GOOD_TITLE and agree is not None and agree >= SAME_PERSON and owned_for
                and abs(owned_for - duration_seconds) <= max(120.0, tolerance * owned_for)):
            return (f"the library has {rec.title!r} by {', '.join(rec.authors)}, {owned_for:.0f} s long "
                    f"(this download runs {duration_seconds:.0f} s)")
    return None
