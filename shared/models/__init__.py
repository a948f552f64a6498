"""ORM models; importing this package registers every table on ``Base.metadata`` (Alembic needs that)."""

from shared.models.alerts import Alert
from shared.models.crawl import AppSetting, MamAccountSnapshot, MamCandidate, MamSearch, MamSession, MamSnatched
from shared.models.download import Download, GovernorDecision, Obligation, Spend
from shared.models.imports import Import
from shared.models.jobs import ApiKey, Job, JobAttempt, JobProgress, PoolState, StoredSecret
from shared.models.library import (
    Author,
    ItemSeries,
    Library,
    LibraryItem,
    ListingRow,
    Narrator,
    Recording,
    RecordingNarrator,
    Series,
    SeriesMembership,
    Work,
    WorkAuthor,
)
from shared.models.people import User, UserSession
from shared.models.probe import ProbeRun

__all__ = [
    "ApiKey", "Author", "ItemSeries", "Job", "JobAttempt", "JobProgress", "Library", "LibraryItem", "ListingRow",
    "Narrator", "PoolState", "ProbeRun", "Recording", "RecordingNarrator", "Series", "SeriesMembership", "StoredSecret",
    "Work", "WorkAuthor",
]
from shared.models.metadata import (
    FieldProvenance,
    Follow,
    MetadataSeries,
    MetadataSeriesLink,
    MetadataSeriesWork,
    OwnedKey,
    ProviderCacheEntry,
    ProviderSeries,
    ProviderSeriesEntry,
    RecordingMatch,
    Wanted,
    WantedAlias,
)

__all__ += [
    "FieldProvenance", "Follow", "MetadataSeries", "MetadataSeriesLink", "MetadataSeriesWork", "OwnedKey",
    "ProviderCacheEntry", "ProviderSeries", "ProviderSeriesEntry", "RecordingMatch", "Wanted",
    "WantedAlias",
]

__all__ += ["Alert", "AppSetting", "MamAccountSnapshot", "MamCandidate", "MamSearch", "MamSession", "MamSnatched"]

__all__ += ["Download", "GovernorDecision", "Obligation", "Spend"]
__all__ += ["Import"]

__all__ += ["User", "UserSession"]
