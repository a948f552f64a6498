"""One settings class for every process, read from ``MAMC_*`` environment variables.

Validation runs at start-up (``get_settings()`` is the first thing every entry point calls) so a
bad value stops the process with a message naming the variable, instead of failing at 3 a.m.
in the middle of a job. In ``prod`` placeholder or missing secrets are refused.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.engine.ratelimit import Limit
from shared.imports.paths import PathMappings
from shared.imports.template import DEFAULT_TEMPLATE, check_template
from shared.infra.errors import ConfigError

DEFAULT_RATE_LIMITS = {
    "mam": "1/3/1",  # one MAM request every 3 s on all hosts, no burst: a minimum spacing
    "abs": "20/1/20",
    "qbit": "10/1/10",
    "audnexus": "100/60/5",
    "audible": "60/60/5",
    "hardcover": "60/60/5",
    "itunes": "20/60/2",
    "openlibrary": "100/300/5",
    "googlebooks": "100/60/5",
    "probe": "1000/1/100",
}
PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "secret", "password", "admin", "xxx"}
# Metadata merge vocabulary: who can say something about a recording, and what they can say.
METADATA_SOURCES = ("audible", "audnexus", "hardcover", "abs", "googlebooks", "openlibrary", "itunes")
#: Print catalogues: they fill missing ISBNs and release dates, ranked after every other source.
PRINT_SOURCES = ("googlebooks", "openlibrary", "itunes")
METADATA_FIELDS = ("title", "subtitle", "authors", "narrators", "series", "duration_seconds", "language",
                   "release_date", "abridged", "asin", "isbn")
# Series gap rules beyond the default (released primary books only): what else counts as missing.
GAP_RULES = ("novella", "prequel", "omnibus", "unreleased")


def parse_categories(text: str) -> tuple[int, ...]:
    """"41, 47" -> (41, 47): positive integers, duplicates dropped, order kept; ValueError otherwise."""
    found: list[int] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if not (piece.isascii() and piece.isdigit()) or int(piece) <= 0:
            raise ValueError(f"MAM category ids are positive integers separated by commas (e.g. 41,47), "
                             f"got {piece!r}")
        if int(piece) not in found:
            found.append(int(piece))
    return tuple(found)


class Settings(BaseSettings):
    """Every knob MAMcrawler has. ``.env.example`` documents each key; docs/configuration.md too."""

    # An empty variable means "not set" (MAMC_SECRET_KEY= must not become an empty key).
    model_config = SettingsConfigDict(env_prefix="MAMC_", env_file=".env", extra="ignore", env_ignore_empty=True)

    env: Literal["dev", "prod"] = "dev"
    secret_key: SecretStr | None = None
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("./data")
    log_level: str = "INFO"
    sentry_dsn: SecretStr | None = None

    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    api_rate_limit: str = "30000/60/1000"
    api_workers: int = Field(2, ge=1, le=64)  # uvicorn processes: one Python process tops out near 200 req/s
    # The web UI: a login lasts this long without use (each use extends it), and never longer than
    # the absolute limit. MAMC_BEHIND_HTTPS marks cookies Secure (set it when a TLS proxy is in front).
    session_idle_hours: float = Field(14 * 24.0, gt=0, le=366 * 24)
    session_max_days: float = Field(30.0, gt=0, le=366)
    behind_https: bool = False
    # Built UI files served at / (make ui); empty = the checkout's ui/dist.
    ui_dir: Path | None = None
    flower_host: str = "127.0.0.1"
    flower_port: int = Field(5555, ge=1, le=65535)
    flower_user: str = "admin"
    flower_password: SecretStr | None = None

    # Outside services: every base URL is configuration so tests and users can point anywhere.
    mam_url: str = "https://www.myanonamouse.net"
    # The MAM session cookie; one entered with PUT /api/v1/account/session overrides it.
    mam_id: SecretStr | None = None
    # After a 429 or 5xx from MAM, every MAM request of the account waits this long unless the
    # answer named its own Retry-After.
    mam_backoff_seconds: float = Field(60.0, ge=0, le=86400)
    # A search refreshes the account's standing first when the latest snapshot is older than this.
    account_max_age: float = Field(6 * 3600.0, gt=0)
    # Dry run: searches and choices run and are recorded, nothing is grabbed or spent (a job may
    # also ask for it with its own ``dry_run`` flag).
    dry_run: bool = False
    # The same MAM search within this many seconds is answered from the cache (one request).
    mam_search_cache_seconds: float = Field(300.0, ge=0, le=86400)
    # After "nothing acceptable", look again after base * 2^(misses-1) seconds, at most max.
    crawl_retry_base_seconds: float = Field(6 * 3600.0, gt=0)
    crawl_retry_max_seconds: float = Field(7 * 24 * 3600.0, gt=0)
    # Automatic searching: each beat run queues at most this many searches (highest priority first).
    crawl_auto_search_batch: int = Field(10, ge=0, le=1000)
    # Notifications: Apprise URLs (space or comma separated; they often hold tokens: a secret), and
    # the event kinds switched off (comma separated: grabbed, download_stalled, hit_and_run_risk,
    # mam_session_invalid, unsat_near_limit, vip_expiring, points_near_cap).
    notify_urls: SecretStr | None = None
    notify_disabled: str = ""
    # Account notifications: unsatisfied within this many of the limit; VIP ending within this
    # many days; bonus points at or above this (MAM caps them at 99,999).
    notify_unsat_headroom: int = Field(10, ge=0)
    notify_vip_days: float = Field(7.0, ge=0)
    notify_points_near: float = Field(95_000.0, ge=0)
    # Top lists (crawl.top_list): MAM audiobook categories browsed by snatches over the last N days;
    # their top books become *suggestions* a person approves. "" = off.
    crawl_top_list_categories: str = ""
    crawl_top_list_days: int = Field(7, ge=1, le=365)
    crawl_top_list_size: int = Field(10, ge=1, le=100)
    abs_url: str = "http://127.0.0.1:13378"
    abs_token: SecretStr | None = None
    # Imports (docs/imports.md): the ABS library folder as this worker sees it (imports are placed
    # there); how qBittorrent's, this worker's and ABS's views of the same folders map
    # ({"qbit_to_worker": [["/downloads", "/srv/downloads"]], "worker_to_abs": [["/srv/library", "/audiobooks"]]});
    # the folder template; how far a download's duration may be from the expected runtime.
    abs_library_dir: Path | None = None
    path_mappings: PathMappings = Field(default_factory=PathMappings)
    import_folder_template: str = DEFAULT_TEMPLATE
    import_duration_tolerance: float = Field(0.03, ge=0.0, le=0.5)
    # Listen to the opening minute for "narrated by <name>" (offline, PocketSphinx; seconds of CPU a book).
    import_listen_narrator: bool = True
    # Waiting for ABS to list an imported folder: at most this long in all, polling from every
    # import_scan_poll seconds (doubling, at most 30 s), asking for a new scan at most
    # import_scan_attempts times when one finishes without the folder.
    import_scan_timeout: float = Field(900.0, gt=0, le=1500)
    import_scan_poll: float = Field(2.0, gt=0, le=60)
    import_scan_attempts: int = Field(3, ge=1, le=10)
    qbit_url: str = "http://127.0.0.1:8081"
    qbit_user: str = "admin"
    qbit_password: SecretStr | None = None
    # Every torrent we add gets this category; the monitor follows the category (hand-added ones too).
    qbit_category: str = Field("mamcrawler", min_length=1, max_length=100)
    # Where qBittorrent saves our downloads, as qBittorrent sees the path; unset = qBittorrent's default.
    qbit_save_path: str | None = None
    # Seeding obligations (MAM: 72 h within 30 days of completion). A torrent owing time is never
    # removed, paused or moved by us. Raise them if MAM's rule changes; never lower them below MAM's.
    seeding_required_seconds: int = Field(72 * 3600, ge=1)
    seeding_window_seconds: int = Field(30 * 86400, ge=1)
    # A torrent not seeding for a reason that is usually brief (checking after a restart, a missed
    # announce) is reported at risk after this long; stopped, errored or gone ones at once.
    seeding_risk_grace_seconds: float = Field(600.0, ge=0)
    # A download with no new byte for this long is re-announced; still none after as long again, reported.
    download_stall_seconds: float = Field(1800.0, gt=0)
    # Tracker checks: download.trackers reads the tracker list of each seed owing time about every
    # tracker_check_seconds, at most tracker_checks_per_cycle per run (round-robin, oldest first; the
    # monitor asks, within the same bound a cycle, about the seeds with no fresh answer: found complete,
    # or stale); seeding is credited only while the last check says working and is younger than
    # tracker_stale_seconds.
    tracker_check_seconds: float = Field(900.0, gt=0)
    tracker_checks_per_cycle: int = Field(10, ge=1, le=1000)
    tracker_stale_seconds: float = Field(2700.0, gt=0)
    audnexus_url: str = "https://api.audnex.us"
    audible_url: str = "https://api.audible.com"
    hardcover_url: str = "https://api.hardcover.app"
    hardcover_token: SecretStr | None = None
    itunes_url: str = "https://itunes.apple.com"
    openlibrary_url: str = "https://openlibrary.org"
    googlebooks_url: str = "https://www.googleapis.com"
    googlebooks_key: SecretStr | None = None

    # Global (cross-host) rate limits, LIMIT/PERIOD_SECONDS[/BURST], keyed by outside service.
    rate_limits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))

    # Reliability knobs (see docs/architecture.md: they are decided together).
    visibility_timeout: int = 7200
    max_countdown: int = 300
    heartbeat_interval: float = 5.0
    heartbeat_stale_after: float = 30.0
    sweep_interval: float = 10.0
    lost_message_grace: float = 60.0
    attempt_cap: int = 10
    job_retention_days: float = 7.0

    # Pool sizing (per worker process) and retry policies; overrides of shared.engine.pools defaults.
    concurrency: dict[str, int] = Field(default_factory=dict)
    # CPU priority of worker processes (added to their nice value at start, children inherit it).
    # The gateway and the workers share cores on a small host: a pool consuming flat out would
    # otherwise delay every API answer (POST /api/v1/jobs p99 went from ~13 ms to 100+ ms).
    worker_nice: int = Field(10, ge=0, le=19)
    retry_policies: dict[str, str] = Field(default_factory=dict)  # pool -> "BASE/CAP/MAX_RETRIES"

    # Beat cadences in seconds (periodic jobs expire just before their next run).
    beat_lock_timeout: int = 30
    beat_max_loop_interval: int = 5
    schedule_library_sync: int = 6 * 3600
    schedule_metadata_refresh: int = 24 * 3600
    schedule_gaps_detect: int = 7 * 24 * 3600
    schedule_account_refresh: int = 3600
    schedule_account_spend: int = 3600  # the governor's spend run (VIP renewal, upload credit)
    schedule_crawl_auto_search: int = 30 * 60
    schedule_crawl_top_list: int = 0  # off: top lists only run when a person asks for them
    schedule_download_monitor: int = 60  # download.monitor: one sync/maindata per steady cycle
    schedule_tracker_checks: int = 60  # download.trackers: at most tracker_checks_per_cycle tracker lists a run
    schedule_probe_seconds: float = 0.0
    schedule_probe_pool: str = "library_sync"

    # Metadata pool (docs/metadata.md). Regions are Audible marketplaces: the first is where series
    # are listed and matches are made; the others resolve ASINs bought in another marketplace.
    metadata_regions: list[str] = Field(default_factory=lambda: ["us", "uk", "ca", "au"])
    metadata_language: str = "en"
    metadata_confidence_threshold: float = Field(0.8, ge=0.0, le=1.0)
    metadata_precedence: dict[str, list[str]] = Field(default_factory=lambda: {
        "default": ["audible", "audnexus", "hardcover", "abs", "googlebooks", "openlibrary", "itunes"],
        "duration_seconds": ["abs", "audible", "audnexus", "hardcover"],
    })
    metadata_protected_fields: list[str] = Field(default_factory=lambda: ["title", "narrators", "duration_seconds"])
    metadata_cache_ttl: float = Field(30 * 86400.0, gt=0)
    metadata_listing_cache_ttl: float = Field(3 * 86400.0, gt=0)
    metadata_negative_cache_ttl: float = Field(86400.0, gt=0)
    metadata_refresh_batch: int = Field(500, ge=1, le=100_000)
    metadata_match_chunk: int = Field(50, ge=1, le=500)
    metadata_writeback: bool = False
    metadata_timeout: float = Field(20.0, gt=0, le=300)
    # Print catalogues asked, in order, for recordings whose merged ISBN or release date is empty
    # (metadata.match_print). Off until named, e.g. ["googlebooks", "openlibrary", "itunes"].
    metadata_print_providers: list[str] = Field(default_factory=list)
    gap_rules: list[str] = Field(default_factory=list)

    @field_validator("rate_limits")
    @classmethod
    def _limits_parse(cls, value: dict[str, str]) -> dict[str, str]:
        """Merged over the defaults: setting one service's limit must not drop the others'."""
        value = {**DEFAULT_RATE_LIMITS, **value}
        for key, text in value.items():
            try:
                Limit.parse(text)
            except ValueError as exc:
                raise ValueError(f"MAMC_RATE_LIMITS[{key}]: {exc}") from None
        return value

    @field_validator("retry_policies")
    @classmethod
    def _policies_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for pool, text in value.items():
            parts = text.split("/")
            if len(parts) != 3 or not all(p.replace(".", "", 1).isdigit() for p in parts):
                raise ValueError(f"MAMC_RETRY_POLICIES[{pool}]={text!r}: expected BASE/CAP/MAX_RETRIES, e.g. 5/300/5")
        return value

    @field_validator("crawl_top_list_categories")
    @classmethod
    def _top_list_categories(cls, value: str) -> str:
        """Comma-separated MAM category ids ("41,47"); normalised, duplicates dropped, order kept."""
        return ",".join(str(c) for c in parse_categories(value))

    @field_validator("qbit_category")
    @classmethod
    def _qbit_category(cls, value: str) -> str:
        """qBittorrent's own rule for category names (subcategories are "a/b")."""
        value = value.strip()
        if not value or "\\" in value or value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError(f"MAMC_QBIT_CATEGORY: {value!r} is not a qBittorrent category name (no backslash, "
                             f"no leading, trailing or double slash)")
        return value

    @field_validator("import_folder_template")
    @classmethod
    def _template_renders(cls, value: str) -> str:
        return check_template(value)

    @field_validator("api_rate_limit")
    @classmethod
    def _api_limit_parses(cls, value: str) -> str:
        Limit.parse(value)
        return value

    @field_validator("notify_disabled")
    @classmethod
    def _known_events(cls, value: str) -> str:
        from shared.notify.kinds import EventKind

        names = [k.strip() for k in value.split(",") if k.strip()]
        unknown = sorted(set(names) - {k.value for k in EventKind})
        if unknown:
            raise ValueError(f"unknown notification kinds {unknown}; known: {', '.join(k.value for k in EventKind)}")
        return ",".join(names)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.max_countdown + 60 >= self.visibility_timeout:
            raise ValueError(
                "MAMC_VISIBILITY_TIMEOUT must exceed MAMC_MAX_COUNTDOWN by more than a minute "
                "(a delayed message older than the visibility timeout is delivered twice)"
            )
        from shared.engine.pools import QUEUES

        if self.schedule_probe_pool not in QUEUES:
            raise ValueError(f"MAMC_SCHEDULE_PROBE_POOL must be one of {', '.join(QUEUES)}")
        if self.seeding_window_seconds < self.seeding_required_seconds:
            raise ValueError("MAMC_SEEDING_WINDOW_SECONDS must be at least MAMC_SEEDING_REQUIRED_SECONDS "
                             "(the window in which the required seeding time is owed)")
        if self.tracker_stale_seconds < self.tracker_check_seconds:
            raise ValueError("MAMC_TRACKER_STALE_SECONDS must be at least MAMC_TRACKER_CHECK_SECONDS (a check "
                             "would go stale before the next one is due, and no seeding would be credited)")
        if self.schedule_download_monitor > 0 and not 0 < self.schedule_tracker_checks < self.tracker_stale_seconds:
            raise ValueError("MAMC_SCHEDULE_TRACKER_CHECKS must be more than 0 and less than "
                             "MAMC_TRACKER_STALE_SECONDS while the monitor runs (seeding is credited only on a "
                             "fresh tracker check)")
        if self.heartbeat_stale_after < 3 * self.heartbeat_interval:
            raise ValueError("MAMC_HEARTBEAT_STALE_AFTER must be at least 3x MAMC_HEARTBEAT_INTERVAL")
        if self.env == "prod":
            missing = [
                name
                for name, value in (
                    ("MAMC_SECRET_KEY", self.secret_key),
                    ("MAMC_FLOWER_PASSWORD", self.flower_password),
                )
                if value is None or value.get_secret_value().strip().lower() in PLACEHOLDERS
            ]
            if missing:
                raise ValueError(f"MAMC_ENV=prod refuses missing or placeholder secrets: set {', '.join(missing)}")
            if self.database_url is None or self.redis_url is None:
                raise ValueError("MAMC_ENV=prod needs MAMC_DATABASE_URL and MAMC_REDIS_URL (no embedded servers)")
        return self

    @model_validator(mode="after")
    def _metadata_consistent(self) -> Settings:
        sources = set(METADATA_SOURCES)
        for name, order in self.metadata_precedence.items():
            if name != "default" and name not in METADATA_FIELDS:
                raise ValueError(f"MAMC_METADATA_PRECEDENCE: unknown field {name!r} "
                                 f"(known: {', '.join(METADATA_FIELDS)})")
            unknown = [s for s in order if s not in sources]
            if unknown or not order:
                raise ValueError(f"MAMC_METADATA_PRECEDENCE[{name}]: sources must be a non-empty list of "
                                 f"{', '.join(METADATA_SOURCES)} (got {order})")
        if "default" not in self.metadata_precedence:
            raise ValueError('MAMC_METADATA_PRECEDENCE needs a "default" order')
        bad = [f for f in self.metadata_protected_fields if f not in METADATA_FIELDS]
        if bad:
            raise ValueError(f"MAMC_METADATA_PROTECTED_FIELDS: unknown fields {bad} "
                             f"(known: {', '.join(METADATA_FIELDS)})")
        odd = [p for p in self.metadata_print_providers if p not in PRINT_SOURCES]
        if odd:
            raise ValueError(f"MAMC_METADATA_PRINT_PROVIDERS: unknown {odd} (known: {', '.join(PRINT_SOURCES)})")
        rules = [r for r in self.gap_rules if r not in GAP_RULES]
        if rules:
            raise ValueError(f"MAMC_GAP_RULES: unknown rules {rules} (known: {', '.join(GAP_RULES)})")
        if not self.metadata_regions or any(not r.isalpha() or len(r) > 4 for r in self.metadata_regions):
            raise ValueError('MAMC_METADATA_REGIONS: a non-empty list of marketplace codes, e.g. ["us", "uk"]')
        return self

    def precedence(self, field: str) -> list[str]:
        """Sources for ``field``, strongest first (the field's own order, else the default one)."""
        return self.metadata_precedence.get(field) or self.metadata_precedence["default"]

    @property
    def top_list_categories(self) -> tuple[int, ...]:
        """``MAMC_CRAWL_TOP_LIST_CATEGORIES`` as ids; () when top lists are off."""
        return parse_categories(self.crawl_top_list_categories)

    def limits(self) -> dict[str, Limit]:
        return {key: Limit.parse(text) for key, text in self.rate_limits.items()}

    @property
    def embedded(self) -> bool:
        """True when this host runs its own PostgreSQL/Redis (no URLs given)."""
        return self.database_url is None or self.redis_url is None


def load_settings() -> Settings:
    """Build settings, turning pydantic's report into one readable ConfigError."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            name = f"MAMC_{loc.upper()}" if loc else "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
