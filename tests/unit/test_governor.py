"""The account governor's rules, one by one: :func:`decide_grab`, :func:`plan_spends` and the policy.

Pure functions with an injected clock, so every edge is a plain value: the unsatisfied reserve at
exactly the ceiling, the ratio's hysteresis between floor and recovery, pacing per mode, the wedge's
conditions, the VIP renewal window, spending before the cap, and that ``gift``/``sendWedge`` cannot
even be expressed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.crawl.choice.cost import Cost, CostKind
from shared.crawl.torrent import AccountSnapshot
from shared.download.governor import (
    GIB,
    Gate,
    GrabAsk,
    LocalCounts,
    SpendRecord,
    SpendType,
    decide_grab,
    in_recovery,
    plan_spends,
    vip_points,
    wedge_intent,
)
from shared.download.policy import GovernorPolicy
from shared.download.states import DecisionKind

NOW = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)
MIB = 1024**2
POLICY = GovernorPolicy()
PAID_SMALL = GrabAsk(free=False, size_bytes=300 * MIB, torrent_id=7)
PAID_LARGE = GrabAsk(free=False, size_bytes=2 * GIB, torrent_id=8)
FREE = GrabAsk(free=True, size_bytes=2 * GIB, torrent_id=9)


def account(**kw: Any) -> AccountSnapshot:
    base: dict[str, Any] = dict(uid=1, username="m", classname="Power User", ratio=2.0, uploaded_bytes=2000 * GIB,
                                downloaded_bytes=1000 * GIB, seedbonus=20_000.0, wedges=3, vip_until=None,
                                unsat_count=10, unsat_limit=50)
    base.update(kw)
    return AccountSnapshot(**base)


def decide(acc: AccountSnapshot | None = None, *, age: float | None = 60.0, policy: GovernorPolicy = POLICY,
           ask: GrabAsk = PAID_SMALL, local: LocalCounts = LocalCounts(), recovering: bool = False) -> Any:
    return decide_grab(acc if acc is not None else account(), age, policy, ask, local, NOW, recovering=recovering)


# -- decide_grab: the account ---------------------------------------------------------------------


def test_no_snapshot_waits_for_a_refresh() -> None:
    d = decide_grab(None, None, POLICY, FREE, LocalCounts(), NOW)
    assert d.kind == DecisionKind.WAIT and d.wait_on == Gate.ACCOUNT and "account.refresh" in d.reason


def test_a_snapshot_older_than_the_policy_allows_waits_one_just_inside_does_not() -> None:
    policy = GovernorPolicy(account_max_age_for_grab=3600)
    stale = decide(age=3601, policy=policy, ask=FREE)
    assert stale.wait_on == Gate.ACCOUNT and "1.0 h old" in stale.reason
    assert decide(age=3600, policy=policy, ask=FREE).grab


def test_unknown_unsatisfied_counters_are_never_guessed() -> None:
    for acc in (account(unsat_count=None), account(unsat_limit=None)):
        d = decide(acc, ask=FREE)
        assert d.wait_on == Gate.ACCOUNT and "never guessed" in d.reason


# -- decide_grab: the unsatisfied limit and its reserve -------------------------------------------


def test_the_reserve_edge_one_below_the_ceiling_grabs_at_the_ceiling_waits() -> None:
    # limit 50, reserve 5: the ceiling is 45. 44 used → this grab makes 45, allowed; 45 used → wait.
    assert decide(account(unsat_count=44), ask=FREE).grab
    d = decide(account(unsat_count=45), ask=FREE)
    assert d.kind == DecisionKind.WAIT and d.wait_on == Gate.UNSAT
    assert "45" in d.reason and "reserve 5" in d.reason


def test_grabs_mam_has_not_counted_yet_are_added_to_its_count() -> None:
    assert decide(account(unsat_count=40), ask=FREE, local=LocalCounts(unsat_since_snapshot=4)).grab
    d = decide(account(unsat_count=40), ask=FREE, local=LocalCounts(unsat_since_snapshot=5))
    assert d.wait_on == Gate.UNSAT and "40 + 5" in d.reason


def test_the_reserve_is_a_policy_value() -> None:
    assert decide(account(unsat_count=45), ask=FREE, policy=GovernorPolicy(unsat_reserve=0)).grab
    assert decide(account(unsat_count=39), ask=FREE, policy=GovernorPolicy(unsat_reserve=11)).wait_on == Gate.UNSAT


def test_a_limit_at_or_under_the_reserve_leaves_no_slot() -> None:
    d = decide(account(unsat_count=0, unsat_limit=5), ask=FREE)
    assert d.wait_on == Gate.UNSAT


def test_free_grabs_also_wait_at_the_unsatisfied_ceiling() -> None:
    """Freeleech costs no ratio but still owes 72 h of seeding: the limit applies to every grab."""
    assert decide(account(unsat_count=48), ask=FREE).wait_on == Gate.UNSAT


# -- decide_grab: pacing --------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "per_hour", "per_day"), [("normal", 10, 100), ("cautious", 2, 12),
                                                          ("freeleech_event", 30, 300)])
def test_pacing_per_mode(mode: str, per_hour: int, per_day: int) -> None:
    policy = GovernorPolicy(mode=mode)  # type: ignore[arg-type]
    assert decide(policy=policy, ask=FREE, local=LocalCounts(grabs_last_hour=per_hour - 1)).grab
    hour = decide(policy=policy, ask=FREE, local=LocalCounts(grabs_last_hour=per_hour))
    assert hour.wait_on == Gate.PACE and mode in hour.reason
    day = decide(policy=policy, ask=FREE, local=LocalCounts(grabs_last_hour=0, grabs_last_day=per_day))
    assert day.wait_on == Gate.PACE


def test_normal_pace_allows_at_least_ten_grabs_an_hour_by_default() -> None:
    per_hour, per_day = POLICY.pace()
    assert per_hour >= 10 and per_day >= per_hour
    assert all(decide(ask=FREE, local=LocalCounts(grabs_last_hour=n, grabs_last_day=n)).grab for n in range(10))


def test_unsat_is_checked_before_pace_so_the_grab_parks_on_the_slower_gate() -> None:
    d = decide(account(unsat_count=45), ask=FREE, local=LocalCounts(grabs_last_hour=99))
    assert d.wait_on == Gate.UNSAT


# -- decide_grab: the ratio floor and its hysteresis ----------------------------------------------


def test_free_grabs_run_below_the_floor_paid_ones_wait() -> None:
    low = account(ratio=0.9)
    free = decide(low, ask=FREE)
    assert free.grab and free.cost_kind == CostKind.FREE and not free.use_wedge
    paid = decide(low, ask=PAID_SMALL, policy=GovernorPolicy(use_wedges=False))
    assert paid.wait_on == Gate.RATIO and "below the floor 1" in paid.reason and "free ones still run" in paid.reason


def test_hysteresis_between_floor_and_recovery() -> None:
    policy = GovernorPolicy(use_wedges=False)
    between = account(ratio=1.02)
    # coming down from above: 1.02 is above the floor, paid grabs run
    assert decide(between, policy=policy, recovering=False).grab
    # coming up from below: 1.02 has not reached 1.05 yet, paid grabs stay off
    held = decide(between, policy=policy, recovering=True)
    assert held.wait_on == Gate.RATIO and "not recovered" in held.reason
    # at recovery they run again, even with the memory still set
    assert decide(account(ratio=1.05), policy=policy, recovering=True).grab


def test_in_recovery_reads_the_latest_reading_outside_the_band() -> None:
    p = POLICY  # floor 1.0, recovery 1.05
    assert in_recovery([1.02, 1.03, 0.98, 1.2], p) is True  # went below, not back at 1.05 yet
    assert in_recovery([1.02, 1.06, 0.98], p) is False  # recovered since
    assert in_recovery([1.02, 1.01], p) is False  # never below
    assert in_recovery([0.99], p) is True
    assert in_recovery([None, 1.02, None, 0.95], p) is True  # unknown readings are skipped
    assert in_recovery([], p) is False


def test_unknown_ratio_holds_paid_grabs_but_nothing_downloaded_is_infinite() -> None:
    policy = GovernorPolicy(use_wedges=False)
    d = decide(account(ratio=None, downloaded_bytes=500 * GIB), policy=policy)
    assert d.wait_on == Gate.RATIO and "did not report the ratio" in d.reason
    assert decide(account(ratio=None, downloaded_bytes=0, uploaded_bytes=10 * GIB), policy=policy).grab
    # nothing uploaded either: the first paid byte makes the ratio 0
    assert decide(account(ratio=None, downloaded_bytes=0, uploaded_bytes=0), policy=policy).wait_on == Gate.RATIO


def test_a_paid_grab_that_would_itself_cross_the_floor_waits() -> None:
    # ratio 1.01 over 100 GiB downloaded: 2 GiB more gives 1.01 * 100 / 102 = 0.990
    acc = account(ratio=1.01, uploaded_bytes=101 * GIB, downloaded_bytes=100 * GIB)
    d = decide(acc, ask=PAID_LARGE, policy=GovernorPolicy(use_wedges=False))
    assert d.wait_on == Gate.RATIO and "0.990" in d.reason
    # 300 MiB keeps it above (1.007)
    assert decide(acc, ask=PAID_SMALL, policy=GovernorPolicy(use_wedges=False)).grab


def test_paid_bytes_mam_has_not_counted_yet_count_against_the_floor() -> None:
    acc = account(ratio=1.01, uploaded_bytes=101 * GIB, downloaded_bytes=100 * GIB)
    pending = LocalCounts(paid_bytes_since_snapshot=1 * GIB)
    d = decide(acc, ask=PAID_SMALL, local=pending, policy=GovernorPolicy(use_wedges=False))
    assert d.wait_on == Gate.RATIO


def test_a_paid_grab_above_the_floor_records_the_ratio_after() -> None:
    d = decide(ask=PAID_SMALL, policy=GovernorPolicy(use_wedges=False))
    assert d.grab and d.cost_kind == CostKind.PAID and not d.use_wedge
    assert d.details["ratio"]["after"] == pytest.approx(2.0 * 1000 / (1000 + 300 / 1024))


# -- decide_grab: wedges --------------------------------------------------------------------------


def test_a_wedge_on_a_large_paid_grab_while_wedges_exceed_the_reserve() -> None:
    rich = account(wedges=11)
    d = decide(rich, ask=PAID_LARGE)
    assert d.grab and d.use_wedge and d.cost_kind == CostKind.WEDGE and "11 left" in d.reason
    # at the reserve (10): no wedge, the grab is paid
    at_reserve = decide(account(wedges=10), ask=PAID_LARGE)
    assert at_reserve.grab and not at_reserve.use_wedge and at_reserve.cost_kind == CostKind.PAID
    # a small paid grab never takes one above the floor
    assert not decide(rich, ask=PAID_SMALL).use_wedge
    # the size threshold is inclusive
    edge = GrabAsk(free=False, size_bytes=POLICY.wedge_min_size_bytes)
    assert decide(rich, ask=edge).use_wedge


def test_wedges_spent_since_the_snapshot_are_taken_off_its_count() -> None:
    """A burst of grabs between two refreshes must not spend into the wedge reserve."""
    rich = account(wedges=12)
    assert decide(rich, ask=PAID_LARGE, local=LocalCounts(wedges_since_snapshot=1)).use_wedge  # 11 left
    d = decide(rich, ask=PAID_LARGE, local=LocalCounts(wedges_since_snapshot=2))  # 10 left: the reserve
    assert d.grab and not d.use_wedge and d.details["wedges"]["left"] == 10


def test_free_grabs_never_need_a_wedge() -> None:
    d = decide(account(wedges=100), ask=FREE)
    assert d.grab and not d.use_wedge


def test_wedges_can_be_switched_off() -> None:
    assert not decide(account(wedges=100), ask=PAID_LARGE, policy=GovernorPolicy(use_wedges=False)).use_wedge


def test_below_the_floor_a_wedge_makes_a_paid_grab_free_whatever_its_size() -> None:
    low = account(ratio=0.8, wedges=12)
    d = decide(low, ask=PAID_SMALL)
    assert d.grab and d.use_wedge and "held by the ratio" in d.reason
    # unless the policy says not to, or the wedges are at the reserve
    assert decide(low, ask=PAID_SMALL, policy=GovernorPolicy(wedge_below_floor=False)).wait_on == Gate.RATIO
    assert decide(account(ratio=0.8, wedges=10), ask=PAID_LARGE).wait_on == Gate.RATIO


def test_from_cost_treats_a_proposed_wedge_as_not_free() -> None:
    assert GrabAsk.from_cost(Cost(CostKind.FREE, "fl", 0, 0), 10).free
    assert not GrabAsk.from_cost(Cost(CostKind.WEDGE, "w", 0, 1), 10).free
    assert not GrabAsk.from_cost(Cost(CostKind.PAID, "p", 10, 0), 10, 5).free


def test_every_decision_is_readable_and_carries_its_figures() -> None:
    d = decide(account(unsat_count=45), ask=FREE)
    assert d.details["unsat"] == {"count": 45, "local": 0, "limit": 50, "reserve": 5}
    assert d.details["at"] == NOW.isoformat()


# -- plan_spends: VIP -----------------------------------------------------------------------------


def vip(days_left: float, **kw: Any) -> AccountSnapshot:
    return account(classname="VIP", vip_until=NOW + timedelta(days=days_left), **kw)


def test_vip_is_renewed_inside_the_window_not_before() -> None:
    (intent,) = plan_spends(vip(6.9, seedbonus=6000.0), replace_policy(spend_upload=False), NOW)
    assert intent.spendtype == SpendType.VIP and intent.key == "vip:2025-03-14" and intent.duration == "4"
    assert intent.points == 5000 and "6.9 days" in intent.reason
    assert plan_spends(vip(7.1, seedbonus=6000.0), replace_policy(spend_upload=False), NOW) == []


def test_vip_is_not_renewed_without_the_points_or_when_switched_off_or_not_vip() -> None:
    off = replace_policy(spend_upload=False)
    assert plan_spends(vip(2, seedbonus=4999.0), off, NOW) == []
    assert plan_spends(vip(2, seedbonus=9000.0), replace_policy(spend_upload=False, vip_renew=False), NOW) == []
    # a Power User with an old vip_until is not renewed: it lapsed, a person decides
    assert plan_spends(account(vip_until=NOW + timedelta(days=1)), off, NOW) == []


def test_vip_durations_and_their_price() -> None:
    assert vip_points(replace_policy(vip_duration="8"), vip(3), NOW) == 10_000
    assert vip_points(replace_policy(vip_duration="12"), vip(3), NOW) == 15_000
    # max tops up to 90 days: 87 days missing = 13 weeks
    assert vip_points(replace_policy(vip_duration="max"), vip(3), NOW) == 13 * 1250
    (intent,) = plan_spends(vip(3, seedbonus=50_000.0), replace_policy(spend_upload=False, vip_duration="max"), NOW)
    assert intent.duration == "max" and "maximum" in intent.reason


def test_vip_renewal_may_use_the_points_reserve() -> None:
    """The reserve exists so VIP stays affordable: uploads never touch it, a renewal may."""
    policy = replace_policy(points_reserve=10_000)
    (intent,) = plan_spends(vip(1, seedbonus=8000.0), policy, NOW)
    assert intent.spendtype == SpendType.VIP


# -- plan_spends: upload credit before the cap ----------------------------------------------------


def replace_policy(**kw: Any) -> GovernorPolicy:
    return GovernorPolicy(**kw)


def test_no_upload_while_points_are_far_from_the_cap() -> None:
    assert plan_spends(account(seedbonus=89_998.0), POLICY, NOW) == []


def test_upload_credit_once_points_are_within_the_threshold_of_the_cap() -> None:
    # cap 99,999, within 10,000: spending starts at 89,999; one step is 10 GB = 5,000 points
    (one,) = plan_spends(account(seedbonus=89_999.0), POLICY, NOW)
    assert one.spendtype == SpendType.UPLOAD and one.amount == 10 and one.points == 5000
    assert one.key == "upload:2025-03-14-15:1" and "within 10000 of the cap" in one.reason
    # at the cap: enough steps to come back under the threshold (10,000 over → 3 steps: strictly under)
    at_cap = plan_spends(account(seedbonus=99_999.0), POLICY, NOW)
    assert [i.key for i in at_cap] == ["upload:2025-03-14-15:1", "upload:2025-03-14-15:2", "upload:2025-03-14-15:3"]
    assert 99_999.0 - sum(i.points or 0 for i in at_cap) < POLICY.points_cap - POLICY.spend_upload_when_within


def test_upload_never_takes_points_under_the_reserve() -> None:
    policy = GovernorPolicy(points_cap=20_000, points_reserve=12_000, spend_upload_when_within=8000)
    # 19,000 points: 7,000 above the reserve buys one 5,000-point step, not two
    assert len(plan_spends(account(seedbonus=19_000.0), policy, NOW)) == 1
    assert plan_spends(account(seedbonus=16_999.0), GovernorPolicy(points_cap=20_000, points_reserve=12_000,
                                                                   spend_upload_when_within=3000), NOW) == []


def test_upload_purchases_per_run_are_bounded() -> None:
    policy = GovernorPolicy(upload_max_per_run=3, spend_upload_when_within=60_000, points_reserve=0)
    assert len(plan_spends(account(seedbonus=99_999.0), policy, NOW)) == 3


def test_upload_when_the_ratio_holds_paid_grabs() -> None:
    # ratio 0.98 over 1000 GiB: 70 GiB missing to reach 1.05 → 7 steps of 10 GB (40,000 points available)
    low = account(ratio=0.98, seedbonus=50_000.0)
    intents = plan_spends(low, POLICY, NOW)
    assert len(intents) == 7 and "holds paid grabs" in intents[0].reason
    # recovering between floor and recovery: still buys toward 1.05
    assert len(plan_spends(account(ratio=1.03, seedbonus=50_000.0), POLICY, NOW, recovering=True)) == 2
    # not when switched off, and not when the ratio is fine
    assert plan_spends(low, GovernorPolicy(spend_upload_on_low_ratio=False), NOW) == []
    assert plan_spends(account(ratio=1.03, seedbonus=50_000.0), POLICY, NOW, recovering=False) == []


def test_vip_first_then_upload_from_what_is_left() -> None:
    intents = plan_spends(vip(2, seedbonus=99_999.0), POLICY, NOW)
    # 94,999 left after VIP: two steps bring it strictly under 89,999
    assert [i.spendtype for i in intents] == [SpendType.VIP, SpendType.UPLOAD, SpendType.UPLOAD]
    assert sum(i.points or 0 for i in intents) == 15_000


def test_switching_upload_off_leaves_points_alone() -> None:
    assert plan_spends(account(seedbonus=99_999.0), GovernorPolicy(spend_upload=False), NOW) == []


def test_nothing_is_planned_without_an_account_or_points() -> None:
    assert plan_spends(None, POLICY, NOW) == []
    assert plan_spends(account(seedbonus=None), POLICY, NOW) == []


# -- plan_spends: idempotency and the crash rule --------------------------------------------------


def rec(key: str, spendtype: str, state: str, at: datetime) -> SpendRecord:
    return SpendRecord(key=key, spendtype=spendtype, state=state, at=at)


def test_a_key_already_recorded_is_not_planned_again() -> None:
    done = [rec("upload:2025-03-14-15:1", "upload", "done", NOW - timedelta(minutes=5))]
    # the snapshot was taken after that purchase and still shows 89,999: the next key is planned
    intents = plan_spends(account(seedbonus=89_999.0), POLICY, NOW, done, account_at=NOW)
    assert [i.key for i in intents] == ["upload:2025-03-14-15:2"]


def test_a_purchase_newer_than_the_snapshot_blocks_its_type_until_a_refresh() -> None:
    snapshot_at = NOW - timedelta(minutes=30)
    made = [rec("upload:2025-03-14-14:1", "upload", "done", NOW - timedelta(minutes=10))]
    assert plan_spends(account(seedbonus=99_999.0), POLICY, NOW, made, account_at=snapshot_at) == []
    # the VIP renewal is another type: not blocked
    (v,) = plan_spends(vip(2, seedbonus=99_999.0), GovernorPolicy(), NOW, made, account_at=snapshot_at)
    assert v.spendtype == SpendType.VIP
    # once a snapshot newer than the purchase exists, the plan trusts its figures
    assert plan_spends(account(seedbonus=99_999.0), POLICY, NOW, made, account_at=NOW)


def test_an_unknown_outcome_is_never_retried_blindly() -> None:
    lost = [rec("vip:2025-03-13", "VIP", "unknown", NOW - timedelta(hours=20))]
    policy = GovernorPolicy(spend_upload=False)
    # a snapshot older than the lost purchase cannot say whether it went through: nothing planned
    assert plan_spends(vip(2), policy, NOW, lost, account_at=NOW - timedelta(hours=21)) == []
    # a newer one can: VIP still ends in 2 days, so it did not; renew (under today's key)
    (again,) = plan_spends(vip(2), policy, NOW, lost, account_at=NOW - timedelta(minutes=1))
    assert again.key == "vip:2025-03-14"


def test_an_intended_row_blocks_its_type_whatever_its_age() -> None:
    stuck = [rec("upload:2025-03-10-01:1", "upload", "intended", NOW - timedelta(days=4))]
    assert plan_spends(account(seedbonus=99_999.0), POLICY, NOW, stuck, account_at=NOW) == []


def test_failed_and_dry_run_rows_do_not_block() -> None:
    rows = [rec("upload:2025-03-14-14:1", "upload", "failed", NOW), rec("dry:upload:x", "upload", "dry_run", NOW)]
    assert plan_spends(account(seedbonus=99_999.0), POLICY, NOW, rows, account_at=NOW - timedelta(hours=1))


# -- never gift, never sendWedge ------------------------------------------------------------------


def test_gift_and_send_wedge_are_not_representable() -> None:
    assert {t.value for t in SpendType} == {"personalFL", "upload", "VIP"}
    for forbidden in ("gift", "sendWedge", "sendwedge", "GIFT"):
        with pytest.raises(ValueError):
            SpendType(forbidden)


def test_no_plan_ever_holds_anything_but_vip_and_upload() -> None:
    seen: set[SpendType] = set()
    for points in (0.0, 5000.0, 50_000.0, 99_999.0, 150_000.0):
        for days in (0.5, 3, 10):
            for ratio in (0.5, 1.02, 3.0):
                for intent in plan_spends(vip(days, seedbonus=points, ratio=ratio), POLICY, NOW, recovering=True):
                    seen.add(intent.spendtype)
    assert seen == {SpendType.VIP, SpendType.UPLOAD}


def test_a_wedge_intent_is_keyed_by_its_torrent() -> None:
    w = wedge_intent(412345, "large paid grab")
    assert w.spendtype == SpendType.PERSONAL_FL and w.key == "wedge:412345" and w.torrent_id == 412345


# -- the policy -----------------------------------------------------------------------------------


def test_policy_defaults_are_the_issues() -> None:
    p = GovernorPolicy()
    assert (p.unsat_reserve, p.ratio_floor, p.ratio_recovery, p.wedge_reserve) == (5, 1.0, 1.05, 10)
    assert p.auto_grab is False and p.dry_run is False and p.mode == "normal" and p.pace()[0] >= 10
    assert p.points_cap == 99_999


@pytest.mark.parametrize(("body", "field"), [
    ({"ratio_floor": 1.2, "ratio_recovery": 1.1}, "ratio_recovery"),
    ({"ratio_floor": 1.2}, "ratio_recovery"),  # the default recovery 1.05 is under the new floor
    ({"normal_grabs_per_hour": 20, "normal_grabs_per_day": 10}, "normal_grabs_per_day"),
    ({"cautious_grabs_per_hour": 20}, "cautious_grabs_per_day"),
    ({"points_cap": 5000}, "points_reserve"),
    ({"spend_upload_when_within": 95_000}, "spend_upload_when_within"),
    ({"mode": "yolo"}, "mode"),
    ({"unsat_reserve": -1}, "unsat_reserve"),
    ({"ratio_floor": math.inf}, "ratio_floor"),
    ({"vip_duration": "52"}, "vip_duration"),
    ({"upload_spend_gb": 0}, "upload_spend_gb"),
    ({"unsat_resrve": 5}, "unsat_resrve"),
])
def test_policy_refuses_what_cannot_keep_the_account_safe_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        GovernorPolicy.model_validate(body)
    assert field in {str(e["loc"][0]) for e in err.value.errors()}


def test_policy_round_trips_through_json() -> None:
    p = GovernorPolicy(mode="cautious", unsat_reserve=8, dry_run=True)
    assert GovernorPolicy.model_validate(p.model_dump(mode="json")) == p


def test_replace_keeps_decisions_pure() -> None:
    """The same inputs give the same decision (no clock read, no state)."""
    a = decide(account(unsat_count=30), ask=PAID_LARGE)
    b = decide(replace(account(), unsat_count=30), ask=PAID_LARGE)
    assert a == b
