"""The library as a domain model: works, authors, series, narrators, recordings, library items.

Identity is by business key, never by display string:
- authors, series and narrators: ``key`` = ``shared.normalize.fold_name(name)`` (case, diacritics
  and whitespace folded), one row across every library;
- a work: its folded title plus the sorted folded author keys (``work_key``), so a co-authored
  book is one work credited to each author, and the same book in two libraries is one work;
- a recording (an edition): ``asin:<ASIN>`` when ABS knows one, else ``item:<ABS item id>``;
- a library item: the ABS item id.
Series positions are kept exactly as ABS gives them ("1", "2.5", "0", "1-3") with a numeric
``sort_key`` beside them for reading order. Items that vanish from ABS are marked, never deleted.

When two items describe the same entity differently (the same ASIN in two libraries, one work
with two title casings), the result must not depend on which item a worker stored last (a killed
and resumed sync must end where an uninterrupted one does): display names keep the smallest
spelling, and recordings/series positions keep the values of the item with the smallest ABS id
(``source_item``). A recording's narrators are its source item's; a work's series memberships
are the union of its items' claims (``library_item_series``), so edits that remove a narrator or
a series in ABS are mirrored, not accumulated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.infra.db import Base

ITEM_STATES = ("present", "missing", "gone")


class Library(Base):
    __tablename__ = "libraries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # ABS library id
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(16))


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))


class Narrator(Base):
    __tablename__ = "narrators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))


class Work(Base):
    __tablename__ = "works"
    __table_args__ = (Index("ix_works_title_key", "title_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    title_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WorkAuthor(Base):
    __tablename__ = "work_authors"
    __table_args__ = (Index("ix_work_authors_author", "author_id"),)

    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)


class SeriesMembership(Base):
    """A work's place in a series, as ABS states it (position may be absent)."""

    __tablename__ = "series_memberships"
    __table_args__ = (Index("ix_series_memberships_series", "series_id", "sort_key"),)

    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[str | None] = mapped_column(String(32))
    sort_key: Mapped[float | None] = mapped_column(Float)
    source_item: Mapped[str] = mapped_column(String(64), server_default="")


class ItemSeries(Base):
    """One library item's claim "this book is #position of that series", exactly as ABS gives it.

    ``series_memberships`` is derived from these claims (per work, the smallest claiming item
    wins), so an item that drops a series in ABS stops claiming it and the membership goes away
    unless another item of the same work still claims it.
    """

    __tablename__ = "library_item_series"

    abs_id: Mapped[str] = mapped_column(ForeignKey("library_items.abs_id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[str | None] = mapped_column(String(32))
    sort_key: Mapped[float | None] = mapped_column(Float)


class Recording(Base):
    """An edition of a work: who reads it, how long, abridged or not, which ASIN/ISBN."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_work", "work_id"), Index("ix_recordings_asin", "asin"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"))
    asin: Mapped[str | None] = mapped_column(String(32))
    isbn: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(64))
    abridged: Mapped[bool] = mapped_column(Boolean, default=False)
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    audio_files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    source_item: Mapped[str] = mapped_column(String(64), server_default="")


class RecordingNarrator(Base):
    __tablename__ = "recording_narrators"
    __table_args__ = (Index("ix_recording_narrators_narrator", "narrator_id"),)

    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    narrator_id: Mapped[int] = mapped_column(ForeignKey("narrators.id", ondelete="CASCADE"), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)


class LibraryItem(Base):
    """One ABS library item (a folder or file on disk) holding one recording."""

    __tablename__ = "library_items"
    __table_args__ = (Index("ix_library_items_library", "library_id", "state"),
                      Index("ix_library_items_recording", "recording_id"))

    abs_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    library_id: Mapped[str] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(Text)
    ino: Mapped[str | None] = mapped_column(String(32))
    abs_updated_at: Mapped[int] = mapped_column(BigInteger)  # ms, as ABS reports it
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="present")
    title: Mapped[str | None] = mapped_column(Text)


class ListingRow(Base):
    """Scratch space for one sync's listing (unlogged): the diff against library_items runs in SQL,
    so a library of any size is compared without holding it in worker memory."""

    __tablename__ = "library_listing"
    __table_args__ = ({"prefixes": ["UNLOGGED"]},)

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    abs_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    is_missing: Mapped[bool] = mapped_column(Boolean)
    ino: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
