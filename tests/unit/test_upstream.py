"""The outbound HTTP layer itself: mapping table, Retry-After, size cap, redaction, fatal auth.

Every test talks to an ``httpx.MockTransport``, so each one says exactly what the service answered.
"""

from __future__ import annotations

import email.utils
import gzip
import logging
from collections.abc import Callable

import httpx
import pytest

from shared.infra.errors import (
    AuthError,
    MalformedResponse,
    MamcError,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
    UpstreamUnavailable,
)
from workers.upstream import (
    Reply,
    ResponseTooLarge,
    UpstreamAuthError,
    UpstreamClient,
    UpstreamOptions,
    classify_status,
    parse_retry_after,
)
from workers.upstream.redaction import Redactor

SECRET = "sk-9d2f7a1c5e3b8d4f"  # distinctive, so a leak is easy to spot
Handler = Callable[[httpx.Request], httpx.Response]


class Service(UpstreamClient):
    service = "svc"


class SessionService(UpstreamClient):
    """Like a MAM client: a 403 carrying "session" means every later request would fail too."""

    service = "mam"

    def auth_is_fatal(self, reply: Reply) -> bool:
        return b"session" in reply.content.lower()


def _client(handler: Handler, cls: type[UpstreamClient] = Service, **fields: object) -> UpstreamClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return cls(UpstreamOptions("http://svc.test", http=http, **fields), secrets=(SECRET,))  # type: ignore[arg-type]


def _answer(status: int, body: bytes = b"", **headers: str) -> Handler:
    return lambda request: httpx.Response(status, content=body, headers=headers)


# -- the mapping table ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, UpstreamUnavailable),
        (503, UpstreamUnavailable),
        (500, UpstreamUnavailable),
        (502, UpstreamUnavailable),
        (408, UpstreamUnavailable),
        (401, UpstreamAuthError),
        (403, UpstreamAuthError),
        (404, NotFound),
        (400, PermanentError),
        (409, PermanentError),
        (422, PermanentError),
        (302, PermanentError),
    ],
)
def test_status_mapping_table(status: int, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        _client(_answer(status, b'{"message": "said no"}')).request("GET", "/thing")
    assert type(caught.value) is error
    assert f"svc: HTTP {status} on GET /thing" in str(caught.value) and "said no" in str(caught.value)


def test_transient_and_permanent_families() -> None:
    """Retry policies decide by family: 429/5xx retry, auth and other 4xx do not."""
    assert isinstance(classify_status(429, "m", service="s"), TransientError)
    assert isinstance(classify_status(503, "m", service="s"), TransientError)
    for status in (400, 401, 403, 404, 410):
        assert isinstance(classify_status(status, "m", service="s"), PermanentError)
    assert isinstance(classify_status(401, "m", service="s"), AuthError)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_kept(status: int) -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        _client(_answer(status, **{"Retry-After": "7"})).request("GET", "/x")
    assert caught.value.retry_after == 7.0


def test_retry_after_http_date_is_kept() -> None:
    when = email.utils.formatdate(1_700_000_120, usegmt=True)
    assert parse_retry_after(when, now=1_700_000_000) == pytest.approx(120.0)
    with pytest.raises(UpstreamUnavailable) as caught:
        _client(_answer(503, **{"Retry-After": email.utils.formatdate(usegmt=True)})).request("GET", "/x")
    assert caught.value.retry_after is not None and caught.value.retry_after <= 1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("2.5", 2.5), ("-4", 0.0), ("", None), (None, None), ("soon", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],  # a date in the past means "now"
)
def test_parse_retry_after_forms(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamUnavailable, match="no answer within 20s"):
        _client(timeout).request("GET", "/x")
    with pytest.raises(UpstreamUnavailable, match="failed: ConnectError"):
        _client(refused).request("GET", "/x")


def test_unparsable_200_is_malformed() -> None:
    client = _client(_answer(200, b'{"half": '))
    reply = client.request("GET", "/x")
    with pytest.raises(MalformedResponse, match="unparsable JSON"):
        client.decode_json(reply.content, "GET", "/x")


def test_throttle_runs_before_every_request_and_its_refusal_sends_nothing() -> None:
    sent: list[str] = []
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, content=b"{}")

    def throttle() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RateLimited("svc", 3.0)

    client = _client(handler, throttle=throttle)
    client.request("GET", "/a")
    with pytest.raises(RateLimited):
        client.request("GET", "/b")
    assert sent == ["/a"]


def test_redirects_are_followed_by_hand_only_when_the_client_asks_and_each_hop_is_throttled() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "/new?x=1"})
        return httpx.Response(200, content=b'{"at": "new"}')

    class Following(Service):
        max_redirects = 2

    reply = _client(handler, Following, throttle=lambda: calls.append(1)).request("GET", "/old", params={"q": "a"})
    assert reply.status == 200 and reply.url.endswith("/new?x=1") and len(calls) == 2
    with pytest.raises(PermanentError, match="redirect to /new"):
        _client(handler).request("GET", "/old")


