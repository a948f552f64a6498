"""The metadata pool's tables: response cache, matches, field provenance, series listings, wanted, follows.

How they relate:
- ``provider_cache``: provider answers kept in PostgreSQL (not the broker's Redis: a Redis flush must
  not cost a day of Hardcover quota), keyed by provider + a hash of the request.
- ``metadata_matches``: one row per (recording, provider): which provider record the recording is,
  by which method (asin, asin_region, isbn, title_author_duration) and with what confidence. A match
  below the configured threshold is ``review`` (the review list) and is never applied.
- ``metadata_fields``: the merged value of each field of a recording, the source it came from, what
  every source said, and whether the value is verified (protected fields keep a verified value
  against weaker sources).
- ``metadata_series``: a *bibliographic* series, i.e. one cluster of everything that names the same
  series (Audible series ASINs per region, a Hardcover id, the library's series rows under any
  spelling); ``metadata_series_links`` maps library series to it and ``metadata_series_works`` says
  which owned works sit in it at which positions. ``provider_series`` / ``provider_series_entries``
  hold each provider's complete listing of it.
- ``metadata_owned_keys``: every key an owned work is known by (ASINs, Hardcover ids, title keys),
  so "is this listed book owned?" is one indexed lookup.
- ``wanted``: works the user does not own and wants, one row per work (business key ``key``), with
  every reason it is wanted; ``follows``: authors whose new (or all) books become wanted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.infra.db import Base
from shared.names import author_keys
from shared.normalize import fold_name
from shared.wanted.states import INITIAL, WantedState

MATCH_STATES = ("applied", "review", "rejected", "unmatched")


def wanted_key(title: str, authors: list[str] | tuple[str, ...]) -> str:
    """The business key of a wanted work: folded title + sorted author keys (like ``works.key``).

    The same book wanted as a series gap, by a followed author and on the wishlist is one row.
    """
    keys = sorted(author_keys(authors))
    return "\x1f".join([fold_name(title), *keys])


class ProviderCacheEntry(Base):
    """One provider answer (status line + body) until ``expires_at``."""

    __tablename__ = "provider_cache"
    __table_args__ = (Index("ix_provider_cache_expires", "expires_at"),)

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the request key
    key: Mapped[str] = mapped_column(Text)  # the request (never carries a secret: see providers/_http.py)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecordingMatch(Base):
    """Which record of ``provider`` a library recording is, how we know, and how sure we are."""

    __tablename__ = "metadata_matches"
    __table_args__ = (
        Index("ix_metadata_matches_state", "state", "confidence"),
        Index("ix_metadata_matches_checked", "checked_at"),
        Index("ix_metadata_matches_provider_id", "provider", "provider_id"),
    )

    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(String(16))
    record: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the provider's record, normalized
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # score parts, runner-up
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FieldProvenance(Base):
    """The merged value of one field of one recording, and which source said what."""

    __tablename__ = "metadata_fields"

    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    source: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    observations: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # source -> value
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MetadataSeries(Base):
    """A bibliographic series: one cluster of provider series ids and library series spellings."""

    __tablename__ = "metadata_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True)  # the cluster's anchor node, e.g. "audible:us:B0..."
    name: Mapped[str] = mapped_column(Text)
    author_keys: Mapped[list[str]] = mapped_column(JSONB, default=list)
    authors: Mapped[list[str]] = mapped_column(JSONB, default=list)
    audible_asins: Mapped[list[str]] = mapped_column(JSONB, default=list)  # primary-region series ASINs
    hardcover_ids: Mapped[list[int]] = mapped_column(JSONB, default=list)
    nodes: Mapped[list[str]] = mapped_column(JSONB, default=list)  # every identity the cluster joined
    language: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # owned/missing positions with sources
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MetadataSeriesLink(Base):
    """A library series (as ABS spells it) and the bibliographic series its books belong to.

    Usually one; several when ABS merged same-named series of different authors into one row.
    """

    __tablename__ = "metadata_series_links"
    __table_args__ = (Index("ix_metadata_series_links_mseries", "metadata_series_id"),)

    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    metadata_series_id: Mapped[int] = mapped_column(ForeignKey("metadata_series.id", ondelete="CASCADE"),
                                                    primary_key=True)


class MetadataSeriesWork(Base):
    """An owned work's place in a bibliographic series, with every source that placed it there."""

    __tablename__ = "metadata_series_works"
    __table_args__ = (Index("ix_metadata_series_works_work", "work_id"),)

    metadata_series_id: Mapped[int] = mapped_column(ForeignKey("metadata_series.id", ondelete="CASCADE"),
                                                    primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    positions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # source -> position text


class OwnedKey(Base):
    """What identifies an owned work, rebuilt by each gap scan: its ASINs (every marketplace), Hardcover
    ids and title keys (with its authors). Answers "is this listed book owned?" with one indexed query
    instead of re-reading the library for every series."""

    __tablename__ = "metadata_owned_keys"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # asin | hardcover | title | work
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    author_keys: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)


