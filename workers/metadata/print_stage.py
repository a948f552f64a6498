"""Stage 4 (``metadata.match_print``): print catalogues fill what the audio sources left empty.

Google Books, Open Library and iTunes know no ASINs or series, so they never decide a recording's
identity; what they add is evidence for the fields Audible, Audnexus and Hardcover left empty on a
recording's merged metadata: the ISBN and the release date. They rank below every other source in
the merge precedence (``shared.infra.settings``), so they fill and never overwrite.

A recording with an ISBN is looked up by it (an identifier match); one without is searched by title
and first author and scored like any candidate. Print records carry no runtime, so most of those
land in review rather than in the merge: a wrong ISBN is worse than none. iTunes, an audiobook
store, names narrators and can reach the threshold.

Each provider is its own try, behind its own global rate limit and the response cache: one that is
down is noted and the others still answer. The job then fails transiently naming it (the Audible
stage, another job, is untouched), and its retry replays the answered calls from the cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.infra.db import session_scope
from shared.infra.errors import NotFound, PermanentError, RateLimited, TransientError, UpstreamUnavailable
from shared.infra.settings import get_settings
from shared.metadata.jobs import MetadataMatchArgs
from shared.models.metadata import FieldProvenance, RecordingMatch
from shared.names import natural_name, title_query
from workers.context import JobContext
from workers.metadata.clients import Clients
from workers.metadata.match import Decision, choose, identifier_confidence, isbn13
from workers.metadata.matcher import MatchRow, to_row
from workers.metadata.matches import store_matches
from workers.metadata.merge import merge_and_store
from workers.metadata.providers.base import ProviderBook
from workers.metadata.providers.googlebooks import GoogleBooksClient
from workers.metadata.providers.itunes import ITunesClient
from workers.metadata.providers.openlibrary import OpenLibraryClient
from workers.metadata.recordings import LibraryRecording, load_recordings

#: Merged fields this stage exists to fill.
FILLS = ("isbn", "release_date")
PRINT_PROVIDERS = ("googlebooks", "openlibrary", "itunes")


PrintClient = GoogleBooksClient | OpenLibraryClient | ITunesClient


@dataclass
class PrintOutcome:
    rows: list[MatchRow] = field(default_factory=list)
    down: dict[str, str] = field(default_factory=dict)  # provider -> why (transient: worth a retry)
    refused: dict[str, str] = field(default_factory=dict)  # provider -> why (permanent: a key, a bad query)


def _candidates(client: PrintClient, rec: LibraryRecording) -> tuple[str, list[ProviderBook]]:
    """``(method, books)``: by ISBN where the catalogue has ISBN lookups, else by title and author."""
    isbn = isbn13(rec.isbn) or (rec.isbn or "").strip()
    if isbn and not isinstance(client, ITunesClient):
        try:
            return "isbn", [client.by_isbn(isbn)]
        except NotFound:
            pass  # an answer: this catalogue lacks the edition; its title search may still find the book
    title = title_query(rec.title)
    author = natural_name(rec.authors[0]) if rec.authors else None
    if isinstance(client, ITunesClient):
        return "search", client.search(f"{title} {author or ''}".strip())
    return "search", client.search(title, author)


def decide(client: PrintClient, rec: LibraryRecording, threshold: float) -> Decision:
    method, books = _candidates(client, rec)
    if method == "isbn":
        return Decision(books[0], "isbn", identifier_confidence(rec, books[0]))
    return choose(rec, books, threshold=threshold)


def _fills(book: ProviderBook) -> set[str]:
    return {f for f, v in (("isbn", book.isbn), ("release_date", book.release_date)) if v}


def match_in_print(recs: list[LibraryRecording], missing: Mapping[int, set[str]],
                   clients: Mapping[str, PrintClient], threshold: float) -> PrintOutcome:
    """Rows for ``metadata_matches``, asking each catalogue in turn until a recording's gaps are filled."""
    out = PrintOutcome()
    for rec in recs:
        need = set(missing.get(rec.recording_id, ()))
        for provider, client in clients.items():
            if not need:
                break
            if provider in out.down or provider in out.refused:
                continue
            try:
                decision = decide(client, rec, threshold)
            except RateLimited:
                raise  # not a failure: the engine re-schedules the job for the next slot
            except TransientError as exc:
                out.down[provider] = str(exc)
                continue
            except PermanentError as exc:  # a refused key or query: every later request would fail too
                out.refused[provider] = str(exc)
                continue
            row = to_row(rec, provider, decision, threshold)
            out.rows.append(row)
            if row.state == "applied" and decision.book is not None:
                need -= _fills(decision.book)
    return out


def missing_fields(session: Session, ids: list[int]) -> dict[int, set[str]]:
    """For each recording, the :data:`FILLS` its merged metadata has no value for."""
    have: dict[int, set[str]] = {}
    rows = session.execute(select(FieldProvenance.recording_id, FieldProvenance.field, FieldProvenance.value)
                           .where(FieldProvenance.recording_id.in_(ids), FieldProvenance.field.in_(FILLS)))
    for rid, name, value in rows:
        if value not in (None, ""):
            have.setdefault(rid, set()).add(name)
    return {rid: missing for rid in ids if (missing := set(FILLS) - have.get(rid, set()))}


def print_candidates(session: Session, since: datetime | None) -> list[int]:
    """Recordings the Audible stage checked since ``since`` whose merged ISBN or release date is empty."""
    query = select(RecordingMatch.recording_id).where(RecordingMatch.provider == "audible")
    if since is not None:
        query = query.where(RecordingMatch.checked_at >= since)
    ids = sorted(set(session.scalars(query)))
    return sorted(missing_fields(session, ids)) if ids else []


def metadata_match_print(ctx: JobContext[MetadataMatchArgs]) -> dict[str, Any]:
    args = ctx.args
    settings = get_settings()
    ids = list(args.recording_ids)
    with session_scope() as s:
        recs = load_recordings(s, ids)
        missing = missing_fields(s, ids)
    clients = Clients(ctx, force=args.force).print_clients(settings.metadata_print_providers)
    outcome = match_in_print(recs, missing, clients, settings.metadata_confidence_threshold)
    with session_scope() as s:
        store_matches(s, outcome.rows)
        writeback = len(merge_and_store(s, recs, settings))
    if outcome.down:
        # What did answer is stored; the retry asks the providers that were down (the cache replays
        # the others for free). Transient by class, so the pool's retry policy applies.
        raise UpstreamUnavailable("print catalogues down: " + "; ".join(f"{p}: {e}" for p, e in outcome.down.items()))
    applied = sum(1 for r in outcome.rows if r.state == "applied")
    return {"recordings": len(recs), "missing": len(missing), "applied": applied, "rows": len(outcome.rows),
            "refused": outcome.refused, "writeback": writeback}
