"""The notification kinds (a module of its own so the settings and the sender can both name them)."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """Every notification kind a person can switch off (``MAMC_NOTIFY_DISABLED``, or the API)."""

    GRABBED = "grabbed"
    DOWNLOAD_STALLED = "download_stalled"
    HIT_AND_RUN_RISK = "hit_and_run_risk"
    MAM_SESSION_INVALID = "mam_session_invalid"
    UNSAT_NEAR_LIMIT = "unsat_near_limit"
    VIP_EXPIRING = "vip_expiring"
    POINTS_NEAR_CAP = "points_near_cap"