class ProviderSeries(Base):
    """One provider's listing of a bibliographic series (Audible series ASIN, Hardcover series id)."""

    __tablename__ = "provider_series"
    __table_args__ = (UniqueConstraint("metadata_series_id", "provider", "provider_series_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metadata_series_id: Mapped[int] = mapped_column(ForeignKey("metadata_series.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    provider_series_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProviderSeriesEntry(Base):
    """One member of a provider's series listing, as that provider states it."""

    __tablename__ = "provider_series_entries"

    provider_series_id: Mapped[int] = mapped_column(ForeignKey("provider_series.id", ondelete="CASCADE"),
                                                    primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # ASIN or Hardcover book id
    position: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSONB, default=list)
    asin: Mapped[str | None] = mapped_column(String(32))
    release_date: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str | None] = mapped_column(String(16))
    abridged: Mapped[bool | None] = mapped_column(Boolean)
    # the recording's runtime and narrators, when the provider described it: a gap's wanted entry
    # carries them, so its import can check the download's duration and the choice its narrator
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    narrators: Mapped[list[str] | None] = mapped_column(JSONB)


class Wanted(Base):
    """A work the library lacks and the user wants, with why, where it sits, and how far it got."""

    __tablename__ = "wanted"
    __table_args__ = (
        Index("ix_wanted_order", "priority", "id"),
        Index("ix_wanted_state", "state"),
        Index("ix_wanted_mseries", "metadata_series_id"),
        Index("ix_wanted_series", "series_id"),
        Index("ix_wanted_asin", "asin"),
        Index("ix_wanted_next_search", "state", "next_search_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True)  # wanted_key(title, authors), or "asin:X" until resolved
    reason: Mapped[str] = mapped_column(String(32))  # the first reason it became wanted
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # stored as the plain string (VARCHAR, no database enum): a new state is a code change, not a migration
    state: Mapped[WantedState] = mapped_column(
        Enum(WantedState, native_enum=False, create_constraint=False, length=16,
             values_callable=lambda e: [m.value for m in e]), default=INITIAL)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    priority_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSONB, default=list)
    author_keys: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    metadata_series_id: Mapped[int | None] = mapped_column(ForeignKey("metadata_series.id", ondelete="SET NULL"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    series_name: Mapped[str | None] = mapped_column(Text)
    position: Mapped[str | None] = mapped_column(String(32))
    sort_key: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    asin: Mapped[str | None] = mapped_column(String(32))
    release_date: Mapped[str | None] = mapped_column(String(10))
    follow_id: Mapped[int | None] = mapped_column(ForeignKey("follows.id", ondelete="SET NULL"))
    sources: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # provider -> what it said
    # what resolution learnt: the size plausibility and narrator checks of a search use them
    runtime_seconds: Mapped[float | None] = mapped_column(Float)
    narrators: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    # the crawl pool's pacing: when it last looked, how often it found nothing, when to look again
    last_searched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_search_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_misses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chosen_torrent_id: Mapped[int | None] = mapped_column(BigInteger)
    last_search_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WantedAlias(Base):
    """An entry merged into another by resolution: its old id keeps answering (the surviving entry)."""

    __tablename__ = "wanted_aliases"

    old_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wanted_id: Mapped[int] = mapped_column(ForeignKey("wanted.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Follow(Base):
    """An author whose books become wanted: ``all`` of them, or ``future`` ones (released after ``since``)."""

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    author_key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
