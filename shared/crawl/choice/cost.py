"""What a grab of a row would cost this member: nothing, a freeleech wedge, or ratio.

Free for *this* member is ``free``, a personal freeleech, or ``fl_vip`` when the account is VIP or
above (:meth:`AccountSnapshot.free_for_member`). With no account snapshot the member is assumed not
VIP: the cautious reading, which never takes a ``fl_vip`` row for free when it is not. A wedge is
proposed only under the spending policy (large enough, enough wedges left); otherwise the bytes
count against the ratio, and the ratio after the download is recorded so the governor (which
decides the grab) and a person can see whether it is affordable. Nothing here spends anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.crawl.choice.profile import SpendingPolicy
from shared.crawl.torrent import AccountSnapshot, MamTorrent

__all__ = ["Cost", "CostKind", "cost_of", "cost_penalty"]


class CostKind(StrEnum):
    FREE = "free"
    WEDGE = "wedge"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class Cost:
    kind: CostKind
    reason: str
    ratio_bytes: int | None  # bytes that would count as downloaded (0 when free or wedged; None: size unknown)
    wedges: int  # wedges the grab would spend
    ratio_after: float | None = None
    affordable: bool | None = None  # paid only: the ratio stays at the policy's minimum; None: unknown

    def as_dict(self) -> dict[str, object]:
        return {"kind": str(self.kind), "reason": self.reason, "ratio_bytes": self.ratio_bytes,
                "wedges": self.wedges, "ratio_after": None if self.ratio_after is None else round(self.ratio_after, 3),
                "affordable": self.affordable}


def _free_reason(torrent: MamTorrent, account: AccountSnapshot | None) -> str | None:
    if torrent.free:
        return "freeleech for everyone"
    if torrent.personal_freeleech:
        return "personal freeleech already on this torrent"
    if torrent.fl_vip and account is not None and account.is_vip:
        return f"VIP freeleech, and the account is {account.classname}"
    return None


def cost_of(torrent: MamTorrent, account: AccountSnapshot | None, policy: SpendingPolicy) -> Cost:
    free = _free_reason(torrent, account)
    if free is not None:
        return Cost(CostKind.FREE, free, 0, 0)
    size = torrent.size_bytes
    wedges = account.wedges if account is not None else None
    vip_note = " (VIP freeleech does not apply below VIP)" if torrent.fl_vip else ""
    if (policy.use_wedges and wedges is not None and wedges > policy.wedge_reserve and size is not None
            and size >= policy.wedge_min_size_bytes):
        return Cost(CostKind.WEDGE, f"one freeleech wedge of {wedges} (size {size} bytes is at least "
                                    f"{policy.wedge_min_size_bytes}){vip_note}", 0, 1)
    ratio_after: float | None = None
    affordable: bool | None = None
    if (account is not None and size is not None and account.uploaded_bytes is not None
            and account.downloaded_bytes is not None):
        downloaded = account.downloaded_bytes + size
        ratio_after = account.uploaded_bytes / downloaded if downloaded else None
        affordable = ratio_after is None or ratio_after >= policy.min_ratio_after
    reason = f"counts {size if size is not None else 'an unknown number of'} bytes against the ratio{vip_note}"
    return Cost(CostKind.PAID, reason, size, 0, ratio_after, affordable)


def cost_penalty(cost: Cost, policy: SpendingPolicy) -> float:
    """What the cost takes off the ranking score: a free row this much worse still ranks first."""
    return {CostKind.FREE: 0.0, CostKind.WEDGE: policy.wedge_penalty, CostKind.PAID: policy.paid_penalty}[cost.kind]
