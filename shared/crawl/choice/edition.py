"""What a MAM row says about its *edition*: format, bitrate, abridged, dramatised, collection, language.

Uploaders write these facts in ``tags`` and in the title, not in fields ("Unabridged, 64kbps",
"GraphicAudio", "[Dramatized]", "Books 1-3"), so they are read here once, with the evidence kept
for the reason a person reads. Words that are part of the *wanted* title are not evidence: a novel
called "The Collection" is not a collection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.crawl.torrent import MainCategory, MamTorrent

__all__ = ["AUDIOBOOK_CATEGORIES", "EBOOK_FILETYPES", "EditionTraits", "language_key", "read_edition"]

#: MAM's audiobook sub-categories (``category``); e-book ones live in another id range.
AUDIOBOOK_CATEGORIES = frozenset({39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
                                  59, 83, 84, 85, 87, 88, 89, 97, 98, 99, 100, 106, 108, 111, 119})
EBOOK_FILETYPES = frozenset({"epub", "mobi", "azw", "azw3", "pdf", "cbz", "cbr", "djvu", "lit", "txt", "rtf"})
AUDIO_FILETYPES = ("m4b", "m4a", "mp3", "aac", "flac", "ogg", "opus", "wma", "wav")

_LANGUAGES = {
    "en": "en", "eng": "en", "english": "en",
    "de": "de", "ger": "de", "deu": "de", "german": "de", "deutsch": "de",
    "fr": "fr", "fre": "fr", "fra": "fr", "french": "fr", "francais": "fr", "français": "fr",
    "es": "es", "spa": "es", "spanish": "es", "espanol": "es", "español": "es",
    "it": "it", "ita": "it", "italian": "it", "italiano": "it",
    "nl": "nl", "dut": "nl", "nld": "nl", "dutch": "nl",
    "pt": "pt", "por": "pt", "portuguese": "pt",
    "ru": "ru", "rus": "ru", "russian": "ru",
    "ja": "ja", "jpn": "ja", "japanese": "ja",
    "pl": "pl", "pol": "pl", "polish": "pl",
    "sv": "sv", "swe": "sv", "swedish": "sv",
}
#: Language names that, in tags or a bracket of the title, mark a foreign edition when lang_code is absent.
_FOREIGN_WORDS = re.compile(r"\b(german|deutsch|french|français|francais|spanish|español|espanol|italian|"
                            r"italiano|dutch|portuguese|russian|japanese|polish|swedish)\b", re.IGNORECASE)
_BITRATE = re.compile(r"(\d{2,3})(?:\s*[-\u2013]\s*\d{2,3})?\s*k(?:bps|b/s|bit/s|bits?)\b", re.IGNORECASE)
_ABRIDGED = re.compile(r"\babridged\b", re.IGNORECASE)  # "unabridged" has no word boundary before "abridged"
_GRAPHIC_AUDIO = re.compile(r"\bgraphic\s*audio\b", re.IGNORECASE)
_DRAMATISED = re.compile(r"\b(dramati[sz](?:ed|ation)|full[\s-]*cast|audio\s*drama|radio\s*drama|"
                         r"radio\s*play|bbc\s*radio)\b", re.IGNORECASE)
_COLLECTION = re.compile(r"\b(collection|omnibus|box(?:ed)?[\s-]*set|boxset|anthology|"
                         r"complete\s+(?:series|saga|trilogy|collection)|"
                         r"books?\s*\d+\s*(?:-|\u2013|to|&|and|thru|through)\s*\d+)\b", re.IGNORECASE)
_ASIN = re.compile(r"\b(B0[0-9A-Z]{8})\b")
_ASIN_LABELLED = re.compile(r"\bASIN\s*[:#]?\s*([0-9A-Z]{10})\b", re.IGNORECASE)
_FORMAT_WORD = re.compile(r"\b(" + "|".join(AUDIO_FILETYPES) + r")\b", re.IGNORECASE)


def language_key(raw: str | None) -> str | None:
    """ISO 639-1 for MAM's ``lang_code`` ("ENG") and for what people write ("English", "en")."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip().lower()
    return _LANGUAGES.get(text, text)


