"""The account governor: may this grab run now, and what should points be spent on. Pure: no I/O.

Everything the rules need is passed in (the latest account snapshot and its age, the policy, our own
recent grabs, ``now``), so the same functions serve the grab job, the API's view, the gates' re-checks
and a simulated month with an injected clock. The database side (gathering those inputs, locking,
parking) is :mod:`shared.download.standing` and :mod:`shared.download.governor_gates`.

Why each grab rule exists (``shared/reference/mam.md``):

- **account**: every other rule reads the snapshot, so an unknown or stale one means "wait for a
  refresh", never "assume the best";
- **unsatisfied**: MAM allows ``unsat.limit`` torrents that are not yet seeded 72 h; a grab waits at
  ``limit - unsat_reserve``. MAM's counter lags our grabs by minutes, so grabs it may not have counted
  yet (``LocalCounts.unsat_since_snapshot``) are added to it;
- **pace**: the mode bounds grabs per rolling hour and day;
- **ratio**: below ``ratio_floor`` only grabs free for this member run, and once below, paid grabs
  stay off until ``ratio_recovery`` (hysteresis: a ratio hovering at the floor does not flap between
  paid grabs and none). A paid grab that would itself take the ratio under the floor (counting the
  paid bytes MAM may not have seen yet) waits too. A wedge makes a grab free, so it is the way to keep
  grabbing a paid torrent while the ratio is held. Wedges we spent since the snapshot are taken off
  its count, so a burst of grabs between two refreshes cannot spend into the wedge reserve.

Every rule can be satisfied by waiting (seeding, a refresh, time, a person changing the policy), so
:func:`decide_grab` never refuses: it grabs or waits on a named gate. ``REFUSE`` is for the caller's
hard reasons (a VIP-only torrent, a second snatch).

Spending (:func:`plan_spends`) renews VIP before it lapses and buys upload credit before points reach
the cap (points past it are lost) or when the ratio holds paid grabs, always leaving
``points_reserve`` for VIP. The only purchases it can express are :class:`SpendType`'s three: ``gift``
and ``sendWedge`` are not representable, so no plan can contain them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.crawl.choice.cost import Cost, CostKind
from shared.crawl.torrent import AccountSnapshot
from shared.download.policy import GovernorPolicy
from shared.download.states import DecisionKind

__all__ = [
    "GIB", "Gate", "GrabAsk", "GrabDecision", "LocalCounts", "SpendIntent", "SpendRecord", "SpendType",
    "current_ratio", "decide_grab", "in_recovery", "paid_held", "plan_spends", "unsat_ceiling", "vip_points",
]

GIB = 1024**3
#: The longest VIP MAM sells ("max" tops the membership up to this).
VIP_MAX_DAYS = 90


class Gate(StrEnum):
    """Where a grab that must wait is parked (``jobs.parked_on``), one per rule."""

    ACCOUNT = "governor:account"
    UNSAT = "governor:unsat"
    RATIO = "governor:ratio"
    PACE = "governor:pace"


@dataclass(frozen=True, slots=True)
class LocalCounts:
    """What we know and MAM's snapshot may not show yet."""

    grabs_last_hour: int = 0
    grabs_last_day: int = 0
    unsat_since_snapshot: int = 0  # our grabs MAM may not count yet (since the snapshot, minus its lag)
    paid_bytes_since_snapshot: int = 0  # bytes of our paid grabs MAM's ``downloaded`` may not hold yet
    wedges_since_snapshot: int = 0  # wedges we spent that the snapshot's wedge count may still include


@dataclass(frozen=True, slots=True)
class GrabAsk:
    """The grab in question: is it free for this member, and how large is it."""

    free: bool
    size_bytes: int | None
    torrent_id: int | None = None

    @classmethod
    def from_cost(cls, cost: Cost, size_bytes: int | None, torrent_id: int | None = None) -> GrabAsk:
        """From the search's cost; a proposed wedge is not free: whether to spend it is decided here."""
        return cls(free=cost.kind == CostKind.FREE, size_bytes=size_bytes, torrent_id=torrent_id)


