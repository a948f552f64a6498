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


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        # a cross-field rule is reported on a field, even when that field was left at its default
        ({"min_bitrate_kbps": 200}, ("ideal_bitrate_kbps",), "min_bitrate_kbps is 200"),
        ({"ideal_bitrate_kbps": [128, 5000]}, ("ideal_bitrate_kbps", 1), "less than or equal to 1000"),
        ({"min_match_confidence": 0.9}, ("confident_match",), "at least min_match_confidence (0.9)"),
        ({"min_seeders": 20}, ("seeders_saturation",), "above min_seeders (20)"),
        ({"spending": {"wedge_penalty": 0.2}}, ("spending", "paid_penalty"), "at least wedge_penalty (0.2)"),
        ({"weights": {"match": 0, "narrator": 0, "format": 0, "bitrate": 0, "single_file": 0, "seeders": 0}},
         ("weights",), "at least one weight"),
        ({"weights": {"seeders": -0.5}}, ("weights", "seeders"), "greater than or equal to 0"),
        ({"plausible_kbps": [0, 400]}, ("plausible_kbps", 0), "greater than 0"),
        ({"languages": ["Englsh"]}, ("languages",), "unknown language 'Englsh'"),
        ({"languages": ["en", "Klingon"]}, ("languages",), "unknown language 'Klingon'"),
        ({"languages": []}, ("languages",), "at least 1 item"),
        ({"formats": ["m4b", "best quality"]}, ("formats",), "not 'best quality'"),
        ({"min_seeders": -1}, ("min_seeders",), "greater than or equal to 0"),
        ({"spending": {"min_ratio_after": float("inf")}}, ("spending", "min_ratio_after"), "finite number"),
        ({"unknown_bitrate_score": float("nan")}, ("unknown_bitrate_score",), "finite number"),
        ({"spending": {"budget": 3}}, ("spending", "budget"), "Extra inputs"),
    ],
)
def test_refusal_names_the_field(body: dict[str, object], loc: tuple[str | int, ...], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        QualityProfile.model_validate(body)
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [loc], errors
    assert message in errors[0]["msg"]


def test_languages_accept_codes_and_names() -> None:
    p = QualityProfile(languages=("ENG", "German", "xx", " "))
    assert p.languages == ("en", "de", "xx")  # an unlisted two-letter code cannot be told wrong; blanks dropped


def test_profile_is_immutable() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        QualityProfile().min_seeders = 3  # type: ignore[misc]


def test_defaults_pass_their_own_rules() -> None:
    """validate_default runs the cross-field rules on the defaults too: they must hold."""
    body = json.loads(QualityProfile().model_dump_json())
    assert QualityProfile.model_validate(body) == QualityProfile()
    assert body["ideal_bitrate_kbps"] == [128, 192] and body["spending"]["paid_penalty"] == 0.1
