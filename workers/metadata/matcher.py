"""The three match stages, one provider each, so a provider that is down fails only its own jobs.

1. Audible (``metadata.match``), primary marketplace: ASINs in batches of 50; the rest by title +
   author search scored with duration, narrators and language (an ISBN on the candidate upgrades
   it). An ASIN this marketplace does not sell is searched for too, and handed to stage 2 if the
   search is not conclusive; an unmatched recording with an ISBN is handed to stage 3.
2. Audnexus (``metadata.match_region``): the ASIN in the other configured marketplaces.
3. Hardcover (``metadata.match_isbn``): the book having an edition with that ISBN.
Each stage returns rows for ``metadata_matches``; nothing here writes to the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.infra.errors import NotFound
from shared.names import natural_name, title_query
from workers.metadata.match import Decision, choose, identifier_confidence, isbn13
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.audnexus import AudnexusClient
from workers.metadata.providers.hardcover import HardcoverClient
from workers.metadata.recordings import LibraryRecording
from workers.metadata.records import book_to_json

SEARCH_RESULTS = 20


@dataclass(frozen=True)
class MatchRow:
    recording_id: int
    provider: str
    provider_id: str | None
    region: str | None
    method: str
    confidence: float
    state: str
    record: dict[str, Any] | None
    details: dict[str, Any]

    def values(self) -> dict[str, Any]:
        return {"recording_id": self.recording_id, "provider": self.provider, "provider_id": self.provider_id,
                "region": self.region, "method": self.method, "confidence": self.confidence, "state": self.state,
                "record": self.record, "details": self.details}


def to_row(rec: LibraryRecording, provider: str, decision: Decision, threshold: float,
           region: str | None = None, notes: list[str] | None = None, needs: list[str] | None = None) -> MatchRow:
    details: dict[str, Any] = {"notes": [*decision.notes, *(notes or [])]}
    if needs:
        details["needs"] = needs  # the later stages (providers) this recording is handed to
    if decision.score is not None:
        details["score"] = decision.score.parts()
    if decision.runner_up is not None:
        details["runner_up"] = decision.runner_up
    if decision.book is None:
        return MatchRow(rec.recording_id, provider, None, region, "none", 0.0, "unmatched", None, details)
    state = "applied" if decision.confidence >= threshold else "review"
    return MatchRow(rec.recording_id, provider, decision.book.source_id, region or decision.book.region,
                    decision.method, decision.confidence, state, book_to_json(decision.book), details)


@dataclass
class AudibleOutcome:
    rows: list[MatchRow] = field(default_factory=list)
    other_region: list[int] = field(default_factory=list)  # ASINs this marketplace does not sell
    # for Hardcover: unmatched with an ISBN, or matched to a product Audible links to no series
    for_hardcover: list[int] = field(default_factory=list)


def search_audible(rec: LibraryRecording, audible: AudibleClient, threshold: float) -> Decision:
    """Title (without series prefix or subtitle) + first author; without the author if that finds nothing."""
    query = title_query(rec.title)
    author = natural_name(rec.authors[0]) if rec.authors else None
    page = audible.search(title=query, author=author, num_results=SEARCH_RESULTS)
    books = list(page.books)
    if not books and author:
        books = list(audible.search(title=query, num_results=SEARCH_RESULTS).books)
    return choose(rec, books, threshold=threshold)


def match_on_audible(recs: list[LibraryRecording], audible: AudibleClient, threshold: float) -> AudibleOutcome:
    out = AudibleOutcome()
    asins = [r.asin for r in recs if r.asin]
    products = {b.source_id: b for b in audible.products(asins)} if asins else {}
    for rec in recs:
        notes = []
        if rec.asin and rec.asin in products:
            book = products[rec.asin]
            decision = Decision(book, "asin", identifier_confidence(rec, book))
        else:
            decision = search_audible(rec, audible, threshold)
            if rec.asin:
                notes.append(f"ASIN {rec.asin} is not sold in marketplace {audible.region}")
                if decision.confidence < threshold:
                    out.other_region.append(rec.recording_id)
        needs = ["audnexus"] if rec.recording_id in out.other_region else []
        matched = decision.book is not None and decision.confidence >= threshold
        if (matched and decision.book is not None and not decision.book.series) or (not matched and rec.isbn):
            out.for_hardcover.append(rec.recording_id)
            needs.append("hardcover")
        out.rows.append(to_row(rec, "audible", decision, threshold, notes=notes, needs=needs))
    return out


def match_on_audnexus(recs: list[LibraryRecording], audnexus: AudnexusClient, regions: list[str],
                      threshold: float) -> list[MatchRow]:
    rows = []
    for rec in recs:
        if not rec.asin:
            continue
        tried = []
        for region in regions:
            tried.append(region)
            try:
                book = audnexus.book(rec.asin, region)
            except NotFound:  # an answer, not a failure: this marketplace does not have it (or nobody does)
                continue
            decision = Decision(book, "asin_region", identifier_confidence(rec, book))
            rows.append(to_row(rec, "audnexus", decision, threshold, region=region))
            break
        else:
            rows.append(to_row(rec, "audnexus", Decision(None, "none", None), threshold,
                               notes=[f"ASIN {rec.asin} unknown in marketplaces {', '.join(tried)}"]))
    return rows


def match_on_hardcover(recs: list[LibraryRecording], hardcover: HardcoverClient, threshold: float,
                       matched_asins: dict[int, str]) -> list[MatchRow]:
    """Hardcover's book for each recording, by ISBN, else by ASIN (editions map every marketplace's)."""
    rows = []
    for rec in recs:
        idents = [("isbn", isbn13(rec.isbn) or (rec.isbn or "").strip()),
                  ("asin", matched_asins.get(rec.recording_id) or ""), ("asin", rec.asin or "")]
        decision, tried = Decision(None, "none", None), []
        for method, ident in idents:
            if not ident or ident in tried:
                continue
            tried.append(ident)
            scored = sorted(((identifier_confidence(rec, b), b) for b in hardcover.books_by_identifier(ident)),
                            key=lambda sb: (-sb[0].confidence, sb[1].source_id))
            if scored:
                decision = Decision(scored[0][1], method, scored[0][0])
                break
        notes = [] if decision.book else [f"no Hardcover edition has {' or '.join(tried) or 'an identifier'}"]
        rows.append(to_row(rec, "hardcover", decision, threshold, notes=notes))
    return rows
