"""Read models of the library: what the books, authors, series and stats endpoints return.

"In the library" means: a work with at least one *present* item in a book library. Missing and
gone items are kept in the database but counted nowhere, as a user would expect of files that are
not on disk. Counting goes through the expanded relations (work_authors, series_memberships,
recording_narrators), never through display strings, so a co-authored book is one book counted
for each author and "Martin Smith, Jr." is one author.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.library_schemas import (
    AuthorOut,
    BookOut,
    BookRecording,
    BookSeries,
    LibraryStats,
    MissingEntry,
    NarratorOut,
    OwnedPosition,
    ProviderListing,
    SeriesDetail,
    SeriesGaps,
    SeriesMember,
    SeriesOut,
)
from shared.normalize import fold_name, position_sort_key

PRESENT_WORK = """EXISTS (SELECT 1 FROM recordings r JOIN library_items i ON i.recording_id = r.id
                          WHERE r.work_id = w.id AND i.state = 'present')"""


@dataclass(frozen=True)
class Filters:
    author: str | None = None
    series: str | None = None
    narrator: str | None = None
    q: str | None = None


#: How ``/books`` is ordered: by id (the order books entered the library) or by folded title.
BookOrder = Literal["id", "title"]


class BookKey(NamedTuple):
    """Where a book sits in a listing: what a keyset cursor resumes after."""

    id: int
    title_key: str


def _match(column_id: str, column_key: str, value: str, params: dict[str, Any], name: str) -> str:
    """Filter by numeric id or by folded name."""
    if value.isdigit():
        params[name] = int(value)
        return f"{column_id} = :{name}"
    params[name] = fold_name(value)
    return f"{column_key} = :{name}"


def contains(text_: str) -> str:
    """A LIKE pattern for "the folded name contains ``text_``", its ``%``, ``_`` and ``\\`` taken
    literally (a person searching "100%" means the characters, not a wildcard)."""
    folded = fold_name(text_).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{folded}%"


#: The text search: a book whose title, an author, a series or a narrator contains the words.
#: Uncorrelated ``IN`` subqueries, so PostgreSQL runs each once (a hashed subplan) rather than once
#: per book: a search of 10,000 books stays a few milliseconds.
_TEXT = """(w.title_key LIKE :q
    OR w.id IN (SELECT wa.work_id FROM work_authors wa JOIN authors a ON a.id = wa.author_id WHERE a.key LIKE :q)
    OR w.id IN (SELECT sm.work_id FROM series_memberships sm JOIN series s ON s.id = sm.series_id
                 WHERE s.key LIKE :q)
    OR w.id IN (SELECT r.work_id FROM recordings r JOIN recording_narrators rn ON rn.recording_id = r.id
                  JOIN narrators n ON n.id = rn.narrator_id WHERE n.key LIKE :q))"""


def list_work_keys(session: Session, filters: Filters, order: BookOrder, after: BookKey | None,
                   limit: int) -> list[BookKey]:
    """The books in the library matching ``filters``, in ``order``, after ``after``, at most ``limit``."""
    where = [PRESENT_WORK]
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params.update(after_id=after.id, after_title=after.title_key)
        where.append("(w.title_key, w.id) > (:after_title, :after_id)" if order == "title" else "w.id > :after_id")
    if filters.author:
        cond = _match("a.id", "a.key", filters.author, params, "author")
        where.append(f"EXISTS (SELECT 1 FROM work_authors wa JOIN authors a ON a.id = wa.author_id "
                     f"WHERE wa.work_id = w.id AND {cond})")
    if filters.series:
        cond = _match("s.id", "s.key", filters.series, params, "series")
        where.append(f"EXISTS (SELECT 1 FROM series_memberships sm JOIN series s ON s.id = sm.series_id "
                     f"WHERE sm.work_id = w.id AND {cond})")
    if filters.narrator:
        cond = _match("n.id", "n.key", filters.narrator, params, "narrator")
        where.append("EXISTS (SELECT 1 FROM recordings r2 JOIN recording_narrators rn ON rn.recording_id = r2.id "
                     f"JOIN narrators n ON n.id = rn.narrator_id WHERE r2.work_id = w.id AND {cond})")
    if filters.q and filters.q.strip():
        params["q"] = contains(filters.q)
        where.append(_TEXT)
    by = "w.title_key, w.id" if order == "title" else "w.id"
    sql = f"SELECT w.id, w.title_key FROM works w WHERE {' AND '.join(where)} ORDER BY {by} LIMIT :limit"
    return [BookKey(r[0], r[1]) for r in session.execute(text(sql), params)]


def books(session: Session, work_ids: list[int]) -> list[BookOut]:
    """Full book records for ``work_ids``, in that order, loaded with four set-based queries."""
    if not work_ids:
        return []
    p = {"ids": work_ids}
    titles: dict[int, str] = dict(session.execute(text("SELECT id, title FROM works WHERE id = ANY(:ids)"), p).all())
    authors: dict[int, list[str]] = defaultdict(list)
    for wid, name in session.execute(text(
            "SELECT wa.work_id, a.name FROM work_authors wa JOIN authors a ON a.id = wa.author_id "
            "WHERE wa.work_id = ANY(:ids) ORDER BY wa.work_id, wa.ordinal, a.name"), p):
        authors[wid].append(name)
    series: dict[int, list[BookSeries]] = defaultdict(list)
    for wid, sid, name, position in session.execute(text(
            "SELECT sm.work_id, s.id, s.name, sm.position FROM series_memberships sm JOIN series s "
            "ON s.id = sm.series_id WHERE sm.work_id = ANY(:ids) ORDER BY sm.work_id, s.name"), p):
        series[wid].append(BookSeries(id=sid, name=name, position=position))
    recordings: dict[int, list[BookRecording]] = defaultdict(list)
    for row in session.execute(text("""
            SELECT r.work_id, i.abs_id, r.asin, r.abridged, coalesce(i.duration_seconds, r.duration_seconds),
                   i.library_id,
                   (SELECT coalesce(array_agg(n.name ORDER BY rn.ordinal), '{}') FROM recording_narrators rn
                     JOIN narrators n ON n.id = rn.narrator_id WHERE rn.recording_id = r.id)
              FROM recordings r JOIN library_items i ON i.recording_id = r.id
             WHERE r.work_id = ANY(:ids) AND i.state = 'present' ORDER BY r.work_id, i.abs_id"""), p):
        recordings[row[0]].append(BookRecording(abs_id=row[1], asin=row[2], abridged=row[3], duration_seconds=row[4],
                                                library_id=row[5], narrators=list(row[6])))
    return [BookOut(id=wid, title=titles[wid], authors=authors[wid], series=series[wid],
                    recordings=recordings[wid]) for wid in work_ids if wid in titles]


def authors(session: Session, after: int, limit: int, q: str | None = None) -> list[AuthorOut]:
    return [AuthorOut(id=i, name=n, book_count=c) for i, n, c in _people(session, "authors", after, limit, q)]


def narrators(session: Session, after: int, limit: int, q: str | None = None) -> list[NarratorOut]:
    return [NarratorOut(id=i, name=n, book_count=c) for i, n, c in _people(session, "narrators", after, limit, q)]


_PEOPLE = {
    "authors": "JOIN work_authors wa ON wa.author_id = p.id JOIN works w ON w.id = wa.work_id",
    "narrators": "JOIN recording_narrators rn ON rn.narrator_id = p.id JOIN recordings r0 ON r0.id = rn.recording_id "
                 "JOIN works w ON w.id = r0.work_id",
}


def _people(session: Session, table: str, after: int, limit: int, q: str | None) -> list[tuple[int, str, int]]:
    """Authors or narrators with their number of books in the library; ``q``: the folded name contains it.
    A narrator counts a book when any recording of it is theirs (as the ``narrator`` filter does)."""
    params: dict[str, Any] = {"after": after, "limit": limit}
    named = ""
    if q and q.strip():
        params["q"] = contains(q)
        named = "AND p.key LIKE :q"
    rows = session.execute(text(f"""
        SELECT p.id, p.name, count(DISTINCT w.id) FROM {table} p {_PEOPLE[table]}
         WHERE p.id > :after {named} AND {PRESENT_WORK}
         GROUP BY p.id, p.name ORDER BY p.id LIMIT :limit"""), params)
    return [(r[0], r[1], r[2]) for r in rows]


_SERIES = f"""
    SELECT s.id, s.name, count(DISTINCT w.id),
           array_agg(DISTINCT sm.position) FILTER (WHERE sm.position IS NOT NULL)
      FROM series s JOIN series_memberships sm ON sm.series_id = s.id JOIN works w ON w.id = sm.work_id
     WHERE {{where}} AND {PRESENT_WORK}
     GROUP BY s.id, s.name ORDER BY s.id LIMIT :limit"""


def _in_reading_order(positions: list[str] | None) -> list[str]:
    def key(p: str) -> tuple[float, str]:
        k = position_sort_key(p)
        return (k if k is not None else float("inf"), p)

    return sorted(positions or [], key=key)


def series_list(session: Session, after: int, limit: int, q: str | None = None) -> list[SeriesOut]:
    params: dict[str, Any] = {"after": after, "limit": limit}
    where = "s.id > :after"
    if q and q.strip():
        params["q"] = contains(q)
        where += " AND s.key LIKE :q"
    rows = session.execute(text(_SERIES.format(where=where)), params)
    return [SeriesOut(id=r[0], name=r[1], book_count=r[2], positions=_in_reading_order(r[3])) for r in rows]


def series_detail(session: Session, series_id: int) -> SeriesDetail | None:
    row = session.execute(text(_SERIES.format(where="s.id = :sid")), {"sid": series_id, "limit": 1}).first()
    if row is None:
        return None
    members = session.execute(text(f"""
        SELECT w.id, w.title, sm.position, sm.sort_key FROM series_memberships sm JOIN works w ON w.id = sm.work_id
         WHERE sm.series_id = :sid AND {PRESENT_WORK}
         ORDER BY sm.sort_key NULLS LAST, sm.position, w.title"""), {"sid": series_id}).all()
    by_id = {b.id: b for b in books(session, [m[0] for m in members])}
    return SeriesDetail(id=row[0], name=row[1], book_count=row[2], positions=_in_reading_order(row[3]),
                        members=[SeriesMember(position=m[2], sort_key=m[3], book=by_id[m[0]]) for m in members],
                        gaps=series_gaps(session, series_id))


def series_gaps(session: Session, series_id: int) -> list[SeriesGaps]:
    """The last gap scan of the bibliographic series this library series' books belong to: usually
    one; several when ABS merged same-named series of different authors into this one row."""
    found = session.scalars(text("SELECT metadata_series_id FROM metadata_series_links WHERE series_id = :sid "
                                 "ORDER BY metadata_series_id"), {"sid": series_id}).all()
    return [g for g in (metadata_series_gaps(session, m) for m in found) if g is not None]


def metadata_series_gaps(session: Session, metadata_series_id: int) -> SeriesGaps | None:
    """``owned``: positions the library holds and which sources place a book there (abs, audible,
    hardcover, title, listing:asin/title...); ``missing``: the wanted rows for its gaps, with each
    provider's position and the row's state (ignored ones included, marked so)."""
    found = session.execute(text("""
        SELECT m.id, m.name, m.key, m.checked_at, m.result, m.audible_asins, m.hardcover_ids,
               (SELECT coalesce(array_agg(l.series_id ORDER BY l.series_id), '{}') FROM metadata_series_links l
                 WHERE l.metadata_series_id = m.id)
          FROM metadata_series m WHERE m.id = :m"""), {"m": metadata_series_id}).first()
    if found is None:
        return None
    result = found[4] or {}
    missing = session.execute(text("""
        SELECT id, position, title, asin, state, priority, release_date, sources->'series_gap', sort_key
          FROM wanted WHERE metadata_series_id = :m AND 'series_gap' = ANY(reasons)
         ORDER BY sort_key NULLS LAST, id"""), {"m": found[0]}).all()
    return SeriesGaps(
        metadata_series_id=found[0], name=found[1], key=found[2], library_series_ids=list(found[7]),
        checked_at=found[3], as_of=result.get("as_of"), audible_asins=found[5], hardcover_ids=found[6],
        owned=[OwnedPosition.model_validate(o) for o in result.get("owned", [])],
        missing=[MissingEntry(wanted_id=r[0], position=r[1], title=r[2], asin=r[3], state=r[4], priority=r[5],
                              release_date=r[6], sources=(r[7] or {}).get("positions", {}),
                              kind=(r[7] or {}).get("kind"), sort_key=r[8]) for r in missing],
        listings=[ProviderListing.model_validate(x) for x in result.get("listings", [])],
        failed=result.get("failed", []))


def stats(session: Session) -> LibraryStats:
    row = session.execute(text("""
        WITH present AS (
            SELECT i.abs_id, i.duration_seconds, r.id AS recording_id, r.work_id
              FROM library_items i JOIN recordings r ON r.id = i.recording_id
              JOIN libraries l ON l.id = i.library_id
             WHERE i.state = 'present' AND l.media_type = 'book'),
        works_in AS (SELECT DISTINCT work_id FROM present)
        SELECT (SELECT count(*) FROM works_in),
               (SELECT count(DISTINCT wa.author_id) FROM work_authors wa JOIN works_in USING (work_id)),
               (SELECT count(DISTINCT sm.series_id) FROM series_memberships sm JOIN works_in USING (work_id)),
               (SELECT count(DISTINCT rn.narrator_id) FROM recording_narrators rn
                  JOIN (SELECT DISTINCT recording_id FROM present) pr USING (recording_id)),
               (SELECT coalesce(sum(duration_seconds), 0) FROM present)""")).one()
    return LibraryStats(books=row[0], authors=row[1], series=row[2], narrators=row[3],
                        hours=round(float(row[4]) / 3600, 2))


def work_exists(session: Session, work_id: int) -> bool:
    return bool(session.scalar(text(f"SELECT 1 FROM works w WHERE w.id = :id AND {PRESENT_WORK}"),
                               {"id": work_id}))
