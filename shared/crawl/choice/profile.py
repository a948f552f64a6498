"""The member's quality profile and spending policy: the settings the choice is made under.

JSON in and out (``GET/PUT /api/v1/settings/quality-profile``, stored by
:mod:`shared.crawl.profile_store`), validated on the way in so a profile that cannot choose anything
sensibly (all weights zero, an ideal bitrate below the minimum, a language nobody spells) is refused
with a message instead of silently choosing badly. A rule that involves two fields is checked on the
later one (``validate_default`` so it also runs when that field is left out): the error then names a
field (``loc``) rather than the whole body. The defaults are the member's own wishes
(``shared/reference/mam.md``, "What the member wants").
"""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shared.crawl.choice.edition import language_key

__all__ = ["QualityProfile", "ScoreWeights", "SpendingPolicy"]

_GIB = 1024**3
# Refused rather than stored: inf would be written to JSON as null and the stored profile would no
# longer load; nan compares false with every bound.
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
_FORMAT = re.compile(r"[a-z0-9]{1,10}")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")  # ISO 639-1 or -2, what MAM's lang_code becomes

Weight = Annotated[float, Field(ge=0, le=100)]
Kbps = Annotated[int, Field(ge=1, le=1000)]
PlausibleKbps = Annotated[float, Field(gt=0, le=10_000)]


class ScoreWeights(BaseModel):
    """Relative weight of each quality component; only their ratios matter (the total is normalised)."""

    model_config = _STRICT

    match: Weight = Field(3.0, description="how sure we are the row is the wanted book")
    narrator: Weight = Field(3.0, description="the owned series' narrator (strongly preferred)")
    format: Weight = Field(2.0, description="the profile's format order (M4B over MP3)")
    bitrate: Weight = Field(2.0, description="inside ideal_bitrate_kbps best, unknown penalised")
    single_file: Weight = Field(0.5, description="one file rather than many")
    seeders: Weight = Field(1.0, description="more seeders, faster and safer download")

    @model_validator(mode="after")
    def _some_weight(self) -> Self:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("at least one weight must be above 0")
        return self

    def as_dict(self) -> dict[str, float]:
        return {"match": self.match, "narrator": self.narrator, "format": self.format, "bitrate": self.bitrate,
                "single_file": self.single_file, "seeders": self.seeders}


