"""The quality profile and the alerts through the real gateway (its own process) and PostgreSQL.

- ``GET /settings/quality-profile`` shows the defaults until a ``PUT`` stores a profile; the stored
  profile is what the search's :func:`load_profile` reads; ``DELETE`` goes back to the defaults.
- A bad ``PUT`` is a 422 problem whose ``errors`` name the field, and the stored profile stays.
- A stored value that no longer validates (an older shape) falls back to the defaults, visibly.
- ``GET /alerts`` lists open, resolved or all alerts, newest first, in pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.crawl.choice import QualityProfile
from shared.crawl.profile_store import load_profile
from shared.infra.alerts import raise_alert, resolve_alerts
from shared.infra.db import session_scope
from tests.integration.stack import Stack, api_headers

pytestmark = pytest.mark.slow
PATH = "/api/v1/settings/quality-profile"
DEFAULTS = json.loads(QualityProfile().model_dump_json())


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.headers = base, api_headers(key)

    def call(self, method: str, path: str, *, key: bool = True, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.base + path, headers=self.headers if key else {}, timeout=30, **kwargs)

    def profile(self) -> dict[str, Any]:
        r = self.call("GET", PATH)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        body: dict[str, Any] = r.json()
        assert set(body) == {"profile", "source", "updated_at", "invalid_reason"}
        return body


@pytest.fixture
def api(stack: Stack, api_key: str) -> Iterator[Api]:
    _, base = stack.api()
    yield Api(base, api_key)


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def _store_raw(value: str) -> None:
    with session_scope() as s:
        s.execute(text("INSERT INTO app_settings (name, value) VALUES ('quality_profile', CAST(:v AS jsonb)) "
                       "ON CONFLICT (name) DO UPDATE SET value = excluded.value"), {"v": value})


def test_profile_defaults_round_trip_and_reset(api: Api) -> None:
    first = api.profile()
    assert first == {"profile": DEFAULTS, "source": "default", "updated_at": None, "invalid_reason": None}
    assert first["profile"]["formats"] == ["m4b", "m4a", "mp3"] and first["profile"]["languages"] == ["en"]

    wanted = {"formats": ["MP3", ".m4b"], "languages": ["English", "de"], "min_bitrate_kbps": 96,
              "allow_dramatisation": True, "weights": {"narrator": 5}, "spending": {"use_wedges": False}}
    r = api.call("PUT", PATH, json=wanted)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["source"] == "stored" and saved["updated_at"] and saved["invalid_reason"] is None
    expected = {**DEFAULTS, "formats": ["mp3", "m4b"], "languages": ["en", "de"], "min_bitrate_kbps": 96,
                "allow_dramatisation": True, "weights": {**DEFAULTS["weights"], "narrator": 5.0},
                "spending": {**DEFAULTS["spending"], "use_wedges": False}}
    assert saved["profile"] == expected
    assert api.profile() == saved
    with session_scope() as s:  # what a search reads
        assert load_profile(s) == QualityProfile.model_validate(expected)

    # PUT replaces, it does not merge: the fields left out go back to their defaults
    r = api.call("PUT", PATH, json={"min_seeders": 3})
    assert r.status_code == 200, r.text
    assert r.json()["profile"] == {**DEFAULTS, "min_seeders": 3}

    assert api.call("DELETE", PATH).status_code == 204
    assert api.profile()["source"] == "default"
    assert api.call("DELETE", PATH).status_code == 204  # idempotent
    with session_scope() as s:
        assert load_profile(s) == QualityProfile()


INVALID: list[tuple[Any, list[str | int], str]] = [
    ({"min_bitrate_kbps": 200}, ["body", "ideal_bitrate_kbps"], "min_bitrate_kbps <= low"),
    ({"weights": {"narrator": -1}}, ["body", "weights", "narrator"], "greater than or equal to 0"),
    ({"languages": []}, ["body", "languages"], "at least 1 item"),
    ({"languages": ["Klingon"]}, ["body", "languages"], "unknown language"),
    ({"ideal_bitrate_kbps": [192, 128]}, ["body", "ideal_bitrate_kbps"], "low <= high"),
    ({"bitrate": 64}, ["body", "bitrate"], "Extra inputs"),
    ({"spending": {"wedge_penalty": 0.5}}, ["body", "spending", "paid_penalty"], "wedge_penalty"),
    ({"min_seeders": "many"}, ["body", "min_seeders"], "valid integer"),
    (b'{"unknown_bitrate_score": Infinity}', ["body", "unknown_bitrate_score"], "finite number"),
    (b"{not json", ["body", 1], "JSON decode error"),
    ([1, 2], ["body"], "valid dictionary"),
]


def test_invalid_profile_is_a_problem_naming_the_field(api: Api) -> None:
    """One API process for every case (each start costs seconds); a failure names its body."""
    assert api.call("PUT", PATH, json={"min_seeders": 2}).status_code == 200
    for body, loc, words in INVALID:
        sent = {"content": body, "headers": {**api.headers, "content-type": "application/json"}} \
            if isinstance(body, bytes) else {"json": body, "headers": api.headers}
        r = httpx.put(api.base + PATH, timeout=30, **sent)
        problem = _problem(r, 422)
        assert problem["title"] == "Invalid request" and problem["instance"] == PATH, body
        assert [e["loc"] for e in problem["errors"]] == [loc], (body, problem)
        assert words in problem["errors"][0]["msg"], (body, problem)
    after = api.profile()
    assert after["source"] == "stored" and after["profile"] == {**DEFAULTS, "min_seeders": 2}  # unchanged


def test_routes_need_a_key(api: Api) -> None:
    for method, path in (("GET", PATH), ("PUT", PATH), ("DELETE", PATH), ("GET", "/api/v1/alerts")):
        problem = _problem(api.call(method, path, key=False, json={}), 401)
        assert problem["title"] == "Unauthorized"
    assert api.profile()["source"] == "default"  # the refused PUT stored nothing


def test_a_stored_profile_that_no_longer_validates_falls_back_visibly(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    # an older shape: a renamed field, and a language list written as one string
    _store_raw(json.dumps({"bitrate": 64, "languages": "Klingon", "formats": ["m4b"]}))
    body = api.profile()
    assert body["source"] == "invalid-stored" and body["profile"] == DEFAULTS and body["updated_at"]
    reason = body["invalid_reason"]
    assert "bitrate: Extra inputs are not permitted" in reason and "languages:" in reason
    assert "Klingon" not in reason  # the messages, not the stored values
    with caplog.at_level(logging.WARNING, logger="shared.crawl.profile_store"), session_scope() as s:
        assert load_profile(s) == QualityProfile()  # a search goes on with the defaults
    assert any("no longer validates" in r.getMessage() and "bitrate" in r.getMessage() for r in caplog.records)

    _store_raw(json.dumps(["m4b"]))  # not even an object
    assert api.profile()["source"] == "invalid-stored"

    r = api.call("PUT", PATH, json={"languages": ["de"]})
    assert r.status_code == 200 and r.json()["source"] == "stored" and r.json()["invalid_reason"] is None
    assert api.profile()["profile"]["languages"] == ["de"]


def _alerts(api: Api, **params: Any) -> dict[str, Any]:
    r = api.call("GET", "/api/v1/alerts", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_alerts_open_resolved_and_all(api: Api) -> None:
    assert _alerts(api) == {"items": [], "next_cursor": None}
    for kind in ("first_kind", "mam_session_invalid", "third_kind"):
        with session_scope() as s:  # one transaction each: distinct raise times
            raise_alert(s, kind, f"{kind} happened")
    with session_scope() as s:
        assert resolve_alerts(s, "mam_session_invalid") == 1
        raise_alert(s, "first_kind", "raised again while open: a no-op")

    opened = _alerts(api)["items"]
    assert [a["kind"] for a in opened] == ["third_kind", "first_kind"]
    assert set(opened[0]) == {"id", "kind", "message", "created_at", "resolved_at"}
    assert opened[1]["message"] == "first_kind happened" and opened[1]["resolved_at"] is None
    resolved = _alerts(api, state="resolved")["items"]
    assert [a["kind"] for a in resolved] == ["mam_session_invalid"] and resolved[0]["resolved_at"]
    everything = _alerts(api, state="all")
    assert [a["kind"] for a in everything["items"]] == ["third_kind", "mam_session_invalid", "first_kind"]
    assert everything["items"][0]["id"] > everything["items"][2]["id"]

    paged, cursor = [], None
    while True:
        page = _alerts(api, state="all", limit=1, **({"cursor": cursor} if cursor else {}))
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == everything["items"]

    assert _problem(api.call("GET", "/api/v1/alerts", params={"state": "closed"}), 422)["errors"][0]["loc"] \
        == ["query", "state"]
    assert _problem(api.call("GET", "/api/v1/alerts", params={"cursor": "garbage"}), 400)["title"] \
        == "Invalid cursor"
