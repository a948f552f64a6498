"""The member's quality profile and spending policy: the settings the choice is made under.

JSON in and out (``GET/PUT /api/v1/settings/quality-profile``), validated on the way in so a
profile that cannot choose anything sensibly (all weights zero, an ideal bitrate below the minimum,
a language nobody spells) is refused with a message instead of silently choosing badly. The
defaults are the member's own wishes (``shared/reference/mam.md``, "What the member wants").
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.crawl.choice.edition import language_key

__all__ = ["QualityProfile", "ScoreWeights", "SpendingPolicy"]

_GIB = 1024**3


class ScoreWeights(BaseModel):
    """Relative weight of each quality component; only their ratios matter (the total is normalised)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: float = Field(3.0, ge=0, le=100, description="how sure we are the row is the wanted book")
    narrator: float = Field(3.0, ge=0, le=100, description="the owned series' narrator (strongly preferred)")
    format: float = Field(2.0, ge=0, le=100, description="M4B over MP3")
    bitrate: float = Field(2.0, ge=0, le=100, description="128-192 kbps ideal, unknown penalised")
    single_file: float = Field(0.5, ge=0, le=100, description="one file rather than many")
    seeders: float = Field(1.0, ge=0, le=100, description="more seeders, faster and safer download")

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

    model_config = ConfigDict(extra="forbid", frozen=True)

    use_wedges: bool = True
    wedge_min_size_bytes: int = Field(_GIB // 2, ge=0, description="propose a wedge only at or above this size")
    wedge_reserve: int = Field(0, ge=0, description="propose a wedge only while the account has more than this")
    wedge_penalty: float = Field(0.03, ge=0, le=1, description="score taken off a candidate that needs a wedge")
    paid_penalty: float = Field(0.10, ge=0, le=1,
                                description="score taken off a paid candidate: a free one this close wins")
    min_ratio_after: float = Field(1.0, ge=0, description="a paid grab is affordable when the ratio stays here")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.wedge_penalty > self.paid_penalty:
            raise ValueError("wedge_penalty must not exceed paid_penalty (a wedge costs no ratio)")
        return self


class QualityProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    formats: tuple[str, ...] = Field(("m4b", "m4a", "mp3"), min_length=1,
                                     description="preferred audio formats, best first; others score low")
    min_bitrate_kbps: int = Field(64, ge=0, le=1000, description="below this a known bitrate is rejected")
    ideal_bitrate_kbps: tuple[int, int] = (128, 192)
    unknown_bitrate_score: float = Field(0.3, ge=0, le=1, description="bitrate score when the row does not say")
    allow_abridged: bool = False
    languages: tuple[str, ...] = Field(("en",), min_length=1)
    prefer_single_file: bool = True
    allow_dramatisation: bool = False
    allow_collections: bool = False
    prefer_series_narrator: bool = True
    min_seeders: int = Field(1, ge=0, description="fewer seeders is a rejection (0 seeders never completes)")
    seeders_saturation: int = Field(20, ge=1, description="seeders beyond this add nothing")
    min_match_confidence: float = Field(0.6, ge=0, le=1, description="below this a row is not the wanted book")
    confident_match: float = Field(0.85, ge=0, le=1, description="a chosen match this sure stops the search")
    plausible_kbps: tuple[float, float] = Field(
        (16.0, 400.0), description="size over the expected runtime outside this is implausible")
    duration_tolerance: float = Field(
        0.15, gt=0, le=1, description="mediaInfo duration this far (fraction) off the runtime is implausible")
    weights: ScoreWeights = ScoreWeights()
    spending: SpendingPolicy = SpendingPolicy()

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(v.strip().lower().lstrip(".") for v in value if v.strip()))
        if not cleaned:
            raise ValueError("name at least one format, e.g. m4b")
        return cleaned

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        keys = tuple(dict.fromkeys(k for k in (language_key(v) for v in value) if k))
        if not keys:
            raise ValueError("name at least one language, e.g. en or English")
        return keys

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        low, high = self.ideal_bitrate_kbps
        if not self.min_bitrate_kbps <= low <= high:
            raise ValueError("ideal_bitrate_kbps must be [low, high] with min_bitrate_kbps <= low <= high")
        lo, hi = self.plausible_kbps
        if not 0 < lo < hi:
            raise ValueError("plausible_kbps must be [low, high] with 0 < low < high")
        if self.confident_match < self.min_match_confidence:
            raise ValueError("confident_match must be at least min_match_confidence")
        return self
