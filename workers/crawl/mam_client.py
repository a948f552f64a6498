"""The MAM client: the member's account through MAM's documented JSON endpoints, and nothing else.

On the shared HTTP layer (throttle hook for the account's global budget, timeouts, size cap,
redaction). MAM refines the layer's error mapping:

=========================================  ==========================================================
403                                        :class:`MamSessionInvalid` (fatal: stop every MAM job)
429, 5xx, timeouts                         :class:`UpstreamUnavailable` with ``Retry-After``
200 "Nothing returned…" (search)           an empty :class:`MamSearchPage`
200 other ``error``/``message``, "Error…"  :class:`MamApiError`
200 not JSON                               :class:`MalformedResponse`
200 download that is not a torrent         :class:`MamDownloadError`
path outside the allowlist                 :class:`MamEndpointRefused`, before sending
``gift``, ``sendWedge``, unknown spends     :class:`MamForbiddenSpend`, before sending
=========================================  ==========================================================

Auth is the ``mam_id`` cookie only, sent as a header we build (never via a cookie jar, never in a
URL). A renewed ``Set-Cookie: mam_id`` is adopted at once, masked like the first, and handed to
``on_cookie_renewed`` so the caller persists it (encrypted) before the next request needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from shared.crawl.torrent import AccountSnapshot
from shared.infra.errors import ConfigError, MamcError
from workers.crawl.bencode import BencodeError, bdecode
from workers.crawl.mam_account import parse_account, strip_secrets
from workers.crawl.mam_errors import (
    MamApiError,
    MamDownloadError,
    MamEndpointRefused,
    MamForbiddenSpend,
    MamSessionInvalid,
)
from workers.crawl.mam_parse import parse_flag, parse_float
from workers.crawl.mam_query import MamQuery, MamSearchPage
from workers.crawl.mam_rows import answer_error, parse_search_body
from workers.upstream import Reply, UpstreamClient, UpstreamOptions
from workers.upstream.client import Params
from workers.upstream.redaction import Hidden

log = logging.getLogger(__name__)

SEARCH_PATH = "/tor/js/loadSearchJSONbasic.php"
ACCOUNT_PATH = "/jsonLoad.php"
DOWNLOAD_PATH = "/tor/download.php"
BONUS_PATH = "/json/bonusBuy.php/"
#: The only paths this client sends to (compared without a trailing slash).
ALLOWED_PATHS = frozenset(p.rstrip("/") for p in (SEARCH_PATH, ACCOUNT_PATH, DOWNLOAD_PATH, BONUS_PATH))
#: Bonus-store spends the client makes; ``gift`` and ``sendWedge`` must never be automated (MAM rules).
ALLOWED_SPENDS = frozenset({"personalFL", "upload", "VIP"})
NEVER_SPEND = frozenset({"gift", "sendwedge"})
COOKIE_NAME = "mam_id"
_TORRENT_TYPES = ("application/x-bittorrent", "application/octet-stream", "application/force-download")

CookieCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BonusPurchase:
    """A purchase MAM confirmed; ``raw`` is its answer without credentials."""

    spendtype: str
    seedbonus: float | None
    raw: dict[str, Any] = field(default_factory=dict)


class MamClient(UpstreamClient):
    """One MAM account. ``mam_id`` is the session cookie; ``on_cookie_renewed(value)`` receives each
    renewed value (persist it; an exception there propagates, since losing it strands the account)."""

    service: ClassVar[str] = "MAM"
    default_timeout: ClassVar[float] = 30.0

    def __init__(
        self, options: UpstreamOptions, mam_id: str, *, on_cookie_renewed: CookieCallback | None = None
    ) -> None:
        value = (mam_id or "").strip()
        if not value:
            raise ConfigError("MAM session cookie is empty; set it with PUT /api/v1/account/session or MAMC_MAM_ID")
        super().__init__(options, secrets=(value,))
        self._cookie = Hidden(value)
        self._on_cookie_renewed = on_cookie_renewed

    # -- transport --------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Refuses paths outside :data:`ALLOWED_PATHS` before sending; adopts a renewed cookie."""
        check_allowed(path)
        cookie = {"cookie": f"{COOKIE_NAME}={self._cookie.reveal()}"}
        reply = super().send(method, path, params=params, body=body, headers={**(headers or {}), **cookie})
        # httpx keeps Set-Cookie values in the client's jar; the secret lives only in self._cookie
        self._http.cookies.delete(COOKIE_NAME)
        self._adopt_renewed_cookie(reply)
        return reply

    def _adopt_renewed_cookie(self, reply: Reply) -> None:
        renewed = renewed_cookie(reply.headers.get_list("set-cookie"))
        if renewed is None or renewed == self._cookie.reveal():
            return
        self.redact.add(renewed)
        self._cookie = Hidden(renewed)
        log.info("MAM renewed the session cookie; using the new value from now on")
        if self._on_cookie_renewed is not None:
            self._on_cookie_renewed(renewed)

    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        if reply.status == 403:
            return MamSessionInvalid(
                f"{self.describe(reply, method, path)} (the mam_id session expired, was revoked or no longer "
                "matches this IP/ASN: stop MAM traffic and enter a new value)"
            )
        return super().classify(reply, method, path)

    def auth_is_fatal(self, reply: Reply) -> bool:
        return reply.status in (401, 403)

    def _json(self, method: str, path: str, *, params: Params | None = None, body: Any = None) -> Any:
        reply = self.request(method, path, params=params, body=body)
        if reply.content.lstrip()[:5].lower() == b"error":
            raise MamApiError(self.redact(f"MAM: {method} {path}: {reply.text.strip()[:200]}"))
        return self.decode_json(reply.content, method, path)

    # -- endpoints --------------------------------------------------------------------------------

    def search(self, query: MamQuery) -> MamSearchPage:
        """One page of results (POST JSON form); "Nothing returned" is an empty page."""
        return self.search_answer(query)[0]

    def search_answer(self, query: MamQuery) -> tuple[MamSearchPage, Any]:
        """The page and the decoded JSON it was read from (what a search cache keeps: it holds no
        secret, since ``dlLink`` is never asked for)."""
        data = self._json("POST", SEARCH_PATH, body=query.body())
        try:
            return parse_search_body(data, query), data
        except MamcError as exc:
            raise type(exc)(self.redact(str(exc))) from None

    def account(self) -> AccountSnapshot:
        """The member's standing with the unsatisfied counters (``snatch_summary``)."""
        data = self._json("GET", ACCOUNT_PATH, params={"snatch_summary": ""})
        error = answer_error(data)
        if error is not None and isinstance(data, dict) and "uid" not in data and "classname" not in data:
            raise MamApiError(self.redact(f"MAM jsonLoad refused: {error[:200]}"))
        return parse_account(data, self.redact)

    def download_torrent(self, torrent_id: int) -> bytes:
        """The ``.torrent`` bytes (a private torrent with the member's personal announce URL: treat
        them as a secret). Anything but a complete bencoded dictionary with ``info`` raises."""
        if isinstance(torrent_id, bool) or not isinstance(torrent_id, int) or torrent_id <= 0:
            raise ValueError(f"torrent_id must be a positive int, got {torrent_id!r}")
        reply = self.request("GET", DOWNLOAD_PATH, params={"tid": torrent_id})
        what = f"MAM: GET {DOWNLOAD_PATH} tid={torrent_id}"
        content_type = reply.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not (content_type in _TORRENT_TYPES or content_type.startswith("application/x-bit")):
            raise MamDownloadError(f"{what}: got {content_type}, not a torrent: {self.detail(reply)[:200]}")
        try:
            decoded = bdecode(reply.content)
        except BencodeError as exc:
            raise MamDownloadError(f"{what}: not a complete bencoded torrent ({exc})") from None
        if not isinstance(decoded, dict) or not isinstance(decoded.get(b"info"), dict):
            raise MamDownloadError(f"{what}: bencoded, but no info dictionary")
        announce = decoded.get(b"announce")
        if isinstance(announce, bytes):  # the personal passkey: masked from anything we write from now on
            self.redact.add(*announce_secrets(announce.decode("utf-8", "replace")))
        return reply.content

    def bonus_buy(
        self,
        spendtype: str,
        *,
        torrent_id: int | None = None,
        amount: float | None = None,
        duration: str = "max",
    ) -> BonusPurchase:
        """Spend bonus points: ``personalFL`` (a wedge on ``torrent_id``), ``upload`` (``amount`` GB)
        or ``VIP`` (``duration``). ``gift``/``sendWedge`` and anything else raise before sending."""
        params = spend_params(spendtype, torrent_id=torrent_id, amount=amount, duration=duration)
        data = self._json("GET", BONUS_PATH, params=params)
        if not isinstance(data, dict):
            raise MamApiError(f"MAM bonusBuy {spendtype}: expected a JSON object, got {type(data).__name__}")
        if parse_flag(data.get("success")) is not True:
            reason = answer_error(data) or "no success flag"
            raise MamApiError(self.redact(f"MAM bonusBuy {spendtype} refused: {reason[:200]}"))
        return BonusPurchase(spendtype, parse_float(data.get("seedbonus")), strip_secrets(data, self.redact))


