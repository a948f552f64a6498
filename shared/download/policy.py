"""The account governor's policy: what it lets a grab cost the account, and what it spends points on.

JSON in and out (``GET/PUT /api/v1/settings/governor``, stored by :mod:`shared.download.policy_store`),
flat keys so a person can read and write each one without nesting. Validated on the way in: a policy
that could not keep the account safe (a recovery threshold under the floor, a daily pace under the
hourly one, a points reserve at the cap) is refused with a message naming the field, rather than
quietly obeyed. A rule involving two fields is checked on the later one (``validate_default`` so it
also runs when that field is left out), so the error's ``loc`` names a field.

The defaults are the issue's: unsatisfied reserve 5, ratio floor 1.0 with recovery at 1.05, normal
pacing of 10 grabs an hour, a wedge reserve of 10, auto-grab off. MAM's prices (500 points per GB of
upload credit, 5,000 per four weeks of VIP) are fields too, since MAM can change them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["MODES", "GovernorPolicy", "Mode", "VipDuration"]

Mode = Literal["normal", "cautious", "freeleech_event"]
MODES: tuple[Mode, ...] = ("normal", "cautious", "freeleech_event")
#: Weeks of VIP per purchase, or ``max`` (MAM tops the membership up to its longest term).
VipDuration = Literal["4", "8", "12", "max"]

_MIB = 1024**2
Pace = Annotated[int, Field(ge=0, le=10_000)]
# Refused rather than stored: inf would be written to JSON as null and the stored policy would no
# longer load; nan compares false with every bound.
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class GovernorPolicy(BaseModel):
    """Every rule the governor applies before a grab and every spend it may make (flat keys)."""

    model_config = _STRICT

    auto_grab: bool = Field(False, description="grab a wanted entry's chosen candidate without a person asking")
    dry_run: bool = Field(False, description="decide and record everything, grab and spend nothing")
    mode: Mode = Field("normal", description="pacing mode: normal, cautious or freeleech_event")
    normal_grabs_per_hour: Pace = Field(10, validate_default=True,
                                        description="grabs allowed per rolling hour in normal mode")
    normal_grabs_per_day: Pace = Field(100, validate_default=True,
                                       description="grabs allowed per rolling 24 h in normal mode")
    cautious_grabs_per_hour: Pace = Field(2, validate_default=True,
                                          description="grabs allowed per rolling hour in cautious mode")
    cautious_grabs_per_day: Pace = Field(12, validate_default=True,
                                         description="grabs allowed per rolling 24 h in cautious mode")
    freeleech_event_grabs_per_hour: Pace = Field(30, validate_default=True,
                                                 description="grabs allowed per rolling hour during a freeleech event")
    freeleech_event_grabs_per_day: Pace = Field(300, validate_default=True,
                                                description="grabs allowed per rolling 24 h during a freeleech event")

    unsat_reserve: int = Field(5, ge=0, le=10_000,
                               description="unsatisfied slots never used: grabs wait at unsat limit minus this")
    ratio_floor: float = Field(1.0, ge=0, le=1000, description="below this ratio only grabs free for the member run")
    ratio_recovery: float = Field(1.05, ge=0, le=1000, validate_default=True,
                                  description="once below the floor, paid grabs resume only at this ratio")
    account_max_age_for_grab: float = Field(
        7200.0, gt=0, le=7 * 86400,
        description="seconds: a grab waits for an account refresh when the latest snapshot is older")

    use_wedges: bool = Field(True, description="spend a freeleech wedge on large paid grabs")
    wedge_reserve: int = Field(10, ge=0, le=100_000, description="wedges are spent only while more than this remain")
    wedge_min_size_bytes: int = Field(512 * _MIB, ge=0, description="a paid grab this large or larger gets a wedge")
    wedge_below_floor: bool = Field(
        True, description="while paid grabs are held by the ratio, a wedge (above the reserve) makes any size free")

    vip_renew: bool = Field(True, description="renew VIP with points before it lapses")
    vip_renew_days_before: float = Field(7.0, ge=0, le=90, description="renew when VIP ends within this many days")
    vip_duration: VipDuration = Field("4", description="weeks of VIP bought per renewal (4, 8, 12 or max)")
    vip_points_per_4_weeks: float = Field(5000.0, gt=0, le=1_000_000, description="MAM's price of 4 weeks of VIP")

    spend_upload: bool = Field(True, description="buy upload credit with points (near the cap, or for the ratio)")
    points_cap: float = Field(99_999.0, gt=0, le=10_000_000,
                              description="MAM's bonus-point cap: points past it are lost")
    points_reserve: float = Field(10_000.0, ge=0, le=10_000_000, validate_default=True,
                                  description="upload purchases never take points below this (VIP stays affordable)")
    spend_upload_when_within: float = Field(
        10_000.0, ge=0, le=10_000_000, validate_default=True,
        description="buy upload credit once points are within this of the cap")
    spend_upload_on_low_ratio: bool = Field(
        True, description="while paid grabs are held by the ratio, buy the upload credit that reaches ratio_recovery")
    upload_spend_gb: float = Field(10.0, gt=0, le=10_000, description="GB of upload credit per purchase")
    upload_max_per_run: int = Field(10, ge=1, le=100, description="upload purchases one spend run may make")
    upload_points_per_gb: float = Field(500.0, gt=0, le=1_000_000, description="MAM's price of 1 GB of upload credit")

    @field_validator("ratio_recovery")
    @classmethod
    def _recovery_above_floor(cls, value: float, info: ValidationInfo) -> float:
        floor = info.data.get("ratio_floor")
        if floor is not None and value < floor:
            raise ValueError(f"ratio_recovery must be at least ratio_floor ({floor})")
        return value

    @field_validator("normal_grabs_per_day", "cautious_grabs_per_day", "freeleech_event_grabs_per_day")
    @classmethod
    def _day_holds_an_hour(cls, value: int, info: ValidationInfo) -> int:
        assert info.field_name is not None
        hourly_name = info.field_name.replace("_per_day", "_per_hour")
        hourly = info.data.get(hourly_name)
        if hourly is not None and value < hourly:
            raise ValueError(f"{info.field_name} must be at least {hourly_name} ({hourly})")
        return value

    @field_validator("points_reserve")
    @classmethod
    def _reserve_under_cap(cls, value: float, info: ValidationInfo) -> float:
        cap = info.data.get("points_cap")
        if cap is not None and value >= cap:
            raise ValueError(f"points_reserve must be below points_cap ({cap:g})")
        return value

    @field_validator("spend_upload_when_within")
    @classmethod
    def _within_leaves_the_reserve(cls, value: float, info: ValidationInfo) -> float:
        cap, reserve = info.data.get("points_cap"), info.data.get("points_reserve")
        if cap is not None and reserve is not None and cap - value < reserve:
            raise ValueError(f"points_cap - spend_upload_when_within must stay at or above points_reserve "
                             f"({reserve:g}): spending would start inside the reserve")
        return value

    def pace(self) -> tuple[int, int]:
        """(grabs per hour, grabs per day) of the current mode."""
        return {
            "normal": (self.normal_grabs_per_hour, self.normal_grabs_per_day),
            "cautious": (self.cautious_grabs_per_hour, self.cautious_grabs_per_day),
            "freeleech_event": (self.freeleech_event_grabs_per_hour, self.freeleech_event_grabs_per_day),
        }[self.mode]