@dataclass(frozen=True, slots=True)
class EditionTraits:
    """The edition facts of one row; ``*_evidence`` is the text that said so, for the reason."""

    is_audiobook: bool
    audiobook_evidence: str
    format: str | None
    bitrate_kbps: int | None
    abridged: bool
    dramatised: bool
    dramatisation_evidence: str | None
    collection: bool
    collection_evidence: str | None
    language: str | None
    language_evidence: str | None
    asins: frozenset[str]


def _evidence(pattern: re.Pattern[str], where: dict[str, str], wanted_title: str) -> str | None:
    """The first match of ``pattern`` in title or tags that is not also in the wanted title."""
    own = {m.group(0).casefold() for m in pattern.finditer(wanted_title)}
    for field_name, text in where.items():
        for match in pattern.finditer(text):
            if match.group(0).casefold() not in own:
                return f"{field_name} say {match.group(0)!r}" if field_name == "tags" else \
                    f"{field_name} says {match.group(0)!r}"
    return None


def _audiobook(torrent: MamTorrent) -> tuple[bool, str]:
    types = {t.lower() for t in torrent.filetypes}
    if types and types <= EBOOK_FILETYPES:
        return False, f"its files are {', '.join(sorted(types))} (an e-book)"
    if torrent.main_cat is not None:
        if torrent.main_cat == MainCategory.AUDIOBOOKS:
            return True, "main_cat 13"
        try:
            name = MainCategory(torrent.main_cat).name.lower().replace("ebooks", "e-books")
        except ValueError:
            name = "unknown"
        return False, f"main_cat {torrent.main_cat} ({name})"
    if torrent.category is not None and torrent.category not in AUDIOBOOK_CATEGORIES:
        return False, f"category {torrent.category} {torrent.category_name!r} is not an audiobook category"
    return True, "no main_cat; category or files do not say otherwise"


def _format(torrent: MamTorrent) -> str | None:
    types = [t.lower() for t in torrent.filetypes]
    for known in AUDIO_FILETYPES:
        if known in types:
            return known
    if types:
        return types[0]
    match = _FORMAT_WORD.search(f"{torrent.title} {torrent.tags}")
    return match.group(1).lower() if match else None


def _bitrate(torrent: MamTorrent) -> int | None:
    if torrent.bitrate_kbps is not None:
        return torrent.bitrate_kbps
    for text in (torrent.tags, torrent.title):  # a range "64–128 Kbps" counts as its lower end
        match = _BITRATE.search(text)
        if match:
            return int(match.group(1))
    return None


def _language(torrent: MamTorrent) -> tuple[str | None, str | None]:
    if torrent.lang_code:
        return language_key(torrent.lang_code), f"lang_code {torrent.lang_code}"
    for text in (torrent.tags, " ".join(re.findall(r"[(\[]([^()\[\]]*)[)\]]", torrent.title))):
        match = _FOREIGN_WORDS.search(text)
        if match:
            return language_key(match.group(1)), f"no lang_code; the row says {match.group(1)!r}"
    return None, None


def read_edition(torrent: MamTorrent, wanted_title: str = "") -> EditionTraits:
    where = {"title": torrent.title, "tags": torrent.tags}
    audiobook, audiobook_evidence = _audiobook(torrent)
    drama = _evidence(_GRAPHIC_AUDIO, where, wanted_title) or _evidence(_DRAMATISED, where, wanted_title)
    collection = _evidence(_COLLECTION, where, wanted_title)
    if collection is None:
        for series in torrent.series:
            if any(p.is_range for p in series.positions) or len(series.positions) > 1:
                collection = f"series_info gives {series.name} volumes {series.volume_text!r}"
                break
    language, language_evidence = _language(torrent)
    asins = {m.group(1) for m in _ASIN.finditer(f"{torrent.tags} {torrent.description}")}
    asins |= {m.group(1).upper() for m in _ASIN_LABELLED.finditer(f"{torrent.tags} {torrent.description}")}
    return EditionTraits(
        is_audiobook=audiobook,
        audiobook_evidence=audiobook_evidence,
        format=_format(torrent),
        bitrate_kbps=_bitrate(torrent),
        abridged=_evidence(_ABRIDGED, where, wanted_title) is not None,
        dramatised=drama is not None,
        dramatisation_evidence=drama,
        collection=collection is not None,
        collection_evidence=collection,
        language=language,
        language_evidence=language_evidence,
        asins=frozenset(asins),
    )
