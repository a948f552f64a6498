"""shared.crawl.choice.quality and .cost: component scores, weights, what a grab would cost."""

from __future__ import annotations

from shared.crawl.choice import CostKind, QualityProfile, ScoreWeights, SpendingPolicy, choose
from shared.crawl.choice.cost import cost_of
from shared.crawl.choice.quality import bitrate_score, format_score, narrator_score, seeders_score
from tests.fixtures.choice import GIB, account, target, torrent

PROFILE = QualityProfile()


def test_bitrate_score_shape() -> None:
    assert bitrate_score(None, PROFILE) == PROFILE.unknown_bitrate_score
    assert bitrate_score(32, PROFILE) == 0.0
    assert bitrate_score(64, PROFILE) == 0.6
    assert 0.6 < bitrate_score(96, PROFILE) < 1.0
    assert bitrate_score(128, PROFILE) == bitrate_score(192, PROFILE) == 1.0
    assert bitrate_score(320, PROFILE) == 0.9
    assert bitrate_score(64, PROFILE) > bitrate_score(None, PROFILE)  # unknown is penalised below acceptable


def test_format_score_follows_the_profile_order() -> None:
    assert format_score("m4b", PROFILE) > format_score("m4a", PROFILE) > format_score("mp3", PROFILE)
    assert format_score("mp3", PROFILE) > format_score(None, PROFILE) > format_score("flac", PROFILE)
    mp3_first = QualityProfile(formats=("mp3", "m4b"))
    assert format_score("mp3", mp3_first) > format_score("m4b", mp3_first)


def test_seeders_saturate() -> None:
    assert seeders_score(0, PROFILE) == 0.0
    assert 0 < seeders_score(1, PROFILE) < seeders_score(5, PROFILE) < seeders_score(20, PROFILE) == 1.0
    assert seeders_score(500, PROFILE) == 1.0


def test_narrator_score_prefers_the_owned_series_narrator() -> None:
    wanted = target(title="B", narrators=["Nigel Planer"], series_narrators=["Stephen Briggs"])
    briggs = torrent(torrent_id=1, title="B", narrators=["Stephen Briggs"])
    planer = torrent(torrent_id=2, title="B", narrators=["Nigel Planer"])
    nobody = torrent(torrent_id=3, title="B")
    assert narrator_score(wanted, briggs, PROFILE) == 1.0
    assert narrator_score(wanted, planer, PROFILE) == 0.0
    assert 0 < narrator_score(wanted, nobody, PROFILE) < 1
    off = QualityProfile(prefer_series_narrator=False)
    assert narrator_score(wanted, planer, off) == 1.0  # then the expected narrator counts
    assert narrator_score(target(title="B"), planer, PROFILE) == narrator_score(target(title="B"), nobody, PROFILE)


def test_weights_change_the_choice() -> None:
    wanted = target(title="B", authors=["A"], series_narrators=["Stephen Briggs"], runtime_seconds=36000)
    rows = [torrent(torrent_id=1, title="B", authors=["A"], narrators=["Stephen Briggs"], bitrate_kbps=64),
            torrent(torrent_id=2, title="B", authors=["A"], narrators=["Other"], bitrate_kbps=128)]
    default = choose(wanted, rows, account(), PROFILE).chosen
    assert default is not None and default.torrent_id == 1
    bitrate_only = QualityProfile(weights=ScoreWeights(match=0, narrator=0, format=0, single_file=0, seeders=0))
    chosen = choose(wanted, rows, account(), bitrate_only).chosen
    assert chosen is not None and chosen.torrent_id == 2


def test_cost_free_for_this_member() -> None:
    policy = SpendingPolicy()
    assert cost_of(torrent(torrent_id=1, title="B", free=True), None, policy).kind == CostKind.FREE
    assert cost_of(torrent(torrent_id=1, title="B", personal_freeleech=True), None, policy).kind == CostKind.FREE
    fl_vip = torrent(torrent_id=1, title="B", fl_vip=True, size=GIB // 10)
    assert cost_of(fl_vip, account(classname="Elite VIP"), policy).kind == CostKind.FREE
    assert cost_of(fl_vip, account(classname="Power User"), policy).kind == CostKind.PAID
    assert cost_of(fl_vip, None, policy).kind == CostKind.PAID  # unknown class: not taken for VIP
    free = cost_of(fl_vip, account(classname="VIP"), policy)
    assert free.ratio_bytes == 0 and free.wedges == 0


def test_wedge_only_by_policy() -> None:
    big = torrent(torrent_id=1, title="B", size=2 * GIB)
    small = torrent(torrent_id=2, title="B", size=GIB // 10)
    policy = SpendingPolicy(wedge_min_size_bytes=GIB, wedge_reserve=2)
    wedge = cost_of(big, account(wedges=3), policy)
    assert wedge.kind == CostKind.WEDGE and wedge.wedges == 1 and wedge.ratio_bytes == 0
    assert cost_of(big, account(wedges=2), policy).kind == CostKind.PAID  # the reserve is kept
    assert cost_of(small, account(wedges=30), policy).kind == CostKind.PAID
    assert cost_of(big, account(wedges=30), SpendingPolicy(use_wedges=False)).kind == CostKind.PAID


def test_paid_records_the_ratio_after() -> None:
    row = torrent(torrent_id=1, title="B", size=50 * GIB)
    rich = cost_of(row, account(uploaded=300 * GIB, downloaded=100 * GIB), SpendingPolicy())
    assert rich.kind == CostKind.PAID and rich.ratio_bytes == 50 * GIB
    assert rich.ratio_after == 2.0 and rich.affordable is True
    poor = cost_of(row, account(uploaded=110 * GIB, downloaded=100 * GIB), SpendingPolicy())
    assert poor.ratio_after is not None and poor.ratio_after < 1.0 and poor.affordable is False
    unknown = cost_of(torrent(torrent_id=1, title="B"), account(), SpendingPolicy())
    assert unknown.ratio_bytes is None and unknown.affordable is None