class SpendingPolicy(BaseModel):
    """What a grab may cost. The search only *records* the cost; the download governor decides.

    Free for the member always comes first among candidates of similar quality; a wedge (personal
    freeleech) is proposed only for a large download while more than ``wedge_reserve`` are left;
    anything else is paid, counted against the ratio.
    """

    model_config = _STRICT

    use_wedges: bool = Field(True, description="propose spending a freeleech wedge on a large paid download")
    wedge_min_size_bytes: int = Field(_GIB // 2, ge=0, description="propose a wedge only at or above this size")
    wedge_reserve: int = Field(0, ge=0, description="propose a wedge only while the account has more than this")
    wedge_penalty: float = Field(0.03, ge=0, le=1, description="score taken off a candidate that needs a wedge")
    paid_penalty: float = Field(0.10, ge=0, le=1, validate_default=True,
                                description="score taken off a paid candidate: a free one this close wins")
    min_ratio_after: float = Field(1.0, ge=0, le=1000,
                                   description="a paid grab is affordable when the ratio stays at or above this")

    @field_validator("paid_penalty")
    @classmethod
    def _paid_costs_more(cls, value: float, info: ValidationInfo) -> float:
        wedge = info.data.get("wedge_penalty")
        if wedge is not None and value < wedge:
            raise ValueError(f"paid_penalty must be at least wedge_penalty ({wedge}): a wedge costs no ratio")
        return value


class QualityProfile(BaseModel):
    """What makes an edition acceptable and how acceptable ones are ranked (``choose``)."""

    model_config = _STRICT

    formats: tuple[Annotated[str, Field(max_length=20)], ...] = Field(
        ("m4b", "m4a", "mp3"), min_length=1, max_length=20,
        description="preferred audio formats (file extensions), best first; others score low")
    min_bitrate_kbps: int = Field(64, ge=0, le=1000, description="below this a known bitrate is rejected")
    ideal_bitrate_kbps: tuple[Kbps, Kbps] = Field(
        (128, 192), validate_default=True,
        description="[low, high]: full bitrate score inside, less from min_bitrate_kbps up to low, a bit less above")
    unknown_bitrate_score: float = Field(0.3, ge=0, le=1, description="bitrate score when the row does not say")
    allow_abridged: bool = Field(False, description="accept abridged editions (rejected otherwise)")
    languages: tuple[Annotated[str, Field(max_length=40)], ...] = Field(
        ("en",), min_length=1, max_length=20,
        description="accepted languages: ISO 639 codes (en, de) or names (English); any other is rejected")
    prefer_single_file: bool = Field(True, description="score one file above many")
    allow_dramatisation: bool = Field(False, description="accept GraphicAudio, dramatised, full-cast editions")
    allow_collections: bool = Field(
        False, description="accept collections, omnibus and box sets (that hold the wanted book) for a single book")
    prefer_series_narrator: bool = Field(
        True, description="score the narrator of the owned books of the series above the wanted entry's narrators")
    min_seeders: int = Field(1, ge=0, le=10_000, description="fewer seeders is a rejection (0 seeders never completes)")
    seeders_saturation: int = Field(20, ge=1, le=10_000, validate_default=True,
                                    description="seeders beyond this add nothing")
    min_match_confidence: float = Field(0.6, ge=0, le=1, description="below this a row is not the wanted book")
    confident_match: float = Field(0.85, ge=0, le=1, validate_default=True,
                                   description="a chosen match this sure stops the search")
    plausible_kbps: tuple[PlausibleKbps, PlausibleKbps] = Field(
        (16.0, 400.0), validate_default=True,
        description="[low, high]: size over the expected runtime outside this is implausible")
    duration_tolerance: float = Field(
        0.15, gt=0, le=1, description="mediaInfo duration this far (fraction) off the runtime is implausible")
    weights: ScoreWeights = Field(ScoreWeights(), description="relative weight of each quality component")
    spending: SpendingPolicy = Field(SpendingPolicy(), description="what a grab may cost")

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(v.strip().lower().lstrip(".") for v in value if v.strip()))
        if not cleaned:
            raise ValueError("name at least one format, e.g. m4b")
        odd = [v for v in cleaned if not _FORMAT.fullmatch(v)]
        if odd:
            raise ValueError(f"formats are file extensions such as m4b or mp3, not {', '.join(map(repr, odd))}")
        return cleaned

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        keys = [(v, language_key(v)) for v in value]
        unknown = [raw for raw, key in keys if key is not None and not _LANGUAGE_CODE.fullmatch(key)]
        if unknown:
            raise ValueError(f"unknown language {', '.join(map(repr, unknown))}: use an ISO 639 code "
                             "(en, de, fr) or an English name (English, German)")
        known = tuple(dict.fromkeys(key for _, key in keys if key))
        if not known:
            raise ValueError("name at least one language, e.g. en or English")
        return known

    @field_validator("ideal_bitrate_kbps")
    @classmethod
    def _ideal_above_minimum(cls, value: tuple[int, int], info: ValidationInfo) -> tuple[int, int]:
        low, high = value
        minimum = info.data.get("min_bitrate_kbps")
        if low > high or (minimum is not None and minimum > low):
            raise ValueError(f"ideal_bitrate_kbps must be [low, high] with min_bitrate_kbps <= low <= high "
                             f"(min_bitrate_kbps is {minimum}, got [{low}, {high}])")
        return value

    @field_validator("seeders_saturation")
    @classmethod
    def _saturation_above_minimum(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_seeders")
        if minimum is not None and value <= minimum:
            raise ValueError(f"seeders_saturation must be above min_seeders ({minimum}), or every accepted "
                             "row would score the same on seeders")
        return value

    @field_validator("confident_match")
    @classmethod
    def _confident_above_minimum(cls, value: float, info: ValidationInfo) -> float:
        minimum = info.data.get("min_match_confidence")
        if minimum is not None and value < minimum:
            raise ValueError(f"confident_match must be at least min_match_confidence ({minimum})")
        return value

    @field_validator("plausible_kbps")
    @classmethod
    def _plausible_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 < value[0] < value[1]:
            raise ValueError("plausible_kbps must be [low, high] with 0 < low < high")
        return value
