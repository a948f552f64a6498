"""How sure we are that a MAM row *is* the wanted book: title, authors, series position, narrator,
and whether its size and duration fit the runtime.

    confidence = 0.45 title + 0.25 authors + 0.15 series + 0.10 plausibility + 0.05 narrator

An unknown component (the row names no author, no series, the runtime is unknown) counts 0.5: half
evidence, never agreement. A title or an author that disagrees caps the confidence at 0.3, so no
weight elsewhere can pull a wrong book over the line; those rows are also rejected outright
(:mod:`.rejections`), the cap only keeps the number honest.

Titles are compared by *words*, not by a single fuzzy ratio, because the traps are word-shaped: a
short common-word title ("It", "Dune") is contained in longer ones ("It Ends with Us", "Dune
Messiah"), and sequels share words ("Leviathan Wakes" / "Leviathan Falls" are 80 % alike as
strings). So: equal keys match; the same number of words each nearly equal ("Colour"/"Color")
match fuzzily; the wanted words inside a longer title are a *longer title*, a different book.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from shared.crawl.choice.edition import EditionTraits
from shared.crawl.choice.profile import QualityProfile
from shared.crawl.choice.target import Target
from shared.crawl.choice.text import series_names_agree, title_forms
from shared.crawl.torrent import MamTorrent
from shared.names import names_agree, similarity
from shared.normalize import split_series_title_hint
from shared.positions import SeriesPosition

__all__ = ["MatchConfidence", "Plausibility", "SeriesVerdict", "TitleVerdict", "compare_titles",
           "match_torrent", "series_verdict"]

NEUTRAL = 0.5
WEIGHTS = {"title": 0.45, "authors": 0.25, "series": 0.15, "plausibility": 0.10, "narrator": 0.05}
DISAGREEMENT_CAP = 0.3
_WORD_LIKENESS = 0.8  # "colour"/"color" 0.91, "wakes"/"falls" 0.4
_FUZZY_FLOOR = 0.88


class TitleVerdict(StrEnum):
    EXACT = "exact"
    SUBTITLE = "subtitle"  # equal up to a subtitle on one side ("Dune: Book One of the Dune Chronicles")
    FUZZY = "fuzzy"  # the same words up to small spelling differences
    LONGER = "longer"  # the wanted words inside a longer title: another book
    DIFFERENT = "different"


class SeriesVerdict(StrEnum):
    SAME = "same"  # the wanted series at the wanted position
    UNKNOWN = "unknown"  # the row names no matching series, or no position
    SERIES_ONLY = "series_only"  # the wanted series, position not comparable (the target has none)
    OTHER_POSITION = "other_position"
    NOVELLA = "novella"  # "2.5" beside a wanted "2"
    OMNIBUS = "omnibus"  # a range or several volumes including the wanted one ("1-3" when 2 is wanted)


class Plausibility(StrEnum):
    PLAUSIBLE = "plausible"
    UNKNOWN = "unknown"
    IMPLAUSIBLE_SIZE = "implausible_size"
    IMPLAUSIBLE_DURATION = "implausible_duration"


@dataclass(frozen=True, slots=True)
class MatchConfidence:
    confidence: float
    title: float
    title_verdict: TitleVerdict
    authors: float | None
    series: float | None
    series_verdict: SeriesVerdict
    series_evidence: str | None
    narrator: float | None
    plausibility: float | None
    plausibility_verdict: Plausibility
    implied_kbps: float | None
    duration_seconds: float | None
    collection_contains: bool = False  # a collection that holds the wanted book (title or volumes say so)

    def parts(self) -> dict[str, object]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {"confidence": r(self.confidence), "title": r(self.title), "title_verdict": str(self.title_verdict),
                "authors": r(self.authors), "series": r(self.series), "series_verdict": str(self.series_verdict),
                "narrator": r(self.narrator), "plausibility": r(self.plausibility),
                "plausibility_verdict": str(self.plausibility_verdict), "implied_kbps": r(self.implied_kbps),
                "collection_contains": self.collection_contains}


def _words_alike(wanted: list[str], offered: list[str]) -> float | None:
    """The likeness of two equally long word lists whose words pair up nearly equal, else None."""
    if len(wanted) != len(offered) or not wanted:
        return None
    if any(similarity(a, b) < _WORD_LIKENESS for a, b in zip(wanted, offered, strict=True)):
        return None
    return similarity(" ".join(wanted), " ".join(offered))


def _contains(inner: list[str], outer: list[str]) -> bool:
    """``inner``'s words appear in ``outer`` in order (not necessarily adjacent), and outer is longer."""
    if len(outer) <= len(inner):
        return False
    it = iter(outer)
    return all(word in it for word in inner)


