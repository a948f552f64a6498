"""The download pool's qBittorrent client (:class:`TorrentClient`), on qbittorrent-api.

Why qbittorrent-api rather than :mod:`workers.upstream`: it follows qBittorrent's API across
versions (4.x ``pause``/``paused`` became 5.x ``stop``/``stopped``, 5.1 answers a refused login with
401 instead of "Fails.", 5.2 adds API keys), which the pool would otherwise re-learn release by
release. What the upstream layer gives every client is kept: the throttle hook, timeouts, one error
mapping (:mod:`workers.download.qbit_errors`) and redaction of the password.

Costs, counted at the HTTP layer (:attr:`QbitClient.calls`, every response including logins):

* :meth:`snapshot` is one ``sync/maindata`` per cycle in steady state; the first cycle of a
  process, and the first after qBittorrent restarted or the session expired, add a 403 and a login.
* qbittorrent-api asks ``app/webapiVersion`` before every ``torrents/add``; the answer is kept for
  the login session here, so an add is one call.
* No login happens up front: qBittorrent can be set to skip authentication for local clients, and a
  login with any password would then fail. The first 403 triggers the login.

Share limits: qBittorrent has no per-category limits and its global ones may pause or remove a
torrent after a ratio or a seeding time, which on MAM is a hit-and-run. Every torrent we add
carries per-torrent limits "none" (-1) from the add itself (WebAPI 2.8.1+; the inactive-seeding
limit from 2.9.2, ignored by older versions), and :meth:`set_no_share_limits` re-asserts them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import qbittorrentapi
import requests
from sqlalchemy.orm import Session

from shared.download.qbit_settings import load_connection
from shared.download.torrents import ClientSnapshot, ShareLimits, TorrentClient, TrackerStatus
from shared.infra.errors import ConfigError, MalformedResponse
from shared.infra.settings import get_settings
from workers.crawl.bencode import BencodeError
from workers.crawl.bencode import info_hash as _info_hash
from workers.download.qbit_errors import QbitConflict, QbitLoginRefused, QbitRefused, QbitUnavailable, translate
from workers.download.qbit_sync import MaindataMerger
from workers.upstream import Redactor, Throttle

__all__ = ["QbitClient", "QbitConflict", "QbitLoginRefused", "QbitRefused", "QbitUnavailable", "connect",
           "info_hash_of", "tracker_status_of"]

log = logging.getLogger(__name__)

#: qBittorrent's global ``max_ratio_act``: what it does to a torrent past its limits.
SHARE_ACTIONS = {0: "pause", 1: "remove", 2: "super_seeding", 3: "remove_with_files"}
NO_LIMIT = -1
#: How long a refused add waits for qBittorrent to show the torrent it says it already has: 4.5 adds
#: asynchronously, so a second add racing the first is refused before the first one is listed.
DUPLICATE_WAIT = 3.0


def info_hash_of(torrent: bytes) -> str:
    """The v1 info-hash qBittorrent names the torrent by: SHA-1 of the bencoded ``info`` slice as sent."""
    return _info_hash(torrent)


class _Api(qbittorrentapi.Client):
    """qbittorrent-api's client, asking the WebAPI version once per login session, not before every add."""

    _web_api_version: str | None = None

    def app_web_api_version(self, **kwargs: Any) -> str:
        if self._web_api_version is None:
            self._web_api_version = str(super().app_web_api_version(**kwargs))
        return self._web_api_version

    def _initialize_context(self) -> None:
        super()._initialize_context()
        self._web_api_version = None  # a new login may meet an upgraded qBittorrent


