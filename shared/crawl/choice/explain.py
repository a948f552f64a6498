"""Readable summaries of a decision: why nothing was acceptable, and one line per candidate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.crawl.choice.choose import Candidate

__all__ = ["describe", "rejection_counts", "summarise"]


def rejection_counts(candidates: Iterable[Candidate]) -> dict[str, int]:
    """How many rows each rejection code applied to, most frequent first."""
    counts = Counter(str(r.code) for c in candidates for r in c.rejections)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def describe(candidate: Candidate) -> str:
    head = f"#{candidate.torrent_id} {candidate.title!r}"
    if candidate.rejections:
        return f"{head}: rejected: " + "; ".join(f"{r.code} ({r.reason})" for r in candidate.rejections)
    state = "chosen" if candidate.chosen else "acceptable"
    return f"{head}: {state}, score {candidate.score:.3f}, {candidate.cost.kind} ({candidate.cost.reason})"


def summarise(candidates: tuple[Candidate, ...]) -> str:
    chosen = next((c for c in candidates if c.chosen), None)
    if not candidates:
        return "nothing acceptable: the search returned no rows"
    if chosen is not None:
        others = sum(1 for c in candidates if c.acceptable) - 1
        rejected = sum(1 for c in candidates if not c.acceptable)
        return (f"chose #{chosen.torrent_id} {chosen.title!r} (score {chosen.score:.3f}, {chosen.cost.kind}); "
                f"{others} other acceptable, {rejected} rejected")
    counts = rejection_counts(candidates)
    parts = ", ".join(f"{code} x{n}" for code, n in counts.items())
    return f"nothing acceptable among {len(candidates)} rows: {parts}"