def compare_titles(wanted: str, offered: str, prefixes: tuple[str, ...] = ()) -> tuple[TitleVerdict, float]:
    """How the offered title relates to the wanted one, and a 0..1 likeness. ``prefixes`` are names
    (series, authors) that may stand in front of either title and are not part of it."""
    w_full, w_short = title_forms(wanted, prefixes)
    o_full, o_short = title_forms(offered, prefixes)
    if w_full & o_full:
        return TitleVerdict.EXACT, 1.0
    if w_full & o_short or w_short & o_full:
        return TitleVerdict.SUBTITLE, 0.92
    best = 0.0
    for a in w_full:
        for b in o_full | o_short:
            if a.replace(" ", "") == b.replace(" ", ""):  # "Spider Man" / "Spiderman"
                return TitleVerdict.FUZZY, 0.97
            alike = _words_alike(a.split(), b.split())
            if alike is not None and alike >= _FUZZY_FLOOR:
                best = max(best, alike)
    if best:
        return TitleVerdict.FUZZY, round(min(best, 0.97), 3)
    if any(_contains(a.split(), b.split()) for a in w_full for b in o_full):
        return TitleVerdict.LONGER, 0.2
    likeness = max((similarity(a, b) for a in w_full for b in o_full), default=0.0)
    return TitleVerdict.DIFFERENT, round(min(likeness, 0.6) * 0.5, 3)


def _position_verdict(wanted: SeriesPosition, offered: tuple[SeriesPosition, ...]) -> SeriesVerdict:
    if len(offered) == 1 and offered[0].canonical == wanted.canonical:
        return SeriesVerdict.SAME
    several = len(offered) > 1 or offered[0].is_range
    covered: set[str] = set()
    for p in offered:
        covered |= p.covers()
    if several and wanted.covers() <= covered:
        return SeriesVerdict.OMNIBUS  # several volumes, the wanted one(s) among them
    if len(offered) == 1 and offered[0].is_fractional and not wanted.is_fractional and not wanted.is_range:
        if offered[0].start.to_integral_value(rounding="ROUND_FLOOR") == wanted.start:
            return SeriesVerdict.NOVELLA
    return SeriesVerdict.OTHER_POSITION


def series_verdict(target: Target, torrent: MamTorrent) -> tuple[SeriesVerdict, str | None]:
    """The row's place in the wanted series, from ``series_info``, else from a title like "Series 3 - Title"."""
    if not target.series_name:
        return SeriesVerdict.UNKNOWN, None
    named: list[tuple[str, tuple[SeriesPosition, ...], str]] = [
        (s.name, s.positions, f"series_info {s.name} {s.volume_text!r}") for s in torrent.series
    ]
    hint = split_series_title_hint(torrent.title)
    if hint is not None:
        position = SeriesPosition.parse(hint[1])
        named.append((hint[0], (position,) if position else (), f"title says {hint[0]} {hint[1]}"))
    verdicts: list[tuple[SeriesVerdict, str]] = []
    for name, positions, evidence in named:
        if not series_names_agree(name, target.series_name):
            continue
        if target.position is None or not positions:
            verdicts.append((SeriesVerdict.SERIES_ONLY, evidence))
        else:
            verdicts.append((_position_verdict(target.position, positions), evidence))
    if not verdicts:
        return SeriesVerdict.UNKNOWN, None
    order = [SeriesVerdict.SAME, SeriesVerdict.OMNIBUS, SeriesVerdict.NOVELLA, SeriesVerdict.OTHER_POSITION,
             SeriesVerdict.SERIES_ONLY]
    verdicts.sort(key=lambda v: order.index(v[0]))
    decisive = [v for v in verdicts if v[0] != SeriesVerdict.SERIES_ONLY]
    return (decisive or verdicts)[0]


