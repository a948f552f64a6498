"""shared.crawl.choice.profile: the member's defaults, JSON round trip, refusals with reasons."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.crawl.choice import QualityProfile, ScoreWeights, SpendingPolicy


def test_defaults_are_the_members() -> None:
    p = QualityProfile()
    assert p.formats[0] == "m4b" and p.formats.index("m4b") < p.formats.index("mp3")
    assert p.min_bitrate_kbps == 64 and p.ideal_bitrate_kbps == (128, 192)
    assert not p.allow_abridged and not p.allow_dramatisation and not p.allow_collections
    assert p.languages == ("en",) and p.min_seeders == 1 and p.prefer_series_narrator


def test_json_round_trip() -> None:
    p = QualityProfile(formats=("MP3", ".m4b"), languages=("English", "de"),
                       weights=ScoreWeights(narrator=5), spending=SpendingPolicy(use_wedges=False))
    body = json.loads(p.model_dump_json())
    assert body["formats"] == ["mp3", "m4b"] and body["languages"] == ["en", "de"]
    assert QualityProfile.model_validate(body) == p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"weights": {"match": 0, "narrator": 0, "format": 0, "bitrate": 0, "single_file": 0, "seeders": 0}},
         "at least one weight"),
        ({"ideal_bitrate_kbps": [32, 48]}, "min_bitrate_kbps <= low"),
        ({"ideal_bitrate_kbps": [192, 128]}, "low <= high"),
        ({"plausible_kbps": [400, 16]}, "0 < low < high"),
        ({"confident_match": 0.5, "min_match_confidence": 0.7}, "confident_match"),
        ({"spending": {"wedge_penalty": 0.5, "paid_penalty": 0.1}}, "wedge_penalty"),
        ({"formats": [" "]}, "at least one format"),
        ({"languages": []}, "at least 1 item"),
        ({"weights": {"narrator": -1}}, "greater than or equal"),
        ({"bitrate": 64}, "Extra inputs"),
    ],
)
def test_refused(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        QualityProfile.model_validate(body)
