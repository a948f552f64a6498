"""The provider response cache, in PostgreSQL.

Why PostgreSQL and not the broker's Redis: the cache stands for outside calls already paid for
(Hardcover allows 5,000 a day), and Redis is transport that may be flushed or restarted at any
time. Entries are written in their own short transaction, so an answer stays cached even when the
job that asked for it later fails or is re-scheduled: its retry replays from here for free.

Keys are hashed (Hardcover keys are whole GraphQL documents); the key text is kept beside the hash
for operators. Keys never carry secrets (see ``providers/_http.py``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.models.metadata import ProviderCacheEntry


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, hit: bool) -> None:
        self.add(hits=int(hit), misses=int(not hit))

    def add(self, *, hits: int, misses: int) -> None:
        with self.lock:
            self.hits += hits
            self.misses += misses


class PgResponseCache:
    """:class:`workers.metadata.providers.base.ResponseCache` backed by the ``provider_cache`` table.

    ``bypass_reads`` (a forced refresh) skips lookups but still stores fresh answers, so a forced
    run refreshes the cache instead of ignoring it.
    """

    def __init__(self, *, bypass_reads: bool = False) -> None:
        self.bypass_reads = bypass_reads
        self.stats = CacheStats()

    def get(self, provider: str, key: str) -> bytes | None:
        if self.bypass_reads:
            return None
        with session_scope() as s:
            body = s.scalar(select(ProviderCacheEntry.body).where(
                ProviderCacheEntry.provider == provider, ProviderCacheEntry.key_hash == key_hash(key),
                ProviderCacheEntry.expires_at > func.now()))
        self.stats.count(body is not None)
        return bytes(body) if body is not None else None

    def put(self, provider: str, key: str, body: bytes, ttl: float) -> None:
        self.put_many(provider, {key: body}, ttl)

    def get_many(self, provider: str, keys: Collection[str]) -> dict[str, bytes]:
        """One query for a whole batch of per-item entries (Audible's 50 ASINs of one request)."""
        if self.bypass_reads or not keys:
            return {}
        by_hash = {key_hash(k): k for k in keys}
        with session_scope() as s:
            rows = s.execute(select(ProviderCacheEntry.key_hash, ProviderCacheEntry.body).where(
                ProviderCacheEntry.provider == provider, ProviderCacheEntry.key_hash.in_(list(by_hash)),
                ProviderCacheEntry.expires_at > func.now())).all()
        found = {by_hash[h]: bytes(body) for h, body in rows}
        self.stats.add(hits=len(found), misses=len(by_hash) - len(found))
        return found

    def put_many(self, provider: str, bodies: Mapping[str, bytes], ttl: float) -> None:
        """Upsert in one statement, rows in key-hash order: two workers storing overlapping batches
        (two jobs asked for the same ASIN) then lock the rows in the same order and cannot deadlock."""
        if not bodies:
            return
        expires = utcnow() + timedelta(seconds=ttl)
        rows = sorted(({"provider": provider, "key_hash": key_hash(k), "key": k, "body": b, "expires_at": expires}
                       for k, b in bodies.items()), key=lambda row: str(row["key_hash"]))
        stmt = insert(ProviderCacheEntry).values(rows)
        with session_scope() as s:
            s.execute(stmt.on_conflict_do_update(
                index_elements=["provider", "key_hash"],
                set_={"body": stmt.excluded.body, "expires_at": stmt.excluded.expires_at, "created_at": func.now()}))


def purge_expired(batch: int = 10_000) -> int:
    """Delete expired entries, a bounded batch per call so one purge never holds long locks."""
    table = ProviderCacheEntry
    doomed = select(table.provider, table.key_hash).where(table.expires_at <= func.now()).limit(batch)
    with session_scope() as s:
        result = s.execute(delete(table).where(tuple_(table.provider, table.key_hash).in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)
