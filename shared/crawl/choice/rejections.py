"""Hard rejections: rows that are never chosen, whatever their score, each with a code and a reason.

The code is for machines (counting, tests, filters in the UI); the reason is a sentence a person can
check against the row. Every rule that applies is recorded, not only the first, so a row that is
both abridged and in German says both; only where one fact already explains another is the second
left out (a collection is not also "a longer title", and its size is not judged against one book).

Decisions documented here because they are judgement calls:

- A row with **no authors** (``author_info`` malformed or absent; the parser leaves a warning) is
  judged on title and series instead: accepted only when the series *and* position agree
  (``author_unknown`` otherwise). Its confidence is lower, so it is never "confident" on its own.
- A wanted entry with no authors yet (not resolved) cannot be checked on authors: no rejection.
- No account snapshot: the member is taken as not VIP (VIP-only uploads rejected).
- Already owned by title + author + duration needs a duration on the row (mediaInfo): without it,
  title + author alone would also reject a better recording of a book owned abridged.
- A torrent whose import found the wrong recording (``wrong_recording``: the duration far from the
  expected runtime, another narrator) is refused for good, whatever its row says now: its files
  were measured, its row only describes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.crawl.choice.edition import EditionTraits, language_key
from shared.crawl.choice.match import (
    MatchConfidence,
    Plausibility,
    SeriesVerdict,
    TitleVerdict,
    compare_titles,
)
from shared.crawl.choice.profile import QualityProfile
from shared.crawl.choice.target import Target
from shared.crawl.torrent import AccountSnapshot, MamTorrent
from shared.names import names_agree

__all__ = ["Rejection", "RejectionCode", "hard_rejections"]


class RejectionCode(StrEnum):
    NOT_AUDIOBOOK = "not_audiobook"
    WRONG_LANGUAGE = "wrong_language"
    ABRIDGED = "abridged"
    WRONG_BOOK_AUTHOR = "wrong_book_author"
    WRONG_BOOK_TITLE = "wrong_book_title"
    WRONG_BOOK_LONGER_TITLE = "wrong_book_longer_title"
    WRONG_BOOK_POSITION = "wrong_book_position"
    WRONG_BOOK_NOVELLA = "wrong_book_novella"
    AUTHOR_UNKNOWN = "author_unknown"
    LOW_MATCH = "low_match"
    IMPLAUSIBLE_SIZE = "implausible_size"
    IMPLAUSIBLE_DURATION = "implausible_duration"
    DRAMATISATION = "dramatisation"
    COLLECTION = "collection"
    LOW_BITRATE = "low_bitrate"
    VIP_ONLY = "vip_only"
    ALREADY_SNATCHED = "already_snatched"
    WRONG_RECORDING = "wrong_recording"
    ALREADY_OWNED = "already_owned"
    NO_SEEDERS = "no_seeders"


@dataclass(frozen=True, slots=True)
class Rejection:
    code: RejectionCode
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "reason": self.reason}


_GOOD_TITLE = (TitleVerdict.EXACT, TitleVerdict.SUBTITLE, TitleVerdict.FUZZY)


def _collections_allowed(target: Target, profile: QualityProfile) -> bool:
    return target.is_collection or profile.allow_collections


def _wrong_book(target: Target, torrent: MamTorrent, edition: EditionTraits, match: MatchConfidence,
                profile: QualityProfile) -> list[Rejection]:
    out: list[Rejection] = []
    # A collection rejected as such needs no second "wrong title"; one that holds the wanted book
    # (allowed by the profile) is not a wrong title either.
    collection_explains = edition.collection and not target.is_collection and (
        not _collections_allowed(target, profile) or match.collection_contains)
    if match.authors == 0.0:
        out.append(Rejection(RejectionCode.WRONG_BOOK_AUTHOR,
                             f"by {', '.join(torrent.authors)}, not {', '.join(target.authors)}"))
    if match.title_verdict == TitleVerdict.LONGER and not collection_explains:
        out.append(Rejection(RejectionCode.WRONG_BOOK_LONGER_TITLE,
                             f"{torrent.title!r} only contains the words of {target.title!r}: a longer title"))
    elif match.title_verdict == TitleVerdict.DIFFERENT and not collection_explains:
        out.append(Rejection(RejectionCode.WRONG_BOOK_TITLE, f"{torrent.title!r} is not {target.title!r}"))
    wanted = f"{target.series_name} {target.position}"
    if match.series_verdict == SeriesVerdict.OTHER_POSITION:
        out.append(Rejection(RejectionCode.WRONG_BOOK_POSITION, f"{match.series_evidence}, not {wanted}"))
    elif match.series_verdict == SeriesVerdict.NOVELLA:
        out.append(Rejection(RejectionCode.WRONG_BOOK_NOVELLA,
                             f"{match.series_evidence}: a novella beside {wanted}"))
    if (not torrent.authors and target.authors and match.series_verdict != SeriesVerdict.SAME
            and not any(r.code in (RejectionCode.WRONG_BOOK_TITLE, RejectionCode.WRONG_BOOK_LONGER_TITLE)
                        for r in out)):
        warned = f" ({'; '.join(torrent.warnings)})" if torrent.warnings else ""
        out.append(Rejection(RejectionCode.AUTHOR_UNKNOWN,
                             f"the row names no author{warned} and its series does not confirm {wanted}"
                             if target.series_name else f"the row names no author{warned} and there is no series "
                             "to confirm the book by"))
    return out


def _owned(target: Target, torrent: MamTorrent, edition: EditionTraits, match: MatchConfidence) -> Rejection | None:
    owned_asins = edition.asins & target.owned_asins
    if owned_asins:
        return Rejection(RejectionCode.ALREADY_OWNED, f"ASIN {min(owned_asins)} is in the library")
    if target.asin and target.asin in target.owned_asins and match.title_verdict in _GOOD_TITLE:
        return Rejection(RejectionCode.ALREADY_OWNED, f"the wanted book (ASIN {target.asin}) is in the library")
    if torrent.duration_seconds:
        for rec in target.owned_recordings:
            verdict, _ = compare_titles(rec.title, torrent.title)
            agree = names_agree(rec.authors, torrent.authors)
            owned_for = rec.duration_seconds
            if (verdict in _GOOD_TITLE and agree is not None and agree >= 0.85 and owned_for
                    and abs(owned_for - torrent.duration_seconds) <= max(120.0, 0.03 * owned_for)):
                return Rejection(RejectionCode.ALREADY_OWNED,
                                 f"the library has {rec.title!r} by {', '.join(rec.authors)} of the same duration")
    return None


def _edition(target: Target, torrent: MamTorrent, edition: EditionTraits, profile: QualityProfile,
             match: MatchConfidence) -> list[Rejection]:
    out: list[Rejection] = []
    if not edition.is_audiobook:
        out.append(Rejection(RejectionCode.NOT_AUDIOBOOK, f"not an audiobook: {edition.audiobook_evidence}"))
    languages = (target.language,) if target.language else profile.languages
    wanted_languages = {language_key(x) for x in languages}
    if edition.language is not None and edition.language not in wanted_languages:
        out.append(Rejection(RejectionCode.WRONG_LANGUAGE,
                             f"{edition.language_evidence}: not {'/'.join(sorted(k for k in wanted_languages if k))}"))
    if edition.abridged and not profile.allow_abridged:
        out.append(Rejection(RejectionCode.ABRIDGED, "the row says abridged; unabridged only"))
    if edition.dramatised and not (profile.allow_dramatisation or target.allow_dramatisation):
        out.append(Rejection(RejectionCode.DRAMATISATION,
                             f"a dramatisation ({edition.dramatisation_evidence}), not allowed for this book"))
    if (edition.collection or match.series_verdict == SeriesVerdict.OMNIBUS) and not _collections_allowed(
            target, profile):
        evidence = edition.collection_evidence or match.series_evidence
        out.append(Rejection(RejectionCode.COLLECTION, f"a collection ({evidence}); the wanted entry is one book"))
    if edition.bitrate_kbps is not None and edition.bitrate_kbps < profile.min_bitrate_kbps:
        out.append(Rejection(RejectionCode.LOW_BITRATE,
                             f"{edition.bitrate_kbps} kbps is below the minimum {profile.min_bitrate_kbps} kbps"))
    if match.plausibility_verdict == Plausibility.IMPLAUSIBLE_SIZE:
        out.append(Rejection(RejectionCode.IMPLAUSIBLE_SIZE,
                             f"{torrent.size_bytes} bytes over {target.runtime_seconds:.0f} s is "
                             f"{match.implied_kbps:.0f} kbps, outside {profile.plausible_kbps[0]:.0f}-"
                             f"{profile.plausible_kbps[1]:.0f}"))
    elif match.plausibility_verdict == Plausibility.IMPLAUSIBLE_DURATION:
        out.append(Rejection(RejectionCode.IMPLAUSIBLE_DURATION,
                             f"mediaInfo says {torrent.duration_seconds:.0f} s, the book runs "
                             f"{target.runtime_seconds:.0f} s"))
    return out


def hard_rejections(target: Target, torrent: MamTorrent, edition: EditionTraits, match: MatchConfidence,
                    account: AccountSnapshot | None, profile: QualityProfile) -> tuple[Rejection, ...]:
    out = _edition(target, torrent, edition, profile, match)
    out += _wrong_book(target, torrent, edition, match, profile)
    if not out and match.confidence < profile.min_match_confidence:
        out.append(Rejection(RejectionCode.LOW_MATCH,
                             f"match confidence {match.confidence:.2f} is below {profile.min_match_confidence:.2f}"))
    if torrent.vip and (account is None or not account.may_download(torrent)):
        who = account.classname if account is not None and account.classname else "unknown class"
        out.append(Rejection(RejectionCode.VIP_ONLY, f"a VIP-only upload; the account is {who}"))
    if torrent.my_snatched or torrent.torrent_id in target.snatched_ids:
        source = "MAM says snatched" if torrent.my_snatched else "grabbed here already"
        out.append(Rejection(RejectionCode.ALREADY_SNATCHED, source))
    if torrent.torrent_id in target.rejected_ids:
        out.append(Rejection(RejectionCode.WRONG_RECORDING,
                             f"rejected at import: {target.rejected_ids[torrent.torrent_id]}"))
    owned = _owned(target, torrent, edition, match)
    if owned is not None:
        out.append(owned)
    if torrent.seeders < profile.min_seeders:
        out.append(Rejection(RejectionCode.NO_SEEDERS,
                             f"{torrent.seeders} seeders (at least {profile.min_seeders} needed)"))
    return tuple(out)