@dataclass(frozen=True, slots=True)
class GrabDecision:
    kind: DecisionKind  # GRAB or WAIT (see the module docstring)
    reason: str
    use_wedge: bool = False
    wait_on: Gate | None = None
    cost_kind: CostKind | None = None  # what the grab will cost: free, wedge or paid (GRAB only)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def grab(self) -> bool:
        return self.kind == DecisionKind.GRAB


def _wait(gate: Gate, reason: str, details: dict[str, Any]) -> GrabDecision:
    return GrabDecision(DecisionKind.WAIT, reason, wait_on=gate, details=details)


def current_ratio(account: AccountSnapshot) -> float | None:
    """MAM's own ratio figure (the byte counts are human strings, ~4 % coarse); nothing downloaded is
    an infinite ratio; None when MAM did not say."""
    if account.ratio is not None:
        return account.ratio
    if account.downloaded_bytes == 0:
        return math.inf
    return None


def in_recovery(ratios_newest_first: Iterable[float | None], policy: GovernorPolicy) -> bool:
    """The hysteresis memory, read from the snapshot history: True when the latest reading outside
    ``[ratio_floor, ratio_recovery)`` was below the floor (paid grabs stay held until recovery)."""
    for ratio in ratios_newest_first:
        if ratio is None:
            continue
        if ratio < policy.ratio_floor:
            return True
        if ratio >= policy.ratio_recovery:
            return False
    return False


def paid_held(account: AccountSnapshot, policy: GovernorPolicy, recovering: bool) -> bool:
    """Paid grabs are held: the ratio is unknown, under the floor, or recovering and not back at
    ``ratio_recovery`` yet."""
    ratio = current_ratio(account)
    if ratio is None:
        return True
    return ratio < policy.ratio_floor or (recovering and ratio < policy.ratio_recovery)


def unsat_ceiling(account: AccountSnapshot, policy: GovernorPolicy) -> int | None:
    return None if account.unsat_limit is None else account.unsat_limit - policy.unsat_reserve


def _ratio_after(account: AccountSnapshot, extra_bytes: int) -> float | None:
    """The ratio once ``extra_bytes`` more count as downloaded: MAM's figure scaled by the byte counts."""
    ratio = current_ratio(account)
    downloaded = account.downloaded_bytes
    if ratio is None or downloaded is None:
        return None
    if math.isinf(ratio):
        return math.inf if extra_bytes == 0 or account.uploaded_bytes is None else account.uploaded_bytes / extra_bytes
    return ratio * downloaded / (downloaded + extra_bytes) if downloaded + extra_bytes > 0 else ratio


