"""How sure we are that a provider record *is* a library recording: identity, then a scored check.

Order of evidence (strongest first): the ASIN, then the ISBN, then title + author + duration.
Duration alone is not identity (Audiobookshelf's matcher sorts by it and grabs the wrong book);
title alone is not a *recording* (an abridged or foreign edition has the same title). So:

    confidence = 0.40 title + 0.20 author + 0.30 duration + 0.10 narrator
                 × 0.3 when the languages differ  × 0.6 when only the candidate is abridged
    capped at 0.40 when the titles are unalike, at 0.50 when no author agrees.

An ASIN or ISBN match starts from certainty and is only lowered when the record contradicts the
files (another title *and* another runtime: the tag points at another book). Unknown duration or
narrators count as half-evidence, never as agreement. Below the threshold a match goes to the
review list and is not applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.names import TitleForms, author_keys, authors_agree, title_forms
from workers.metadata.providers._normalize import normalize_language
from workers.metadata.providers.base import ProviderBook
from workers.metadata.recordings import LibraryRecording

NEUTRAL = 0.5


@dataclass(frozen=True, slots=True)
class Score:
    confidence: float
    title: float
    author: float
    duration: float | None
    narrator: float | None
    language_ok: bool
    abridged_ok: bool

    def parts(self) -> dict[str, Any]:
        return {"title": round(self.title, 3), "author": round(self.author, 3),
                "duration": None if self.duration is None else round(self.duration, 3),
                "narrator": self.narrator, "language_ok": self.language_ok, "abridged_ok": self.abridged_ok}


def duration_score(ours: float | None, theirs: float | None) -> float | None:
    """1.0 within 2 minutes (runtimes are rounded to the minute), 0.0 beyond max(10 min, 3 %)."""
    if not ours or not theirs:
        return None
    diff = abs(ours - theirs)
    if diff <= 120:
        return 1.0
    limit = max(600.0, 0.03 * max(ours, theirs))
    return max(0.0, 1.0 - (diff - 120) / (limit - 120))


def candidate_titles(book: ProviderBook) -> TitleForms:
    forms = title_forms(book.title)
    return forms | title_forms(f"{book.title}: {book.subtitle}") if book.subtitle else forms


def score(rec: LibraryRecording, book: ProviderBook) -> Score:
    title = title_forms(rec.title).similarity(candidate_titles(book))
    author = authors_agree(author_keys(rec.authors), author_keys(book.authors))
    duration = duration_score(rec.duration_seconds, book.duration_seconds)
    narrator: float | None = None
    if rec.narrators and book.narrators:
        narrator = authors_agree(author_keys(rec.narrators), author_keys(book.narrators))
        narrator = 1.0 if narrator >= 0.9 else 0.0
    ours_lang, their_lang = normalize_language(rec.language), normalize_language(book.language)
    language_ok = ours_lang is None or their_lang is None or ours_lang == their_lang
    abridged_ok = not (book.abridged is True and not rec.abridged)
    value = (0.40 * title + 0.20 * author + 0.30 * (NEUTRAL if duration is None else duration)
             + 0.10 * (NEUTRAL if narrator is None else narrator))
    if not language_ok:
        value *= 0.3
    if not abridged_ok:
        value *= 0.6
    if title < 0.75:
        value = min(value, 0.40)
    if author < 0.6:
        value = min(value, 0.50)
    return Score(round(value, 4), title, author, duration, narrator, language_ok, abridged_ok)


def identifier_confidence(rec: LibraryRecording, book: ProviderBook) -> Score:
    """An ASIN/ISBN hit: certain unless title and runtime both disagree with the files."""
    base = score(rec, book)
    contradicted = base.title < 0.6 and (base.duration is not None and base.duration < 0.3)
    wrong_edition = not base.language_ok or not base.abridged_ok or (base.duration is not None and base.duration == 0)
    confidence = 0.5 if contradicted else 0.75 if wrong_edition else 1.0
    return Score(confidence, base.title, base.author, base.duration, base.narrator, base.language_ok,
                 base.abridged_ok)


def same_isbn(ours: str | None, theirs: str | None) -> bool:
    a, b = isbn13(ours), isbn13(theirs)
    return a is not None and a == b


def isbn13(value: str | None) -> str | None:
    """ISBN-13 digits of an ISBN-10 or ISBN-13 (libraries keep both spellings)."""
    if not value:
        return None
    digits = "".join(ch for ch in value if ch.isdigit() or ch in "xX").upper()
    if len(digits) == 13:
        return digits
    if len(digits) == 10:
        body = "978" + digits[:9]
        check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
        return body + str(check)
    return None


@dataclass(frozen=True)
class Decision:
    """The chosen record (or none), how it was found, and what came close."""

    book: ProviderBook | None
    method: str
    score: Score | None
    runner_up: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return self.score.confidence if self.score else 0.0


def choose(rec: LibraryRecording, candidates: list[ProviderBook], *, threshold: float) -> Decision:
    """Best-scoring candidate; an ISBN hit upgrades it; two different books too close to call → review."""
    scored: list[tuple[Score, str, ProviderBook]] = []
    for book in candidates:
        if rec.isbn and same_isbn(rec.isbn, book.isbn):
            scored.append((identifier_confidence(rec, book), "isbn", book))
        else:
            scored.append((score(rec, book), "title_author_duration", book))
    if not scored:
        return Decision(None, "none", None, notes=["no candidates"])
    scored.sort(key=lambda s: (-s[0].confidence, s[2].source_id))
    best, method, book = scored[0]
    runner = next((s for s in scored[1:] if s[2].source_id != book.source_id), None)
    runner_up = None
    if runner is not None:
        runner_up = {"source_id": runner[2].source_id, "title": runner[2].title, "confidence": runner[0].confidence}
        close = best.confidence - runner[0].confidence < 0.05
        different = not candidate_titles(runner[2]).overlaps(candidate_titles(book))
        if close and different and runner[0].confidence >= threshold:
            capped = Score(min(best.confidence, threshold - 0.01), best.title, best.author, best.duration,
                           best.narrator, best.language_ok, best.abridged_ok)
            return Decision(book, method, capped, runner_up, ["ambiguous: two different books score alike"])
    return Decision(book, method, best, runner_up)
