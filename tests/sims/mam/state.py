"""Everything one simulated MAM account holds: catalogue, account, sessions, faults and the request log.

Sessions: ``session`` is the valid ``mam_id``. With ``rotate_every=N`` every N-th request authenticated
by the current value is answered with ``Set-Cookie: mam_id=<new>``; the old value then stays valid for
``grace`` more requests and is refused (403) after that. ``expire()`` makes every value invalid (the
member's session lapsed); ``set_session()`` is the member creating a new one.

The request log never holds the cookie: each entry names the session by a label ("s1", "s2"…, or
"unknown"/"none"), and a ``dl`` hash in a path is masked.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.sims.mam.catalogue import SimAccount, SimTorrent

SnatchedMode = Literal["annotate", "filter", "filter_no_field"]
FaultKind = Literal["status", "malformed", "html", "error_json", "error_text"]


@dataclass
class LogEntry:
    time: float
    method: str
    path: str
    route: str
    params: dict[str, Any]
    session: str
    status: int = 0


@dataclass
class Fault:
    kind: FaultKind
    remaining: int | None = 1  # None: until cleared
    route: str | None = None
    status: int = 500
    retry_after: str | None = None
    text: str = ""


@dataclass
class _Session:
    label: str
    uses: int = 0
    grace_left: int | None = None  # None: current value; a number: superseded, that many uses left


@dataclass
class MamSimState:
    catalogue: list[SimTorrent] = field(default_factory=list)
    account: SimAccount = field(default_factory=SimAccount)
    session: str = field(default_factory=lambda: "sim-mam-" + secrets.token_urlsafe(24))
    rotate_every: int | None = None
    grace: int = 2
    snatched_mode: SnatchedMode = "annotate"
    announce_base: str = "https://t.myanonamouse.net/tracker.php"
    announce_override: str | None = None
    passkey: str = field(default_factory=lambda: secrets.token_hex(16))
    dl_secret: str = field(default_factory=lambda: secrets.token_hex(8))
    payload_bytes: int = 40 * 1024
    #: A maker of the ``.torrent`` served for a torrent (given the torrent and the announce URL), for a
    #: world whose payloads are real files seeded elsewhere (tests/demo/payloads.py: real audio in a
    #: real swarm); None serves the deterministic bytes of torrents.py.
    torrent_maker: Callable[[SimTorrent, str], bytes] | None = None
    root_numbers_as_strings: bool = False
    #: None: a host-only cookie, which a client's cookie jar accepts from any test host (MAM itself
    #: sends ``.myanonamouse.net``).
    cookie_domain: str | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[LogEntry] = []
        self.faults: list[Fault] = []
        self.forbidden_spends: list[dict[str, Any]] = []
        self.purchases: list[dict[str, Any]] = []
        self.issued: list[str] = [self.session]  # every value ever valid, for secret scans
        self._sessions: dict[str, _Session] = {self.session: _Session("s1")}

    # -- sessions -----------------------------------------------------------------------------------

    @property
    def announce_url(self) -> str:
        """MAM's form, ``<base>/<passkey>/announce``; ``announce_override`` for a test tracker that
        takes another form (Debian's opentracker: ``/announce?passkey=``)."""
        if self.announce_override:
            return self.announce_override
        return f"{self.announce_base.rstrip('/')}/{self.passkey}/announce"

    def authenticate(self, value: str | None) -> tuple[str, str | None]:
        """(session label or "unknown"/"none"/"expired", a renewed value to send or None).
        Labels other than "sN" mean the request is refused with 403."""
        if not value:
            return "none", None
        with self.lock:
            found = self._sessions.get(value)
            if found is None:
                return "unknown", None
            if found.grace_left is not None:
                if found.grace_left <= 0:
                    return "expired", None
                found.grace_left -= 1
                return found.label, None
            found.uses += 1
            if self.rotate_every and found.uses % self.rotate_every == 0:
                return found.label, self._rotate_locked(found)
            return found.label, None

    def _rotate_locked(self, old: _Session) -> str:
        old.grace_left = self.grace
        new = "sim-mam-" + secrets.token_urlsafe(24)
        self._sessions[new] = _Session(f"s{len(self._sessions) + 1}")
        self.session = new
        self.issued.append(new)
        return new

    def expire(self) -> None:
        """Every value stops working (lapsed, revoked, or an IP/ASN change)."""
        with self.lock:
            for entry in self._sessions.values():
                entry.grace_left = 0

    def set_session(self, value: str | None = None) -> str:
        """The member creates a new session; returns its value."""
        with self.lock:
            value = value or "sim-mam-" + secrets.token_urlsafe(24)
            self._sessions[value] = _Session(f"s{len(self._sessions) + 1}")
            self.session = value
            self.issued.append(value)
            return value

    # -- faults -------------------------------------------------------------------------------------

    def fail(self, status: int, times: int | None = 1, *, retry_after: str | None = None,
             route: str | None = None) -> Fault:
        """Answer ``status`` (429 storms with ``Retry-After``, 5xx) ``times`` times."""
        return self._add(Fault("status", times, route, status, retry_after))

    def malformed(self, times: int | None = 1, *, route: str | None = None) -> Fault:
        """A 200 whose JSON is cut in half."""
        return self._add(Fault("malformed", times, route))

    def html(self, times: int | None = 1, *, route: str | None = None) -> Fault:
        """A 200 HTML page (what a login redirect or a Cloudflare page looks like)."""
        return self._add(Fault("html", times, route))

    def error_json(self, text: str, times: int | None = 1, *, route: str | None = None) -> Fault:
        """A 200 ``{"error": text}``."""
        return self._add(Fault("error_json", times, route, text=text))

    def error_text(self, text: str = "Error, you are not allowed", times: int | None = 1, *,
                   route: str | None = None) -> Fault:
        """A 200 plain-text body starting with "Error"."""
        return self._add(Fault("error_text", times, route, text=text))

    def _add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.route not in (None, route):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # -- log ----------------------------------------------------------------------------------------

    def record(self, entry: LogEntry) -> None:
        with self.lock:
            self.log.append(entry)

    def requests_to(self, route: str) -> list[LogEntry]:
        with self.lock:
            return [e for e in self.log if e.route == route]

    def torrent(self, torrent_id: int) -> SimTorrent | None:
        return next((t for t in self.catalogue if t.id == torrent_id), None)
