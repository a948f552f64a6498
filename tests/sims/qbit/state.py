"""Everything one simulated qBittorrent (4.5.2, WebAPI 2.8.19) holds, and the controls tests use.

Modelled on the real daemon (``tests/integration/test_qbit_real.py`` checks the client against it):

* **Sessions.** ``auth/login`` answers ``Ok.`` with a ``SID`` cookie, or ``Fails.``; after
  ``max_auth_failures`` failures (0 = never) every login is 403 "banned". A request without a
  known SID is 403 ``Forbidden``. :meth:`restart` forgets every session, as a restarted daemon does.
* **sync/maindata** per session: a full update for ``rid=0`` or any rid that is not the last one
  sent to that session; otherwise new torrents in full, changed fields only for the others,
  ``torrents_removed`` for those gone, ``{"rid": n}`` when nothing changed. Changes are stamped with
  a global sequence number, so a quiet cycle over 10,000 torrents costs a scan of integers.
* **Controls:** :meth:`update` (any field), :meth:`set_progress`, :meth:`complete`, :meth:`tick`
  (seeding time; idle torrents do not count by default, recipe gotcha 10), :meth:`remove`
  (behind the client's back), :meth:`populate` (thousands of torrents at once), :meth:`restart`,
  :meth:`set_tracker` (what ``torrents/trackers`` says: a tracker failing for one torrent or all),
  status faults (:meth:`fail`), and a call log without passwords or cookies.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.sims.qbit.metainfo import Metainfo

APP_VERSION = "v4.5.2"
WEB_API_VERSION = "2.8.19"
BANNED = "Your IP address has been banned after too many failed authentication attempts."
SEEDING = frozenset({"uploading", "stalledUP", "queuedUP", "forcedUP"})
ACTIVE_SEEDING = frozenset({"uploading", "forcedUP"})


@dataclass
class Call:
    """One request as the simulator saw it (never the password, never the cookie)."""

    method: str
    route: str  # "auth/login", "sync/maindata", ...
    params: dict[str, str]
    status: int = 0
    files: int = 0  # torrent files uploaded (torrents/add)


@dataclass
class Fault:
    status: int
    remaining: int | None = 1  # None: until cleared
    route: str | None = None
    text: str = "injected fault"


@dataclass
class SimTorrent:
    fields: dict[str, Any]
    changed: dict[str, int]  # field -> sequence number of its last change
    seq: int  # the latest of those
    tracker_working: bool = True  # what torrents/trackers reports (maindata's `tracker` is sticky)
    tracker_message: str = "Connection refused"  # its `msg` while not working


@dataclass
class _SyncSession:
    rid: int = 0
    seq: int = -1  # the state's sequence number when the last answer was built
    known: set[str] = field(default_factory=set)
    categories_seq: int = -1


@dataclass
class QbitSimState:
    username: str = "admin"
    password: str = "adminadmin"
    max_auth_failures: int = 0  # 0: never ban
    default_save_path: str = "/downloads"
    announce_ok: bool = True  # a new torrent's first announce succeeds (fills `tracker`)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.torrents: dict[str, SimTorrent] = {}
        self.categories: dict[str, str] = {}
        self.preferences: dict[str, Any] = {
            "max_ratio_enabled": False, "max_ratio": -1, "max_seeding_time_enabled": False,
            "max_seeding_time": -1, "max_ratio_act": 0, "web_ui_ban_duration": 3600,
            "web_ui_max_auth_fail_count": self.max_auth_failures}
        self.log: list[Call] = []
        self.faults: list[Fault] = []
        self.reannounced: list[str] = []
        self.auth_failures = 0
        self.seq = 0
        self._categories_seq = 0
        self._sessions: dict[str, _SyncSession] = {}
        self._removed_at: dict[str, int] = {}

    # -- bookkeeping ------------------------------------------------------------------------------

    def _bump(self) -> int:
        self.seq += 1
        return self.seq

    def count(self, route: str | None = None) -> int:
        """Requests seen (on ``route``)."""
        return sum(1 for c in self.log if route is None or c.route == route)

    def routes(self) -> Counter[str]:
        return Counter(c.route for c in self.log)

    def fail(self, status: int, times: int | None = 1, *, route: str | None = None, text: str = "") -> Fault:
        fault = Fault(status, times, route, text or "injected fault")
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.route in (None, route):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    # -- sessions ---------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> tuple[int, str, str | None]:
        """(status, body, new SID or None) as qBittorrent 4.5 answers ``auth/login``."""
        with self.lock:
            if self.banned:
                return 403, BANNED, None
            if username != self.username or password != self.password:
                self.auth_failures += 1
                return 200, "Fails.", None
            sid = secrets.token_urlsafe(24)
            self._sessions[sid] = _SyncSession()
            return 200, "Ok.", sid

    @property
    def banned(self) -> bool:
        return bool(self.max_auth_failures) and self.auth_failures >= self.max_auth_failures

    def valid(self, sid: str | None) -> bool:
        return sid is not None and sid in self._sessions

    def restart(self) -> None:
        """qBittorrent restarted: sessions (and their rids) gone, torrents and settings kept."""
        with self.lock:
            self._sessions.clear()
            self.auth_failures = 0

    def expire_sessions(self) -> None:
        """The WebUI session timed out: the next request is 403 and the client logs in again."""
        with self.lock:
            self._sessions.clear()

    # -- torrents ---------------------------------------------------------------------------------

    def _fields(self, info_hash: str, name: str, size: int, *, category: str, tags: Iterable[str], save_path: str,
                ratio_limit: float, seeding_time_limit: int, paused: bool, announce: str,
                auto_tmm: bool) -> dict[str, Any]:
        now = int(self.clock())
        return {
            "added_on": now, "amount_left": size, "auto_tmm": auto_tmm, "availability": 0, "category": category,
            "completed": 0, "completion_on": 0, "content_path": f"{save_path.rstrip('/')}/{name}", "dl_limit": 0,
            "dlspeed": 0, "download_path": "", "downloaded": 0, "downloaded_session": 0, "eta": 8640000,
            "f_l_piece_prio": False, "force_start": False, "infohash_v1": info_hash, "infohash_v2": "",
            "last_activity": now, "magnet_uri": f"magnet:?xt=urn:btih:{info_hash}", "max_ratio": -1,
            "max_seeding_time": -1, "name": name, "num_complete": 0, "num_incomplete": 0, "num_leechs": 0,
            "num_seeds": 0, "priority": 0, "progress": 0, "ratio": 0, "ratio_limit": ratio_limit,
            "save_path": save_path, "seeding_time": 0, "seeding_time_limit": seeding_time_limit,
            "seen_complete": 0, "seq_dl": False, "size": size, "state": "pausedDL" if paused else "stalledDL",
            "super_seeding": False, "tags": ", ".join(sorted(set(tags))), "time_active": 0, "total_size": size,
            "tracker": announce if self.announce_ok and not paused else "", "trackers_count": 1, "up_limit": 0,
            "uploaded": 0, "uploaded_session": 0, "upspeed": 0}

    def add(self, meta: Metainfo, *, category: str = "", tags: Iterable[str] = (), save_path: str = "",
            auto_tmm: bool = False, ratio_limit: float = -2, seeding_time_limit: int = -2,
            paused: bool = False) -> bool:
        """Add a torrent as ``torrents/add`` does; False when the hash is already there."""
        with self.lock:
            if meta.info_hash in self.torrents:
                return False
            if category and category not in self.categories:
                self.categories[category] = ""  # 4.5 creates an unknown category on the fly
                self._categories_seq = self._bump()
            where = save_path or (self.categories.get(category) or f"{self.default_save_path}/{category}"
                                  if auto_tmm and category else self.default_save_path)
            values = self._fields(meta.info_hash, meta.name, meta.size, category=category, tags=tags,
                                  save_path=where, ratio_limit=ratio_limit, seeding_time_limit=seeding_time_limit,
                                  paused=paused, announce=meta.announce, auto_tmm=auto_tmm)
            seq = self._bump()
            self.torrents[meta.info_hash] = SimTorrent(values, dict.fromkeys(values, seq), seq)
            self._removed_at.pop(meta.info_hash, None)
            return True

    def populate(self, count: int, *, category: str, state: str = "stalledUP", progress: float = 1.0) -> list[str]:
        """``count`` torrents at once (no .torrent files): for the 10,000-torrent measurements."""
        hashes = []
        for n in range(count):
            info_hash = f"{secrets.token_hex(16)}{n:08x}"
            self.add(Metainfo(info_hash, f"Book {n}", 100_000_000, True, "http://tracker.test/announce"),
                     category=category, tags=["mamcrawler"], save_path=f"/downloads/{category}")
            self.update(info_hash, state=state, progress=progress, amount_left=0 if progress >= 1 else 1,
                        completion_on=int(self.clock()) if progress >= 1 else 0)
            hashes.append(info_hash)
        return hashes

    def update(self, info_hash: str, **values: Any) -> None:
        """Change fields of one torrent (only those whose value differs count as changed)."""
        with self.lock:
            torrent = self.torrents[info_hash]
            seq = 0
            for key, value in values.items():
                if torrent.fields.get(key) != value:
                    seq = seq or self._bump()
                    torrent.fields[key] = value
                    torrent.changed[key] = seq
            if seq:
                torrent.seq = seq

    def set_progress(self, info_hash: str, progress: float) -> None:
        size = int(self.torrents[info_hash].fields["size"])
        if progress >= 1:
            self.complete(info_hash)
            return
        self.update(info_hash, progress=progress, state="downloading", amount_left=int(size * (1 - progress)),
                    downloaded=int(size * progress), completed=int(size * progress))

    def complete(self, info_hash: str, *, state: str = "stalledUP") -> None:
        size = int(self.torrents[info_hash].fields["size"])
        self.update(info_hash, progress=1, state=state, amount_left=0, completed=size, downloaded=size,
                    completion_on=int(self.clock()), eta=8640000)

    def tick(self, seconds: int, *, idle_counts: bool = False) -> None:
        """Advance every seeding torrent's ``seeding_time`` (only active ones, like the real daemon,
        unless ``idle_counts``)."""
        counting = SEEDING if idle_counts else ACTIVE_SEEDING
        for info_hash, torrent in list(self.torrents.items()):
            if torrent.fields["state"] in counting:
                self.update(info_hash, seeding_time=int(torrent.fields["seeding_time"]) + seconds,
                            time_active=int(torrent.fields["time_active"]) + seconds)

    def set_tracker(self, info_hash: str | None, *, working: bool, message: str = "Connection refused") -> None:
        """What the next ``torrents/trackers`` says of one torrent's tracker (None: every torrent's, a
        tracker outage). Like the real daemon, ``sync/maindata``'s ``tracker`` field is left as it was:
        it names the tracker that answered once this session, and does not notice a later failure."""
        with self.lock:
            for h, torrent in self.torrents.items():
                if info_hash is None or h == info_hash:
                    torrent.tracker_working, torrent.tracker_message = working, message

    def trackers(self, info_hash: str) -> list[dict[str, Any]] | None:
        """``torrents/trackers`` as 4.5.2 lists a private torrent's: the DHT, PeX and LSD pseudo-rows
        (disabled), then its tracker (2 working, 4 not working with a message)."""
        with self.lock:
            torrent = self.torrents.get(info_hash)
            if torrent is None:
                return None
            private = {"msg": "This torrent is private", "num_downloaded": 0, "num_leeches": 0, "num_peers": 0,
                       "num_seeds": 0, "status": 0, "tier": -1}
            rows: list[dict[str, Any]] = [{**private, "url": f"** [{kind}] **"} for kind in ("DHT", "PeX", "LSD")]
            rows.append({"msg": "" if torrent.tracker_working else torrent.tracker_message, "num_downloaded": 0,
                         "num_leeches": 0, "num_peers": 0, "num_seeds": 0,
                         "status": 2 if torrent.tracker_working else 4, "tier": 0,
                         "url": torrent.fields.get("tracker") or "http://tracker.test/announce"})
            return rows

    def remove(self, info_hash: str) -> None:
        """Delete a torrent (as someone would behind the client's back)."""
        with self.lock:
            if self.torrents.pop(info_hash, None) is not None:
                self._removed_at[info_hash] = self._bump()

    def set_share_limits(self, hashes: Iterable[str], ratio: float, minutes: int) -> None:
        for info_hash in hashes:
            if info_hash in self.torrents:
                self.update(info_hash, ratio_limit=ratio, seeding_time_limit=minutes,
                            max_ratio=ratio if ratio != -2 else self._global_ratio(),
                            max_seeding_time=minutes if minutes != -2 else self._global_minutes())

    def _global_ratio(self) -> float:
        return float(self.preferences["max_ratio"]) if self.preferences["max_ratio_enabled"] else -1

    def _global_minutes(self) -> int:
        return int(self.preferences["max_seeding_time"]) if self.preferences["max_seeding_time_enabled"] else -1

    def create_category(self, name: str, save_path: str) -> bool:
        with self.lock:
            if name in self.categories:
                return False
            self.categories[name] = save_path
            self._categories_seq = self._bump()
            return True

    def info(self, hashes: set[str] | None = None, category: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [{**t.fields, "hash": h} for h, t in self.torrents.items()
                    if (hashes is None or h in hashes) and (category is None or t.fields["category"] == category)]

    # -- sync/maindata ----------------------------------------------------------------------------

    def maindata(self, sid: str, rid: int) -> dict[str, Any]:
        with self.lock:
            session = self._sessions[sid]
            full = rid == 0 or rid != session.rid or session.seq < 0
            answer: dict[str, Any] = {}
            if full:
                answer["torrents"] = {h: dict(t.fields) for h, t in self.torrents.items()}
                answer["full_update"] = True
                answer["categories"] = {n: {"name": n, "savePath": p} for n, p in self.categories.items()}
                answer["server_state"] = {"connection_status": "connected", "dl_info_speed": 0, "up_info_speed": 0}
                answer["tags"] = sorted({tag for t in self.torrents.values() for tag in _tags(t.fields["tags"])})
            else:
                since = session.seq
                changed = {}
                for h, t in self.torrents.items():
                    if h not in session.known:
                        changed[h] = dict(t.fields)
                    elif t.seq > since:
                        changed[h] = {k: t.fields[k] for k, s in t.changed.items() if s > since}
                if changed:
                    answer["torrents"] = changed
                gone = [h for h, s in self._removed_at.items() if s > since and h in session.known]
                if gone:
                    answer["torrents_removed"] = gone
                if self._categories_seq > session.categories_seq:
                    answer["categories"] = {n: {"name": n, "savePath": p} for n, p in self.categories.items()}
            session.rid += 1
            session.seq = self.seq
            session.categories_seq = self._categories_seq
            session.known = set(self.torrents)
            answer["rid"] = session.rid
            return answer


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]
