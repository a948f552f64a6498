"""shared.crawl.choice.choose/.explain/.rejections: ranking, the stored shape, reasons, determinism."""

from __future__ import annotations

import itertools
import json

from shared.crawl.choice import QualityProfile, RejectionCode, choose, describe
from tests.fixtures.choice import account, target, torrent

WANTED = target(title="The Colour of Magic", authors=["Terry Pratchett"], series_name="Discworld", position="1",
                runtime_seconds=25200, series_narrators=["Stephen Briggs"])
ROWS = [
    torrent(torrent_id=3, title="The Colour of Magic", narrators=["Stephen Briggs"], bitrate_kbps=64,
            size=25200 * 8000, seeders=5),
    torrent(torrent_id=1, title="The Colour of Magic", narrators=["Nigel Planer"], bitrate_kbps=128,
            size=25200 * 16000, free=True),
    torrent(torrent_id=2, title="The Colour of Magic", tags="Abridged", seeders=50),
    torrent(torrent_id=4, title="The Light Fantastic", series_specs=["Discworld: 2"], seeders=0),
]


def test_the_stored_shape_is_json_and_complete() -> None:
    decision = choose(WANTED, ROWS, account())
    body = json.loads(json.dumps(decision.as_dict()))
    assert body["chosen_torrent_id"] == 3 and body["confident"] is True
    items = body["items"]
    assert [i["torrent_id"] for i in items][:2] == [3, 1] and [i["chosen"] for i in items] == [True] + [False] * 3
    for item in items:
        assert {"torrent_id", "title", "chosen", "score", "breakdown", "match", "cost", "rejections"} <= set(item)
        assert abs(sum(item["breakdown"].values()) - item["score"]) < 1e-3  # the breakdown adds up
    free = next(i for i in items if i["torrent_id"] == 1)
    assert free["cost"]["kind"] == "free" and free["breakdown"]["cost"] == 0
    light = next(i for i in items if i["torrent_id"] == 4)
    assert {r["code"] for r in light["rejections"]} == {"wrong_book_title", "wrong_book_position", "no_seeders"}
    assert body["rejection_counts"]["no_seeders"] == 1


def test_acceptable_rows_rank_above_rejected_ones_whatever_their_score() -> None:
    decision = choose(WANTED, ROWS, account())
    flags = [c.acceptable for c in decision.candidates]
    assert flags == sorted(flags, reverse=True)
    assert decision.candidates[2].score > decision.candidates[1].score or not decision.candidates[2].acceptable


def test_the_decision_does_not_depend_on_row_order() -> None:
    orders = {tuple(c.torrent_id for c in choose(WANTED, list(p), account()).candidates)
              for p in itertools.permutations(ROWS)}
    assert len(orders) == 1


def test_ties_break_on_seeders_then_the_older_upload() -> None:
    twins = [torrent(torrent_id=i, title="The Colour of Magic", bitrate_kbps=64, numfiles=None, seeders=s)
             for i, s in ((9, 20), (7, 20), (8, 20))]
    profile = QualityProfile(seeders_saturation=5)  # every row saturates: equal scores
    assert [c.torrent_id for c in choose(WANTED, twins, account(), profile).candidates] == [7, 8, 9]


def test_nothing_acceptable_is_an_answer_with_reasons() -> None:
    decision = choose(WANTED, [ROWS[2], ROWS[3]], account())
    assert decision.chosen is None and not decision.confident
    assert decision.summary.startswith("nothing acceptable among 2 rows:")
    assert "abridged x1" in decision.summary and "no_seeders x1" in decision.summary
    assert all(c.rejections and not c.chosen for c in decision.candidates)
    assert "rejected: abridged (" in describe(decision.candidates[0]) + describe(decision.candidates[1])


def test_a_weak_title_only_match_is_low_match_and_never_confident() -> None:
    strict = QualityProfile(min_match_confidence=0.95, confident_match=0.95)
    row = torrent(torrent_id=1, title="The Colour of Magic")
    decision = choose(WANTED, [row], account(), strict)
    assert decision.chosen is None
    assert [r.code for r in decision.candidates[0].rejections] == [RejectionCode.LOW_MATCH]
    chosen = choose(WANTED, [row], account()).chosen
    assert chosen is not None and chosen.match.confidence < 0.95


def test_profile_switches_lift_rejections() -> None:
    abridged = torrent(torrent_id=1, title="The Colour of Magic", tags="Abridged")
    assert choose(WANTED, [abridged], account()).chosen is None
    assert choose(WANTED, [abridged], account(), QualityProfile(allow_abridged=True)).chosen is not None
    box = torrent(torrent_id=2, title="Discworld Omnibus", series_specs=["Discworld: 1-3"])
    assert choose(WANTED, [box], account()).chosen is None
    lenient = QualityProfile(allow_collections=True)
    assert choose(WANTED, [box], account(), lenient).candidates[0].rejections == ()
    # Allowed collections must still hold the wanted book: another box set is another book.
    other = torrent(torrent_id=3, title="Discworld Omnibus", series_specs=["Discworld: 4-6"])
    codes = [r.code for r in choose(WANTED, [other], account(), lenient).candidates[0].rejections]
    assert codes == [RejectionCode.WRONG_BOOK_TITLE, RejectionCode.WRONG_BOOK_POSITION]