_SERIES_SCORE = {SeriesVerdict.SAME: 1.0, SeriesVerdict.SERIES_ONLY: 0.75, SeriesVerdict.OMNIBUS: 0.5,
                 SeriesVerdict.NOVELLA: 0.0, SeriesVerdict.OTHER_POSITION: 0.0}


def _plausibility(target: Target, torrent: MamTorrent, edition: EditionTraits,
                  profile: QualityProfile) -> tuple[Plausibility, float | None, float | None]:
    """Size and mediaInfo duration against the expected runtime. A collection's size is several
    books' worth, so it is only judged when the wanted entry is itself a collection."""
    runtime = target.runtime_seconds
    if not runtime or runtime <= 0 or (edition.collection and not target.is_collection):
        return Plausibility.UNKNOWN, None, None
    if torrent.duration_seconds:
        off = abs(torrent.duration_seconds - runtime)
        if off > max(profile.duration_tolerance * runtime, 600.0):
            return Plausibility.IMPLAUSIBLE_DURATION, 0.0, None
    if torrent.size_bytes is None:
        if torrent.duration_seconds:
            return Plausibility.PLAUSIBLE, 1.0, None
        return Plausibility.UNKNOWN, None, None
    kbps = torrent.size_bytes * 8 / runtime / 1000
    low, high = profile.plausible_kbps
    if not low <= kbps <= high:
        return Plausibility.IMPLAUSIBLE_SIZE, 0.0, kbps
    # Typical audiobook encodings sit between 32 and 320 kbps; the edges are possible, less likely.
    return Plausibility.PLAUSIBLE, 1.0 if 32 <= kbps <= 320 else 0.7, kbps


def match_torrent(target: Target, torrent: MamTorrent, edition: EditionTraits,
                  profile: QualityProfile) -> MatchConfidence:
    # Uploaders put the series or the author in front of the title ("Discworld 01 - ...", "Terry
    # Pratchett - ..."): both are prefixes to strip, never words of the title.
    prefixes = tuple(n for n in (target.series_name, *(s.name for s in torrent.series), *target.authors,
                                 *torrent.authors) if n)
    verdict, title = compare_titles(target.title, torrent.title, prefixes)
    authors = names_agree(target.authors, torrent.authors) if target.authors else None
    if authors is not None and authors < 0.85:
        authors = 0.0  # not a typo of the same person: another author
    s_verdict, s_evidence = series_verdict(target, torrent)
    series = _SERIES_SCORE.get(s_verdict)
    narrator = names_agree(target.narrators, torrent.narrators) if target.narrators else None
    if narrator is not None:
        narrator = 1.0 if narrator >= 0.85 else 0.0
    p_verdict, plausibility, kbps = _plausibility(target, torrent, edition, profile)
    # A collection holding the wanted book has another title by nature ("Leviathan Wakes / Caliban's
    # War / ..."): its words, or its series volumes, containing the wanted book is the match.
    contains = edition.collection and not target.is_collection and (
        s_verdict == SeriesVerdict.OMNIBUS or verdict == TitleVerdict.LONGER)
    if contains:
        title = max(title, 0.75)
    parts = {"title": title, "authors": authors, "series": series, "plausibility": plausibility,
             "narrator": narrator}
    value = sum(WEIGHTS[k] * (NEUTRAL if v is None else v) for k, v in parts.items())
    if (verdict in (TitleVerdict.LONGER, TitleVerdict.DIFFERENT) and not contains) or authors == 0.0:
        value = min(value, DISAGREEMENT_CAP)
    return MatchConfidence(
        confidence=round(value, 4), title=title, title_verdict=verdict, authors=authors, series=series,
        series_verdict=s_verdict, series_evidence=s_evidence, narrator=narrator, plausibility=plausibility,
        plausibility_verdict=p_verdict, implied_kbps=None if kbps is None or math.isnan(kbps) else kbps,
        duration_seconds=torrent.duration_seconds, collection_contains=contains,
    )