# -- the size cap --------------------------------------------------------------------------------

def test_a_body_past_the_cap_stops_the_read() -> None:
    produced: list[int] = []

    def endless() -> object:
        for _ in range(1000):
            produced.append(1)
            yield b"x" * 1024

    handler: Handler = lambda request: httpx.Response(200, content=endless())  # type: ignore[arg-type]  # noqa: E731
    with pytest.raises(ResponseTooLarge, match="over the 4096-byte cap") as caught:
        _client(handler, max_response_bytes=4096).request("GET", "/big")
    assert caught.value.limit == 4096 and isinstance(caught.value, PermanentError)
    assert len(produced) <= 5  # stopped reading: the other 995 chunks were never pulled


def test_a_declared_length_past_the_cap_is_refused_before_reading() -> None:
    with pytest.raises(ResponseTooLarge, match="declares 10000 bytes"):
        _client(_answer(200, b"y" * 10_000), max_response_bytes=1000).request("GET", "/big")


def test_the_cap_counts_decompressed_bytes() -> None:
    bomb = gzip.compress(b"0" * 100_000)  # ~100 bytes on the wire
    handler = _answer(200, bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(ResponseTooLarge):
        _client(handler, max_response_bytes=50_000).request("GET", "/bomb")
    assert len(_client(handler).request("GET", "/bomb").content) == 100_000


def test_a_body_at_the_cap_is_accepted() -> None:
    assert _client(_answer(200, b"z" * 1000), max_response_bytes=1000).request("GET", "/x").content == b"z" * 1000


# -- redaction -----------------------------------------------------------------------------------

def test_errors_carry_redacted_text_only() -> None:
    body = f'{{"error": "token {SECRET} expired"}}'.encode()
    for status in (401, 400, 500):
        with pytest.raises(Exception) as caught:
            _client(_answer(status, body)).request("GET", "/x")
        text = f"{caught.value} {caught.value!r} {caught.value.args}"
        assert SECRET not in text and "token *** expired" in text

    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach http://u:{SECRET}@host", request=request)

    with pytest.raises(UpstreamUnavailable) as caught:
        _client(leaky).request("GET", "/x")
    assert SECRET not in str(caught.value) and "***" in str(caught.value)


def test_malformed_body_quotes_are_redacted() -> None:
    client = _client(_answer(200, f"<html>{SECRET}".encode()))
    with pytest.raises(MalformedResponse) as caught:
        client.decode_json(client.request("GET", "/x").content, "GET", "/x")
    assert SECRET not in str(caught.value)


def test_repr_and_vars_of_a_client_show_no_secret() -> None:
    client = _client(_answer(200))
    assert SECRET not in repr(client) and SECRET not in str(vars(client))
    assert repr(UpstreamOptions("http://x", secrets=(SECRET,))).count(SECRET) == 0


def test_log_lines_of_the_http_stack_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs each URL at INFO; a key sent in the query string must not reach the log."""
    caplog.set_level(logging.DEBUG)
    client = _client(_answer(200, b"{}"))
    client.request("GET", "/volumes", params={"q": "x", "key": SECRET})
    assert "/volumes" in caplog.text and SECRET not in caplog.text


def test_redactor_masks_longest_secret_first_and_ignores_blanks() -> None:
    redact = Redactor(["abcd", "abcdef", "", None, "  "])
    assert redact("x abcdef y abcd") == "x *** y ***"
    assert "abcd" not in repr(redact)


# -- fatal authentication ------------------------------------------------------------------------

def test_auth_errors_are_not_fatal_unless_the_client_says_so() -> None:
    with pytest.raises(UpstreamAuthError) as plain:
        _client(_answer(403, b"Invalid payload")).request("POST", "/batch")
    assert plain.value.fatal is False and plain.value.service == "svc"
    with pytest.raises(UpstreamAuthError) as gone:
        _client(_answer(403, b"Your session has expired"), SessionService).request("GET", "/search")
    assert gone.value.fatal is True and gone.value.service == "mam"
    with pytest.raises(UpstreamAuthError) as other:
        _client(_answer(403, b"Not your torrent"), SessionService).request("GET", "/download")
    assert other.value.fatal is False


def test_a_client_refines_one_response_without_touching_the_rest() -> None:
    class Quirky(Service):
        def classify(self, reply: Reply, method: str, path: str) -> MamcError:
            if reply.status == 400 and b"key invalid" in reply.content:
                return UpstreamAuthError(self.describe(reply, method, path), service=self.service, fatal=True)
            return super().classify(reply, method, path)

    with pytest.raises(UpstreamAuthError):
        _client(_answer(400, b"key invalid"), Quirky).request("GET", "/x")
    with pytest.raises(PermanentError) as caught:
        _client(_answer(400, b"bad query"), Quirky).request("GET", "/x")
    assert not isinstance(caught.value, AuthError)