def _age(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def decide_grab(
    account: AccountSnapshot | None,
    account_age_s: float | None,
    policy: GovernorPolicy,
    ask: GrabAsk,
    local: LocalCounts,
    now: datetime,
    *,
    recovering: bool = False,
) -> GrabDecision:
    """Grab now (with or without a wedge) or wait on a gate, with a reason a person can read.

    ``recovering`` is the hysteresis memory (:func:`in_recovery` over the snapshot history, this one
    included); ``now`` is only recorded, the ages are already measured."""
    facts: dict[str, Any] = {"at": now.isoformat(), "free": ask.free, "size_bytes": ask.size_bytes,
                             "local": {"last_hour": local.grabs_last_hour, "last_day": local.grabs_last_day,
                                       "unsat_since_snapshot": local.unsat_since_snapshot,
                                       "paid_bytes_since_snapshot": local.paid_bytes_since_snapshot,
                                       "wedges_since_snapshot": local.wedges_since_snapshot}}
    if account is None or account_age_s is None:
        return _wait(Gate.ACCOUNT, "no account snapshot yet: waiting for account.refresh", facts)
    facts["account_age_s"] = round(account_age_s)
    if account_age_s > policy.account_max_age_for_grab:
        return _wait(Gate.ACCOUNT, f"the account snapshot is {_age(account_age_s)} old (at most "
                                   f"{_age(policy.account_max_age_for_grab)}): waiting for account.refresh", facts)
    ceiling = unsat_ceiling(account, policy)
    if account.unsat_count is None or ceiling is None:
        return _wait(Gate.ACCOUNT, "MAM did not report the unsatisfied count and limit: waiting for a refresh "
                                   "that does (the limit is never guessed)", facts)
    used = account.unsat_count + local.unsat_since_snapshot
    facts["unsat"] = {"count": account.unsat_count, "local": local.unsat_since_snapshot,
                      "limit": account.unsat_limit, "reserve": policy.unsat_reserve}
    if used >= ceiling:
        return _wait(Gate.UNSAT, f"unsatisfied {account.unsat_count} + {local.unsat_since_snapshot} of ours not yet "
                                 f"counted = {used}, at the limit {account.unsat_limit} minus the reserve "
                                 f"{policy.unsat_reserve} ({ceiling}): waiting for torrents to be seeded 72 h", facts)
    per_hour, per_day = policy.pace()
    if local.grabs_last_hour >= per_hour or local.grabs_last_day >= per_day:
        return _wait(Gate.PACE, f"{policy.mode} pace: {local.grabs_last_hour} grabs in the last hour (at most "
                                f"{per_hour}), {local.grabs_last_day} in the last day (at most {per_day})", facts)
    if ask.free:
        return GrabDecision(DecisionKind.GRAB, "free for this member: no ratio, no wedge", cost_kind=CostKind.FREE,
                            details=facts)
    return _paid(account, policy, ask, local, recovering, facts)


def _paid(account: AccountSnapshot, policy: GovernorPolicy, ask: GrabAsk, local: LocalCounts, recovering: bool,
          facts: dict[str, Any]) -> GrabDecision:
    ratio = current_ratio(account)
    held = paid_held(account, policy, recovering)
    wedges = max(0, (account.wedges or 0) - local.wedges_since_snapshot)
    facts["ratio"] = {"value": ratio if ratio is None or math.isfinite(ratio) else "inf", "floor": policy.ratio_floor,
                      "recovery": policy.ratio_recovery, "recovering": recovering, "held": held}
    facts["wedges"] = {"count": account.wedges, "spent_since": local.wedges_since_snapshot, "left": wedges,
                       "reserve": policy.wedge_reserve}
    large = ask.size_bytes is not None and ask.size_bytes >= policy.wedge_min_size_bytes
    if policy.use_wedges and wedges > policy.wedge_reserve and (large or (held and policy.wedge_below_floor)):
        why = (f"{ask.size_bytes} bytes is at least {policy.wedge_min_size_bytes}" if large
               else "paid grabs are held by the ratio")
        return GrabDecision(DecisionKind.GRAB, f"a freeleech wedge ({wedges} left, reserve {policy.wedge_reserve}): "
                                               f"{why}", use_wedge=True, cost_kind=CostKind.WEDGE, details=facts)
    if held:
        if ratio is None:
            return _wait(Gate.RATIO, "MAM did not report the ratio: paid grabs wait for a refresh that does", facts)
        state = (f"is below the floor {policy.ratio_floor:g}" if ratio < policy.ratio_floor
                 else f"fell below the floor {policy.ratio_floor:g} and has not recovered since")
        return _wait(Gate.RATIO, f"ratio {ratio:.3f} {state}: paid grabs resume at {policy.ratio_recovery:g} "
                                 "(free ones still run)", facts)
    after = _ratio_after(account, local.paid_bytes_since_snapshot + (ask.size_bytes or 0))
    facts["ratio"]["after"] = after if after is None or math.isfinite(after) else "inf"
    if after is not None and after < policy.ratio_floor:
        return _wait(Gate.RATIO, f"this grab (with {local.paid_bytes_since_snapshot} paid bytes MAM may not count "
                                 f"yet) would take the ratio to {after:.3f}, under the floor {policy.ratio_floor:g}",
                     facts)
    shown = "unknown" if ratio is None else f"{ratio:.3f}"
    return GrabDecision(DecisionKind.GRAB, f"paid: ratio {shown} is at or above the floor {policy.ratio_floor:g}"
                                           + ("" if after is None else f" and stays there ({after:.3f} after)"),
                        cost_kind=CostKind.PAID, details=facts)


# -- spending ---------------------------------------------------------------------------------------


class SpendType(StrEnum):
    """The bonus-store purchases the governor may plan. ``gift`` and ``sendWedge`` are deliberately
    absent (MAM's API rules forbid automating them), so no plan can hold one."""

    PERSONAL_FL = "personalFL"
    UPLOAD = "upload"
    VIP = "VIP"


@dataclass(frozen=True, slots=True)
class SpendIntent:
    """One purchase to make. ``key`` makes it idempotent (``shared.download.spends.intend``)."""

    spendtype: SpendType
    key: str
    reason: str
    points: float | None  # what it is expected to cost
    amount: float | None = None  # GB of upload credit
    duration: str | None = None  # VIP: weeks or "max"
    torrent_id: int | None = None  # personalFL

    def as_dict(self) -> dict[str, Any]:
        return {"spendtype": self.spendtype.value, "key": self.key, "reason": self.reason, "points": self.points,
                "amount": self.amount, "duration": self.duration, "torrent_id": self.torrent_id}


@dataclass(frozen=True, slots=True)
class SpendRecord:
    """A spend already recorded (``mam_spends``): its key, type, state and when it was recorded."""

    key: str
    spendtype: str
    state: str  # intended | done | failed | unknown | dry_run
    at: datetime


def wedge_intent(torrent_id: int, reason: str) -> SpendIntent:
    """The wedge a grab spends on ``torrent_id`` (one per torrent, ever: its key is the torrent)."""
    return SpendIntent(SpendType.PERSONAL_FL, f"wedge:{torrent_id}", reason, None, torrent_id=torrent_id)


def vip_points(policy: GovernorPolicy, account: AccountSnapshot, now: datetime) -> float:
    """What one renewal costs: the weeks bought at MAM's price; ``max`` tops up to 90 days from now."""
    per_week = policy.vip_points_per_4_weeks / 4
    if policy.vip_duration != "max":
        return int(policy.vip_duration) * per_week
    left = max(0.0, (account.vip_until - now).total_seconds() / 86400) if account.vip_until else 0.0
    return math.ceil(max(0.0, VIP_MAX_DAYS - left) / 7) * per_week


#: States of a recorded spend whose effect a snapshot taken before it would not show.
_PENDING_EFFECT = frozenset({"intended", "done", "unknown"})


def _blocked(spendtype: SpendType, recent: Sequence[SpendRecord], account_at: datetime | None) -> bool:
    """A purchase of this type the snapshot may not reflect yet (made, or of unknown outcome, at or after
    ``account_at``, or ``intended`` at any time): plan none of this type until a newer snapshot tells
    whether it went through. This is the crash rule: a purchase is never repeated blindly."""
    for spend in recent:
        if spend.spendtype != spendtype.value:
            continue
        if spend.state == "intended":
            return True
        if spend.state in _PENDING_EFFECT and (account_at is None or spend.at >= account_at):
            return True
    return False


def plan_spends(
    account: AccountSnapshot | None,
    policy: GovernorPolicy,
    now: datetime,
    recent_spends: Sequence[SpendRecord] = (),
    *,
    account_at: datetime | None = None,
    recovering: bool = False,
) -> list[SpendIntent]:
    """The purchases to make now: VIP renewal first, then upload credit.

    ``account_at`` is when the snapshot was taken (a purchase recorded after it is not in its figures);
    ``recovering`` is the ratio's hysteresis memory (:func:`in_recovery`)."""
    if account is None or account.seedbonus is None:
        return []
    keys = {s.key for s in recent_spends}
    points = account.seedbonus
    intents: list[SpendIntent] = []
    vip = _vip(account, policy, now, points)
    if vip is not None and vip.key not in keys and not _blocked(SpendType.VIP, recent_spends, account_at):
        intents.append(vip)
        points -= vip.points or 0.0
    if policy.spend_upload and not _blocked(SpendType.UPLOAD, recent_spends, account_at):
        intents += _uploads(account, policy, now, points, recovering, keys)
    return intents


def _vip(account: AccountSnapshot, policy: GovernorPolicy, now: datetime, points: float) -> SpendIntent | None:
    if not (policy.vip_renew and account.is_vip and account.vip_until is not None):
        return None
    left = account.vip_until - now
    if left > timedelta(days=policy.vip_renew_days_before):
        return None
    cost = vip_points(policy, account, now)
    if cost <= 0 or points < cost:
        return None
    days = left.total_seconds() / 86400
    return SpendIntent(SpendType.VIP, f"vip:{now:%Y-%m-%d}",
                       f"VIP ends in {days:.1f} days (renew within {policy.vip_renew_days_before:g}); "
                       f"{policy.vip_duration} weeks for about {cost:.0f} of {points:.0f} points"
                       if policy.vip_duration != "max" else
                       f"VIP ends in {days:.1f} days (renew within {policy.vip_renew_days_before:g}); "
                       f"topped up to the maximum for about {cost:.0f} of {points:.0f} points",
                       cost, duration=policy.vip_duration)


def _uploads(account: AccountSnapshot, policy: GovernorPolicy, now: datetime, points: float,
             recovering: bool, taken: set[str]) -> list[SpendIntent]:
    """Upload credit in ``upload_spend_gb`` steps: enough to bring points back under
    ``points_cap - spend_upload_when_within`` and, while paid grabs are held, enough to reach
    ``ratio_recovery``; never below ``points_reserve``, at most ``upload_max_per_run`` purchases.
    Numbered within the hour, skipping the numbers already recorded (a second run in the same hour,
    on a snapshot that shows the first run's purchases, buys under the next free numbers)."""
    unit = policy.upload_spend_gb * policy.upload_points_per_gb
    affordable = math.floor(max(0.0, points - policy.points_reserve) / unit)
    threshold = policy.points_cap - policy.spend_upload_when_within
    # strictly back under the threshold, so the next run does not start at it again
    near_cap = math.floor((points - threshold) / unit) + 1 if points >= threshold else 0
    for_ratio = 0
    ratio = current_ratio(account)
    if policy.spend_upload_on_low_ratio and paid_held(account, policy, recovering) and ratio is not None \
            and math.isfinite(ratio) and account.downloaded_bytes:
        missing_gb = (policy.ratio_recovery - ratio) * account.downloaded_bytes / GIB
        for_ratio = max(0, math.ceil(missing_gb / policy.upload_spend_gb - 1e-9))  # 70.0000001 GB is 7 steps
    steps = min(max(near_cap, for_ratio), affordable, policy.upload_max_per_run)
    if steps <= 0:
        return []
    why = (f"points {points:.0f} are within {policy.spend_upload_when_within:g} of the cap {policy.points_cap:g}"
           if near_cap >= for_ratio else
           f"ratio {ratio:.3f} holds paid grabs: upload credit toward {policy.ratio_recovery:g}")
    hour = f"upload:{now:%Y-%m-%d-%H}"
    numbers = (n for n in range(1, steps + len(taken) + 2) if f"{hour}:{n}" not in taken)
    return [SpendIntent(SpendType.UPLOAD, f"{hour}:{n}",
                        f"{why}; {policy.upload_spend_gb:g} GB ({i} of {steps}), keeping {policy.points_reserve:g}",
                        unit, amount=policy.upload_spend_gb)
            for i, n in zip(range(1, steps + 1), numbers, strict=False)]
