"""The account's shorthand line and freshness rule, and the account-wide back-off on 429/5xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.crawl.account import human_size, needs_refresh, shorthand
from shared.crawl.budget import backoff_key
from shared.crawl.session import Cookie
from shared.crawl.torrent import AccountSnapshot
from shared.infra.errors import RateLimited, UpstreamUnavailable
from tests.sims.mam import BASE_URL, MamSimState, mam_http_client
from workers.crawl.session import AccountMamClient
from workers.upstream import UpstreamOptions

TIB, GIB = 1024**4, 1024**3


def snap(**values: Any) -> AccountSnapshot:
    base: dict[str, Any] = {
        "uid": 1, "username": "m", "classname": "VIP", "ratio": 4.12, "uploaded_bytes": int(1.2 * TIB),
        "downloaded_bytes": int(310.4 * GIB), "seedbonus": 500.0, "wedges": 2, "vip_until": None,
        "unsat_count": 3, "unsat_limit": 150, "seeding": 40, "leeching": 0, "satisfied": 12,
        "bonus_per_hour": None,
    }
    return AccountSnapshot(**{**base, **values})


@pytest.mark.parametrize(("size", "text"), [
    (None, "?"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (int(287.4 * 1024**2), "287.4 MiB"),
    (int(1.2 * TIB), "1.2 TiB"), (5 * 1024**5, "5.0 PiB"), (-1, "?"),
])
def test_human_size(size: int | None, text: str) -> None:
    assert human_size(size) == text


def test_shorthand_of_a_full_snapshot() -> None:
    expected = "Up 1.2 TiB | Dn 310.4 GiB | Ratio 4.12 | VIP | BP/hr ? | Sat 12 | Unsat 3/150 | Leech 0"
    assert shorthand(snap()) == expected


def test_shorthand_shows_known_bonus_rate_and_unknowns_as_question_marks() -> None:
    line = shorthand(snap(bonus_per_hour=61.25, classname=None, unsat_limit=None, satisfied=None, leeching=None,
                          uploaded_bytes=None))
    assert line == "Up ? | Dn 310.4 GiB | Ratio 4.12 | Class ? | BP/hr 61.2 | Sat ? | Unsat 3/? | Leech ?"


def test_shorthand_before_any_snapshot_and_an_infinite_ratio() -> None:
    assert shorthand(None) == "Up ? | Dn ? | Ratio ? | Class ? | BP/hr ? | Sat ? | Unsat ? | Leech ?"
    assert "Ratio ∞" in shorthand(snap(ratio=None, downloaded_bytes=0))
    assert "Ratio ?" in shorthand(snap(ratio=None, downloaded_bytes=None))
    assert "Unsat ?" in shorthand(snap(unsat_count=None))


def test_needs_refresh_when_unknown_or_older_than_the_max_age() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert needs_refresh(None, now, 3600)
    assert needs_refresh(now - timedelta(seconds=3601), now, 3600)
    assert not needs_refresh(now - timedelta(seconds=3599), now, 3600)
    assert not needs_refresh(now + timedelta(seconds=30), now, 3600)  # another host's clock ahead of ours


class FakeRedis:
    """Enough of Redis for the back-off: the Lua script's effect (keep the longer wait) and PTTL."""

    def __init__(self) -> None:
        self.ttl_ms: dict[str, int] = {}

    def eval(self, script: str, numkeys: int, key: str, ms: int) -> int:
        self.ttl_ms[key] = max(self.ttl_ms.get(key, -2), int(ms))
        return 0

    def pttl(self, key: str) -> int:
        return self.ttl_ms.get(key, -2)


def client(state: MamSimState, redis: FakeRedis) -> AccountMamClient:
    options = UpstreamOptions(BASE_URL, http=mam_http_client(state))
    cookie = Cookie(state.session, epoch=1, source="stored")
    return AccountMamClient(options, cookie, redis=redis, backoff_default=60.0, cookie_source=lambda: cookie)


def test_a_429_backs_off_the_whole_account_and_waits_without_failing() -> None:
    state, redis = MamSimState(), FakeRedis()
    state.fail(429, retry_after="120")
    with pytest.raises(RateLimited) as err:
        client(state, redis).account()
    assert err.value.retry_after == 120 and redis.ttl_ms[backoff_key()] == 120_000


def test_a_5xx_backs_off_for_the_default_and_stays_a_transient_failure() -> None:
    state, redis = MamSimState(), FakeRedis()
    state.fail(503)
    with pytest.raises(UpstreamUnavailable):
        client(state, redis).account()
    assert redis.ttl_ms[backoff_key()] == 60_000


def test_an_ok_answer_sets_no_back_off() -> None:
    state, redis = MamSimState(), FakeRedis()
    assert client(state, redis).account().classname == "Power User"
    assert redis.ttl_ms == {}


def test_httpcore_debug_lines_never_show_a_renewed_cookie() -> None:
    """httpcore logs response headers at DEBUG before any client knows the renewed value."""
    import logging

    from workers.upstream.redaction import RedactingFilter

    line = ("receive_response_headers.complete return_value=(b'HTTP/1.1', 200, b'OK', [(b'date', b'Thu'), "
            "(b'set-cookie', b'mam_id=sim-mam-NEWVALUE123456; expires=Wed, 03-Mar-2027 09:10:53 GMT; path=/')])")
    record = logging.LogRecord("httpcore.http11", logging.DEBUG, __file__, 1, "%s", (line,), None)
    assert RedactingFilter().filter(record)
    assert "NEWVALUE123456" not in record.getMessage() and "(b'date', b'Thu')" in record.getMessage()
