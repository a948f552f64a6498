"""From the rows of a search to one decision: every row judged, ranked, at most one chosen.

Ranking score = quality total (0..1, :mod:`.quality`) − cost penalty (:mod:`.cost`): a free row
within ``paid_penalty`` of a paid one ranks above it (free first among rows of similar quality), a
much better paid row still wins over a poor free one. Acceptable rows rank above rejected ones; ties
break on seeders, then the lower torrent id (the older upload), so a decision is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.crawl.choice.cost import Cost, cost_of, cost_penalty
from shared.crawl.choice.edition import EditionTraits, read_edition
from shared.crawl.choice.explain import rejection_counts, summarise
from shared.crawl.choice.match import MatchConfidence, match_torrent
from shared.crawl.choice.profile import QualityProfile
from shared.crawl.choice.quality import QualityScore, quality_score
from shared.crawl.choice.rejections import Rejection, hard_rejections
from shared.crawl.choice.target import Target
from shared.crawl.torrent import AccountSnapshot, MamTorrent

__all__ = ["Candidate", "Decision", "choose", "evaluate"]


@dataclass(frozen=True, slots=True)
class Candidate:
    torrent: MamTorrent
    edition: EditionTraits
    match: MatchConfidence
    quality: QualityScore
    cost: Cost
    score: float  # quality.total − the cost penalty: what the ranking sorts by
    rejections: tuple[Rejection, ...]
    chosen: bool = False

    @property
    def torrent_id(self) -> int:
        return self.torrent.torrent_id

    @property
    def title(self) -> str:
        return self.torrent.title

    @property
    def acceptable(self) -> bool:
        return not self.rejections

    @property
    def breakdown(self) -> dict[str, float]:
        """Each component's share of the score, and the cost's deduction (negative)."""
        return {**self.quality.weighted, "cost": round(self.score - self.quality.total, 4)}

    def as_dict(self) -> dict[str, object]:
        """The JSON shape ``GET /api/v1/wanted/{id}/candidates`` returns per item."""
        t = self.torrent
        return {
            "torrent_id": t.torrent_id, "title": t.title, "chosen": self.chosen, "acceptable": self.acceptable,
            "score": round(self.score, 4), "breakdown": self.breakdown, "components": self.quality.components,
            "match": self.match.parts(), "cost": self.cost.as_dict(),
            "rejections": [r.as_dict() for r in self.rejections],
            "authors": list(t.authors), "narrators": list(t.narrators), "format": self.edition.format,
            "bitrate_kbps": self.edition.bitrate_kbps, "size_bytes": t.size_bytes, "seeders": t.seeders,
            "warnings": list(t.warnings),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Ranked candidates (chosen first) and the answer; ``chosen is None`` is "nothing acceptable"."""

    candidates: tuple[Candidate, ...]
    confident: bool
    summary: str

    @property
    def chosen(self) -> Candidate | None:
        return next((c for c in self.candidates if c.chosen), None)

    @property
    def rejection_counts(self) -> dict[str, int]:
        return rejection_counts(self.candidates)

    def as_dict(self) -> dict[str, object]:
        chosen = self.chosen
        return {"chosen_torrent_id": chosen.torrent_id if chosen else None, "confident": self.confident,
                "summary": self.summary, "rejection_counts": self.rejection_counts,
                "items": [c.as_dict() for c in self.candidates]}


def evaluate(target: Target, torrent: MamTorrent, account: AccountSnapshot | None,
             profile: QualityProfile) -> Candidate:
    """One row judged on its own (not ranked, not chosen)."""
    edition = read_edition(torrent, target.title)
    match = match_torrent(target, torrent, edition, profile)
    quality = quality_score(target, torrent, edition, match, profile)
    cost = cost_of(torrent, account, profile.spending)
    rejections = hard_rejections(target, torrent, edition, match, account, profile)
    score = round(quality.total - cost_penalty(cost, profile.spending), 4)
    return Candidate(torrent, edition, match, quality, cost, score, rejections)


def _is_confident(candidate: Candidate, profile: QualityProfile) -> bool:
    """Sure enough to stop trying further query strategies: a high match on a known author."""
    m = candidate.match
    return m.confidence >= profile.confident_match and m.authors == 1.0 and m.title >= 0.9


def choose(target: Target, torrents: Iterable[MamTorrent], account: AccountSnapshot | None,
           profile: QualityProfile | None = None) -> Decision:
    """Judge every row (the same torrent id twice, e.g. from two strategies, counts once)."""
    profile = profile or QualityProfile()
    seen: set[int] = set()
    judged: list[Candidate] = []
    for torrent in torrents:
        if torrent.torrent_id in seen:
            continue
        seen.add(torrent.torrent_id)
        judged.append(evaluate(target, torrent, account, profile))
    judged.sort(key=lambda c: (not c.acceptable, -c.score, -c.torrent.seeders, c.torrent_id))
    if judged and judged[0].acceptable:
        first = judged[0]
        judged[0] = Candidate(first.torrent, first.edition, first.match, first.quality, first.cost, first.score,
                              first.rejections, chosen=True)
    ranked = tuple(judged)
    chosen = ranked[0] if ranked and ranked[0].chosen else None
    confident = chosen is not None and _is_confident(chosen, profile)
    return Decision(ranked, confident, summarise(ranked))