def check_allowed(path: str) -> None:
    """:class:`MamEndpointRefused` unless ``path`` is one of MAM's documented JSON endpoints."""
    if "?" in path or "#" in path or ".." in path or path.rstrip("/") not in ALLOWED_PATHS:
        raise MamEndpointRefused(
            f"MAM: {path[:80]!r} is not an allowed endpoint (only {', '.join(sorted(ALLOWED_PATHS))})"
        )


def spend_params(spendtype: str, *, torrent_id: int | None, amount: float | None, duration: str) -> dict[str, str]:
    """The query of one allowed purchase; :class:`MamForbiddenSpend` for the rest."""
    if spendtype.strip().lower() in NEVER_SPEND:
        raise MamForbiddenSpend(f"MAM bonus store: {spendtype!r} is never automated (MAM's API rules)")
    if spendtype not in ALLOWED_SPENDS:
        raise MamForbiddenSpend(f"MAM bonus store: {spendtype!r} is not a spend this client makes "
                                f"(only {', '.join(sorted(ALLOWED_SPENDS))})")
    if spendtype == "personalFL":
        if torrent_id is None or torrent_id <= 0:
            raise ValueError("personalFL needs a torrent_id")
        return {"spendtype": spendtype, "torrentid": str(torrent_id)}
    if spendtype == "upload":
        if amount is None or amount <= 0:
            raise ValueError("upload needs a positive amount (GB)")
        return {"spendtype": spendtype, "amount": f"{amount:g}"}
    return {"spendtype": spendtype, "duration": duration}


def announce_secrets(announce: str) -> list[str]:
    """The announce URL and the token in it (MAM: ``.../tracker.php/<passkey>/announce``): every
    path segment or query value long enough to be a key rather than a word."""
    parts = urlsplit(announce)
    pieces = [*parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
    return [announce, *(p for p in pieces if len(p) >= 12 and "." not in p)]


def renewed_cookie(set_cookies: list[str]) -> str | None:
    """The ``mam_id`` value among ``Set-Cookie`` headers; None when absent, empty, or a deletion
    ("deleted", ``Max-Age=0``): a deletion must not replace a value that may still work."""
    for header in set_cookies:
        first, _, attributes = header.partition(";")
        name, eq, value = first.partition("=")
        if not eq or name.strip() != COOKIE_NAME:
            continue
        value = value.strip().strip('"')
        lowered = attributes.lower().replace(" ", "")
        if not value or value.lower() == "deleted" or "max-age=0" in lowered:
            continue
        return value
    return None
