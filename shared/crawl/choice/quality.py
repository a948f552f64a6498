"""The quality score of an acceptable row under the member's profile, component by component.

Each component is 0..1; the total is their weighted mean (weights from the profile), so it stays
0..1 whatever the weights are and a breakdown shows how each point was earned. Rejections are not
decided here (:mod:`.rejections`): a score ranks rows that are all acceptable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.crawl.choice.edition import EditionTraits
from shared.crawl.choice.match import MatchConfidence
from shared.crawl.choice.profile import QualityProfile
from shared.crawl.choice.target import Target
from shared.crawl.torrent import MamTorrent
from shared.names import names_agree

__all__ = ["QualityScore", "bitrate_score", "format_score", "narrator_score", "quality_score", "seeders_score"]

UNKNOWN_FORMAT = 0.4
OTHER_FORMAT = 0.3
UNKNOWN_NARRATOR = 0.4  # the preferred narrator is known but the row names none
NO_PREFERENCE = 0.5  # nobody to prefer: every row scores the same


@dataclass(frozen=True, slots=True)
class QualityScore:
    components: dict[str, float]  # 0..1 each
    weighted: dict[str, float]  # the share of the total each component earned
    total: float  # 0..1


def format_score(fmt: str | None, profile: QualityProfile) -> float:
    """1.0 for the first preferred format, down to 0.6 for the last; unknown and others low."""
    if fmt is None:
        return UNKNOWN_FORMAT
    if fmt not in profile.formats:
        return OTHER_FORMAT
    n = len(profile.formats)
    return 1.0 if n == 1 else round(1.0 - 0.4 * profile.formats.index(fmt) / (n - 1), 3)


def bitrate_score(kbps: int | None, profile: QualityProfile) -> float:
    """1.0 inside the ideal range, 0.6 → 1.0 from the minimum up to it, 0.9 above it (bigger files
    for nothing a listener hears), the profile's penalty when the row does not say."""
    if kbps is None:
        return profile.unknown_bitrate_score
    low, high = profile.ideal_bitrate_kbps
    if low <= kbps <= high:
        return 1.0
    if kbps > high:
        return 0.9
    if kbps < profile.min_bitrate_kbps:
        return 0.0
    span = max(low - profile.min_bitrate_kbps, 1)
    return round(0.6 + 0.4 * (kbps - profile.min_bitrate_kbps) / span, 3)


def narrator_score(target: Target, torrent: MamTorrent, profile: QualityProfile) -> float:
    preferred = target.preferred_narrators if profile.prefer_series_narrator else target.narrators
    if not preferred:
        return NO_PREFERENCE
    agree = names_agree(preferred, torrent.narrators)
    if agree is None:
        return UNKNOWN_NARRATOR
    return 1.0 if agree >= 0.85 else 0.0


def seeders_score(seeders: int, profile: QualityProfile) -> float:
    """Logarithmic: the first few seeders matter most; ``seeders_saturation`` and more score 1.0."""
    if seeders <= 0:
        return 0.0
    return round(min(1.0, math.log1p(seeders) / math.log1p(profile.seeders_saturation)), 3)


def _single_file(numfiles: int | None, profile: QualityProfile) -> float:
    if not profile.prefer_single_file:
        return NO_PREFERENCE
    if numfiles is None:
        return 0.5
    return 1.0 if numfiles == 1 else 0.3


def quality_score(target: Target, torrent: MamTorrent, edition: EditionTraits, match: MatchConfidence,
                  profile: QualityProfile) -> QualityScore:
    components = {
        "match": match.confidence,
        "narrator": narrator_score(target, torrent, profile),
        "format": format_score(edition.format, profile),
        "bitrate": bitrate_score(edition.bitrate_kbps, profile),
        "single_file": _single_file(torrent.numfiles, profile),
        "seeders": seeders_score(torrent.seeders, profile),
    }
    weights = profile.weights.as_dict()
    total_weight = sum(weights.values())
    weighted = {k: round(weights[k] * v / total_weight, 4) for k, v in components.items()}
    return QualityScore(components=components, weighted=weighted, total=round(sum(weighted.values()), 4))