class QbitClient:
    """One qBittorrent WebUI, one category. Keep it for the life of the process: it holds the login
    session and the ``sync/maindata`` rid (see :func:`connect`)."""

    def __init__(self, url: str, username: str, password: str | None, *, category: str,
                 timeout: float = 30.0, throttle: Throttle | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"MAMC_QBIT_URL must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        self.username = username
        self.category = category
        self.throttle = throttle
        self.calls = 0  # HTTP responses received, logins and refusals included
        self._redact = Redactor([password])
        self._password_set = bool(password)
        self._merger = MaindataMerger(category)
        self.duplicate_wait = DUPLICATE_WAIT
        self._api = _Api(
            host=self.url, username=username, password=password or "",
            FORCE_SCHEME_FROM_HOST=True,  # no HEAD probe for http/https: the URL says which
            SIMPLE_RESPONSES=True,  # plain dicts: 10,000 torrents are not wrapped in AttrDicts
            REQUESTS_ARGS={"timeout": (min(5.0, timeout), timeout), "hooks": {"response": [self._count]}},
            HTTPADAPTER_ARGS={"max_retries": 0},  # the pool retries, with back-off; no hidden resends
        )

    def __repr__(self) -> str:
        return f"QbitClient(url={self.url!r}, username={self.username!r}, category={self.category!r})"

    def _count(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.calls += 1

    @contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        if self.throttle is not None:
            self.throttle()
        try:
            yield
        except (qbittorrentapi.APIError, requests.RequestException) as exc:
            raise translate(exc, what=what, url=self.url, username=self.username, redact=self._redact,
                            password_set=self._password_set) from None

    # -- the TorrentClient protocol -------------------------------------------------------------

    def add_torrent(self, torrent: bytes, *, info_hash: str, category: str, tags: list[str], save_path: str) -> None:
        """Add the ``.torrent`` file with our category, tags, save path (``""``: qBittorrent's default)
        and share limits "none". A hash qBittorrent already has is left as it is."""
        try:
            expected = info_hash_of(torrent)
        except BencodeError as exc:
            raise QbitRefused(f"not a .torrent file ({exc}): refusing to add it") from None
        if expected != info_hash.lower():
            raise QbitRefused(f"the .torrent's info-hash is {expected}, not {info_hash}: refusing to add it")
        options: dict[str, Any] = {"category": category, "tags": tags, "ratio_limit": NO_LIMIT,
                                   "seeding_time_limit": NO_LIMIT, "inactive_seeding_time_limit": NO_LIMIT}
        if save_path:
            options |= {"save_path": save_path, "use_auto_torrent_management": False}
        try:
            with self._mapped(f"add {expected}"):
                answer = self._api.torrents_add(torrent_files={f"{expected}.torrent": torrent}, **options)
        except QbitConflict:  # 5.x answers a duplicate with 409 Conflict
            answer = "Fails."
        if isinstance(answer, str) and answer.strip() == "Fails.":
            if self._appears(expected):
                log.info("qBittorrent already has %s: nothing added", expected)
                return
            raise QbitRefused(f"qBittorrent at {self.url} refused to add {expected} (\"Fails.\") and does not "
                              f"list it; see qBittorrent's log")
        log.info("added %s to qBittorrent (category %s, tags %s)", expected, category, ",".join(tags))

    def _appears(self, info_hash: str) -> bool:
        deadline = time.monotonic() + self.duplicate_wait
        while True:
            if self.has(info_hash):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def has(self, info_hash: str) -> bool:
        with self._mapped(f"look up {info_hash}"):
            found = self._api.torrents_info(torrent_hashes=info_hash.lower())
        return bool(found)

    def snapshot(self) -> ClientSnapshot:
        """One ``sync/maindata`` from the last rid, merged; ``calls`` is what this cycle cost."""
        before = self.calls
        with self._mapped("sync/maindata"):
            data = self._api.sync_maindata(rid=self._merger.rid)
        return self._merger.apply(data, calls=self.calls - before)

    def reset_sync(self) -> None:
        """Start over with a full update on the next :meth:`snapshot`."""
        self._merger.reset()

    def reannounce(self, hashes: list[str]) -> None:
        """Ask for an announce now. qBittorrent 4.5 still honours the tracker's ``min interval``: an
        announce sooner than that is deferred until it passes, not sent twice."""
        if not hashes:
            return
        with self._mapped(f"reannounce {len(hashes)} torrent(s)"):
            self._api.torrents_reannounce(torrent_hashes=[h.lower() for h in hashes])

    def remove(self, info_hash: str) -> None:
        """Remove one torrent from qBittorrent, keeping its files (the library holds hardlinks to them).
        Only ``download.remove`` calls it, after ``shared.download.protection.may_remove`` allowed it."""
        with self._mapped(f"remove {info_hash}"):
            self._api.torrents_delete(delete_files=False, torrent_hashes=info_hash.lower())

    def set_no_share_limits(self, hashes: list[str]) -> None:
        """Per-torrent limits "none" (-1): qBittorrent's global limits no longer stop these torrents.
        4.5 requires the ratio and the seeding time together; the inactive limit is 4.6+ and ignored
        before."""
        if not hashes:
            return
        with self._mapped(f"set no share limits on {len(hashes)} torrent(s)"):
            self._api.torrents_set_share_limits(ratio_limit=NO_LIMIT, seeding_time_limit=NO_LIMIT,
                                                inactive_seeding_time_limit=NO_LIMIT,
                                                torrent_hashes=[h.lower() for h in hashes])

    def global_share_limits(self) -> ShareLimits:
        with self._mapped("read preferences"):
            prefs = self._api.app_preferences()
        if not isinstance(prefs, dict):
            raise MalformedResponse(f"qBittorrent at {self.url}: app/preferences is not an object")
        ratio = _limit(prefs, "max_ratio_enabled", "max_ratio", float)
        seeding = _limit(prefs, "max_seeding_time_enabled", "max_seeding_time", int)
        inactive = _limit(prefs, "max_inactive_seeding_time_enabled", "max_inactive_seeding_time", int)
        act = prefs.get("max_ratio_act")
        action = SHARE_ACTIONS.get(act) if isinstance(act, int) else None
        return ShareLimits(ratio=ratio, seeding_minutes=seeding, inactive_seeding_minutes=inactive, action=action)

    # -- beyond the protocol ----------------------------------------------------------------------

    def version(self) -> str:
        """qBittorrent's version (one call, after a login when the session needs one): a connection test."""
        with self._mapped("read the version"):
            return str(self._api.app_version())

    def ensure_category(self, name: str, save_path: str) -> bool:
        """Create the category with ``save_path`` if qBittorrent lacks it; True when created.

        An existing category is never edited: changing its save path would move the files of every
        torrent in it that uses automatic management, and a seeding torrent is never moved by us.
        """
        with self._mapped("list categories"):
            categories = self._api.torrents_categories()
        existing = categories.get(name) if isinstance(categories, dict) else None
        if isinstance(existing, dict):
            path = str(existing.get("savePath") or "")
            if save_path and path.rstrip("/") != save_path.rstrip("/"):
                log.warning("qBittorrent category %r saves to %r, not %r; left as it is (editing it would move "
                            "torrents under automatic management)", name, path, save_path)
            return False
        try:
            with self._mapped(f"create category {name}"):
                self._api.torrents_create_category(name=name, save_path=save_path or None)
        except QbitConflict:  # created meanwhile by someone else
            return False
        return True

    def tracker_status(self, info_hash: str) -> TrackerStatus:
        """The torrent's tracker list read now (``torrents/trackers``, one call): see :func:`tracker_status_of`.
        ``tracker_ok`` in a snapshot only says an announce succeeded this qBittorrent session."""
        with self._mapped(f"trackers of {info_hash}"):
            rows = self._api.torrents_trackers(torrent_hash=info_hash.lower())
        if not isinstance(rows, list):
            raise MalformedResponse(f"qBittorrent at {self.url}: torrents/trackers of {info_hash} is not a list")
        return tracker_status_of(rows)

    def close(self) -> None:
        self._api._trigger_session_initialization()


#: ``torrents/trackers`` statuses (WebAPI 2.x): 0 disabled, 1 not contacted yet, 2 working, 3 updating,
#: 4 not working; 5.1 adds 5 "tracker error" and 6 "unreachable".
TRACKER_WORKING = 2
TRACKER_NO_NEWS = frozenset({1, 3})


def tracker_status_of(rows: list[Any]) -> TrackerStatus:
    """What a ``torrents/trackers`` answer says of the last announce.

    The pseudo-rows ``** [DHT] **``, ``** [PeX] **`` and ``** [LSD] **`` are not trackers (a public
    torrent's DHT row says "working" whatever the tracker does) and are skipped. Working when any
    tracker answered; no news (None) when none failed and one is still to be contacted or is being
    announced to; otherwise not working, with qBittorrent's message (no tracker at all is not
    working either: nothing announces the torrent).
    """
    trackers = [r for r in rows if isinstance(r, dict) and not str(r.get("url", "")).startswith("** [")]
    statuses = [r.get("status") for r in trackers]
    working = [r for r in trackers if r.get("status") == TRACKER_WORKING]
    if working:
        return TrackerStatus(True, str(working[0].get("msg") or ""))
    failed = [r for r in trackers if r.get("status") not in TRACKER_NO_NEWS]
    if trackers and not failed:
        return TrackerStatus(None, "not contacted yet" if 1 in statuses else "announcing")
    if not trackers:
        return TrackerStatus(False, "no tracker")
    why = str(failed[0].get("msg") or "").strip()
    return TrackerStatus(False, why or f"not working (status {failed[0].get('status')})")


def _conforms(client: QbitClient) -> TorrentClient:
    return client  # mypy checks QbitClient against the protocol here


def _limit(prefs: dict[str, Any], enabled: str, key: str, kind: Callable[[Any], float | int]) -> Any:
    """The preference's value when its switch is on (absent switch: the value alone decides) and it
    is a limit (qBittorrent writes -1 for "none")."""
    if prefs.get(enabled) is False or key not in prefs:
        return None
    try:
        value = kind(prefs[key])
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


# -- one client per process -------------------------------------------------------------------------

_cached: tuple[tuple[object, ...], QbitClient] | None = None


def connect(session: Session, *, throttle: Throttle | None = None) -> QbitClient:
    """The process's client for the effective settings (API values over the environment).

    Kept while the settings stay the same, so the login session and the ``sync/maindata`` rid last
    from one monitoring cycle to the next (one call per cycle); new credentials build a new client.
    """
    global _cached
    settings = get_settings()
    conn = load_connection(session)
    fingerprint = hashlib.sha256((conn.password or "").encode()).hexdigest()
    key = (os.getpid(), conn.url, conn.username, fingerprint, settings.qbit_category)
    if _cached is None or _cached[0] != key:
        if _cached is not None:
            _cached[1].close()
        _cached = (key, QbitClient(conn.url, conn.username, conn.password, category=settings.qbit_category))
    client = _cached[1]
    client.throttle = throttle
    return client
