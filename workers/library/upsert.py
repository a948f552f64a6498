"""Write a batch of expanded ABS items into the domain model, idempotently.

Statements are executed in executemany form (one cached compilation, rows batched by the driver)
rather than as one giant VALUES list, whose compilation was most of this module's CPU.

Every write is an upsert on a business key, and every ``DO UPDATE`` carries a ``WHERE ... IS
DISTINCT FROM`` guard, so re-applying the same batch (a redelivered task, a forced resync of an
unchanged library) writes nothing. Keys are sorted before each statement so two workers upserting
overlapping batches take row locks in the same order and cannot deadlock.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.models.library import (
    Author,
    LibraryItem,
    Narrator,
    Recording,
    RecordingNarrator,
    Series,
    SeriesMembership,
    Work,
    WorkAuthor,
)
from shared.normalize import fold_name, position_sort_key
from workers.library.abs_models import AbsItem

SEP = "\x1f"


def work_title(item: AbsItem) -> str:
    return (item.title or os.path.basename(item.path.rstrip("/")) or item.id).strip()


def work_key(title: str, author_keys: Iterable[str]) -> str:
    """Folded title + sorted folded authors: a co-authored book is one work, whatever the order."""
    return SEP.join([fold_name(title), *sorted(set(author_keys))])


def recording_key(item: AbsItem) -> str:
    return f"asin:{item.asin.strip().upper()}" if item.asin and item.asin.strip() else f"item:{item.id}"


def _names(values: Iterable[str]) -> dict[str, str]:
    """key → display name (the smallest spelling, so the order items arrive in never matters)."""
    out: dict[str, str] = {}
    for name in values:
        key = fold_name(name)
        if key and (key not in out or name.strip() < out[key]):
            out[key] = name.strip()
    return out


def _upsert_names(session: Session, model: type[Author] | type[Series] | type[Narrator],
                  names: dict[str, str]) -> dict[str, int]:
    if not names:
        return {}
    table: Table = model.__table__  # type: ignore[assignment]
    rows = [{"key": k, "name": names[k]} for k in sorted(names)]
    stmt = insert(table)
    session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"name": stmt.excluded.name},
                                               where=stmt.excluded.name < table.c.name), rows)
    return dict(session.execute(select(table.c.key, table.c.id).where(table.c.key.in_(list(names)))).all())


@dataclass(frozen=True)
class BatchResult:
    items: int
    works: int


def upsert_items(session: Session, items: Sequence[AbsItem]) -> BatchResult:
    books = [i for i in items if i.media_type == "book"]
    if not books:
        return BatchResult(0, 0)
    author_ids = _upsert_names(session, Author, _names(a.name for i in books for a in i.authors))
    series_ids = _upsert_names(session, Series, _names(s.name for i in books for s in i.series))
    narrator_ids = _upsert_names(session, Narrator, _names(n for i in books for n in i.narrators))

    keys_of: dict[str, str] = {}
    works: dict[str, dict[str, Any]] = {}
    for item in books:
        title = work_title(item)
        akeys = [k for k in (fold_name(a.name) for a in item.authors) if k]
        key = work_key(title, akeys)
        keys_of[item.id] = key
        if key not in works or title < works[key]["title"]:
            works[key] = {"key": key, "title": title, "title_key": fold_name(title)}
    wtable: Table = Work.__table__  # type: ignore[assignment]
    wstmt = insert(wtable)
    session.execute(wstmt.on_conflict_do_update(index_elements=["key"], set_={"title": wstmt.excluded.title},
                                                where=wstmt.excluded.title < wtable.c.title),
                    [works[k] for k in sorted(works)])
    work_ids = dict(session.execute(select(wtable.c.key, wtable.c.id).where(wtable.c.key.in_(list(works)))).all())

    _link_authors(session, books, keys_of, work_ids, author_ids)
    _link_series(session, books, keys_of, work_ids, series_ids)
    recording_ids = _upsert_recordings(session, books, keys_of, work_ids)
    _link_narrators(session, books, recording_ids, narrator_ids)
    _upsert_library_items(session, books, recording_ids)
    return BatchResult(len(books), len(works))


def _link_authors(session: Session, books: Sequence[AbsItem], keys_of: dict[str, str], work_ids: dict[str, int],
                  author_ids: dict[str, int]) -> None:
    links: dict[tuple[int, int], int] = {}
    for item in books:
        wid = work_ids[keys_of[item.id]]
        for n, author in enumerate(item.authors):
            key = fold_name(author.name)
            if key:
                links.setdefault((wid, author_ids[key]), n)
    if links:
        rows = [{"work_id": w, "author_id": a, "ordinal": o} for (w, a), o in sorted(links.items())]
        session.execute(insert(WorkAuthor).on_conflict_do_nothing(), rows)


def _link_series(session: Session, books: Sequence[AbsItem], keys_of: dict[str, str], work_ids: dict[str, int],
                 series_ids: dict[str, int]) -> None:
    links: dict[tuple[int, int], tuple[str, str | None]] = {}
    for item in sorted(books, key=lambda b: b.id, reverse=True):  # the smallest item id wins
        wid = work_ids[keys_of[item.id]]
        for ref in item.series:
            key = fold_name(ref.name)
            if key:
                position = ref.sequence.strip() if ref.sequence and ref.sequence.strip() else None
                links[(wid, series_ids[key])] = (item.id, position)
    if not links:
        return
    rows = [{"work_id": w, "series_id": s, "position": p, "sort_key": position_sort_key(p), "source_item": src}
            for (w, s), (src, p) in sorted(links.items())]
    stmt = insert(SeriesMembership)
    table = SeriesMembership.__table__
    session.execute(stmt.on_conflict_do_update(
        index_elements=["work_id", "series_id"],
        set_={"position": stmt.excluded.position, "sort_key": stmt.excluded.sort_key,
              "source_item": stmt.excluded.source_item},
        where=(stmt.excluded.source_item <= table.c.source_item)
        & tuple_(table.c.position, table.c.source_item).is_distinct_from(
            tuple_(stmt.excluded.position, stmt.excluded.source_item)),
    ), rows)


_RECORDING_FIELDS = ("work_id", "asin", "isbn", "language", "abridged", "explicit", "duration_seconds",
                     "size_bytes", "audio_files", "source_item")


def _upsert_recordings(session: Session, books: Sequence[AbsItem], keys_of: dict[str, str],
                       work_ids: dict[str, int]) -> dict[str, int]:
    rows: dict[str, dict[str, Any]] = {}
    for item in sorted(books, key=lambda b: b.id, reverse=True):  # the smallest item id wins
        rows[recording_key(item)] = {
            "source_item": item.id,
            "key": recording_key(item),
            "work_id": work_ids[keys_of[item.id]],
            "asin": item.asin.strip().upper() if item.asin and item.asin.strip() else None,
            "isbn": item.isbn or None,
            "language": item.language or None,
            "abridged": bool(item.abridged),
            "explicit": bool(item.explicit),
            "duration_seconds": item.duration_seconds,
            "size_bytes": item.size,
            "audio_files": [{"codec": f.codec, "bitrate": f.bitrate, "duration": f.duration,
                             "channels": f.channels, "format": f.format, "filename": f.filename}
                            for f in item.audio_files],
        }
    table: Table = Recording.__table__  # type: ignore[assignment]
    stmt = insert(table)
    changed = tuple_(*(table.c[f] for f in _RECORDING_FIELDS)).is_distinct_from(
        tuple_(*(stmt.excluded[f] for f in _RECORDING_FIELDS)))
    session.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                               set_={f: stmt.excluded[f] for f in _RECORDING_FIELDS},
                                               where=changed & (stmt.excluded.source_item <= table.c.source_item)),
                    [rows[k] for k in sorted(rows)])
    return dict(session.execute(select(table.c.key, table.c.id).where(table.c.key.in_(list(rows)))).all())


def _link_narrators(session: Session, books: Sequence[AbsItem], recording_ids: dict[str, int],
                    narrator_ids: dict[str, int]) -> None:
    links: dict[tuple[int, int], int] = {}
    for item in books:
        rid = recording_ids[recording_key(item)]
        for n, name in enumerate(item.narrators):
            key = fold_name(name)
            if key:
                links.setdefault((rid, narrator_ids[key]), n)
    if links:
        rows = [{"recording_id": r, "narrator_id": n, "ordinal": o} for (r, n), o in sorted(links.items())]
        session.execute(insert(RecordingNarrator).on_conflict_do_nothing(), rows)


_ITEM_FIELDS = ("library_id", "recording_id", "path", "ino", "abs_updated_at", "duration_seconds", "state", "title")


def _upsert_library_items(session: Session, books: Sequence[AbsItem], recording_ids: dict[str, int]) -> None:
    rows = [{"abs_id": i.id, "library_id": i.library_id, "recording_id": recording_ids[recording_key(i)],
             "path": i.path, "ino": i.ino or None, "abs_updated_at": i.updated_at,
             "duration_seconds": i.duration_seconds, "state": "missing" if i.is_missing else "present",
             "title": i.title} for i in sorted(books, key=lambda b: b.id)]
    table: Table = LibraryItem.__table__  # type: ignore[assignment]
    stmt = insert(table)
    changed = tuple_(*(table.c[f] for f in _ITEM_FIELDS)).is_distinct_from(
        tuple_(*(stmt.excluded[f] for f in _ITEM_FIELDS)))
    session.execute(stmt.on_conflict_do_update(index_elements=["abs_id"],
                                               set_={f: stmt.excluded[f] for f in _ITEM_FIELDS}, where=changed), rows)
