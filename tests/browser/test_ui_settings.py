"""The Settings pages and the first-run page in a real browser (Debian's Chromium, Playwright) against a
real stack: the gateway serving ui/dist, a download worker, the qBittorrent simulator and a
notification sink.

What a person does, in order: on an empty database, opens the site on the server itself and lands
on the first-run page; a password the server refuses is explained next to its field; the first
account is created and logged in. Then edits the quality profile and the governor policy (a
cross-field rule the server refuses is shown next to the field it names; the fixed value is what the
API then serves); enters qBittorrent's connection with a wrong password, runs the connection test
and sees it fail with the reason, fixes the password and sees it pass, live; sets a notification
URL (shown back only as its scheme) and sends a test notification that reaches the sink. Every page
passes axe-core with no serious or critical violation, logs no unexpected console error, fits a
375 px wide phone, and never shows a stored secret. Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_ui import WIDEST, Checked
from tests.fixtures.sinks import Sink
from tests.integration.stack import Stack, api_headers, wait_for
from tests.sims.qbit import QbitSimState, serve_qbit

pytestmark = pytest.mark.slow
PASSWORD = "first-account-passphrase"
QBIT_PASSWORD = "qbit-sim-password-81c4"
WRONG_PASSWORD = "not-the-password-6e2a"
HOOK_TOKEN = "hooktoken-5be9f0a1"
# Chromium logs every 4xx answer as a console error; these are the ones the test provokes on purpose.
EXPECTED = re.compile(r"status of (401|422)")


class Settings(Checked):
    """test_ui's checks, at a 375 px phone width."""

    def fits_a_phone(self, name: str) -> None:
        self.page.set_viewport_size({"width": 375, "height": 812})
        try:
            overflow = self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone: {self.page.evaluate(WIDEST)}"
            self.shot(f"{name}-phone")
        finally:
            self.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def qbit() -> Iterator[tuple[QbitSimState, str]]:
    state = QbitSimState(username="mamc", password=QBIT_PASSWORD)
    base, stop = serve_qbit(state)
    yield state, base
    stop()


@pytest.fixture
def gateway(stack: Stack, api_key: str) -> Iterator[dict[str, Any]]:
    stack.worker("download", concurrency=1)
    _, base = stack.api()
    yield {"base": base, "headers": api_headers(api_key)}


def _get(gateway: dict[str, Any], path: str) -> dict[str, Any]:
    r = httpx.get(gateway["base"] + path, headers=gateway["headers"], timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _outcome(page: Any, name: str) -> Any:
    """The verdict of the job a button started, once the event stream brought its end."""
    outcome = page.get_by_test_id(f"outcome-{name}")
    page.wait_for_selector(f"[data-testid=outcome-{name}][data-ok]:not([data-ok=''])", timeout=60_000)
    return outcome


@pytest.mark.timeout(600)
def test_settings_pages_and_the_first_run(browser: Any, gateway: dict[str, Any], screenshots: Path,
                                          qbit: tuple[QbitSimState, str], sink: Sink) -> None:
    base = gateway["base"]
    qbit_state, qbit_url = qbit
    secrets = [gateway["headers"]["X-Api-Key"], QBIT_PASSWORD, WRONG_PASSWORD, HOOK_TOKEN, PASSWORD]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ui = Settings(page, base, screenshots)

    # -- first run: an empty database, a visitor on the server itself ---------------------------------
    ui.go("/")
    page.wait_for_url(base + "/first-run")
    page.get_by_role("heading", name="Welcome to MAMcrawler").wait_for()
    ui.check("first-run", secrets)
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Create the account").click()
    error = page.locator("#first-password-err")
    error.wait_for()
    assert "at least 8 characters" in error.inner_text()
    assert page.get_by_label("Password", exact=True).get_attribute("aria-invalid") == "true"
    ui.check("first-run-refused", secrets)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    page.wait_for_url(base + "/")
    page.get_by_role("button", name="Log out").wait_for()
    assert page.locator(".who").inner_text() == "admin"
    r = httpx.post(base + "/api/v1/auth/first-run", json={"name": "late", "password": PASSWORD}, timeout=30)
    assert r.status_code == 409  # closed for good once someone exists
    ui.go("/first-run")
    page.get_by_role("link", name="Log in").wait_for()  # the page itself says it is closed

    # -- the quality profile: a cross-field rule refused next to its field, then saved -----------------
    ui.go("/settings/quality")
    minimum = page.get_by_label("Min bitrate kbps")
    minimum.wait_for()
    assert page.get_by_role("link", name="Quality profile").get_attribute("aria-current") == "page"
    minimum.fill("200")  # above the ideal range's low end (128): the server names ideal_bitrate_kbps
    page.get_by_role("button", name="Save the quality profile").click()
    field_error = page.locator("#qp-ideal_bitrate_kbps-err")
    field_error.wait_for()
    assert "min_bitrate_kbps <= low" in field_error.inner_text()
    assert _get(gateway, "/api/v1/settings/quality-profile")["source"] == "default"
    ui.check("settings-quality-refused", secrets)
    minimum.fill("96")
    page.get_by_label("Narrator", exact=True).fill("5")
    page.get_by_label("Allow dramatisation").check()
    page.get_by_role("button", name="Save the quality profile").click()
    page.get_by_text("Saved the quality profile.").wait_for()
    assert page.locator("#qp-ideal_bitrate_kbps-err").count() == 0
    stored = _get(gateway, "/api/v1/settings/quality-profile")
    assert stored["source"] == "stored" and stored["profile"]["min_bitrate_kbps"] == 96
    assert stored["profile"]["weights"]["narrator"] == 5 and stored["profile"]["allow_dramatisation"] is True
    assert stored["profile"]["formats"] == ["m4b", "m4a", "mp3"]  # untouched fields keep their values
    ui.check("settings-quality", secrets)

    # -- the governor policy ------------------------------------------------------------------------
    page.get_by_role("link", name="Governor").click()
    recovery = page.get_by_label("Ratio recovery")
    recovery.wait_for()
    recovery.fill("0.5")  # under the floor (1.0)
    page.get_by_role("button", name="Save the governor policy").click()
    page.locator("#gov-ratio_recovery-err").wait_for()
    assert "ratio_floor" in page.locator("#gov-ratio_recovery-err").inner_text()
    assert page.locator("[data-field=ratio_recovery]").get_by_role("spinbutton").get_attribute("aria-invalid") == "true"
    recovery.fill("1.2")
    page.get_by_label("Mode").select_option("cautious")
    page.get_by_label("Unsat reserve").fill("8")
    page.get_by_role("button", name="Save the governor policy").click()
    page.get_by_text("Saved the governor policy.").wait_for()
    policy = _get(gateway, "/api/v1/settings/governor")["policy"]
    assert (policy["ratio_recovery"], policy["mode"], policy["unsat_reserve"]) == (1.2, "cautious", 8)
    ui.check("settings-governor", secrets)

    # -- connections: a qBittorrent test fails with the reason, then passes, live ----------------------
    page.get_by_role("link", name="Connections").click()
    page.get_by_label("WebUI URL").wait_for()
    page.get_by_label("WebUI URL").fill(qbit_url)
    page.get_by_label("WebUI user").fill("mamc")
    page.get_by_label("WebUI password").fill(WRONG_PASSWORD)
    page.get_by_role("button", name="Save the connection").click()
    page.get_by_text("Saved the qBittorrent connection.").wait_for()
    assert page.get_by_label("WebUI password").input_value() == ""  # write-only: emptied once saved
    assert page.get_by_test_id("qbit-password").inner_text() == "set here"
    page.evaluate("() => { window.__sameDocument = true; }")
    page.get_by_role("button", name="Test qBittorrent").click()
    outcome = _outcome(page, "qbittorrent")
    assert outcome.get_attribute("data-ok") == "false"
    assert "refused" in outcome.inner_text(), outcome.inner_text()
    ui.check("settings-connections-failed", secrets)
    page.get_by_label("WebUI password").fill(QBIT_PASSWORD)
    page.get_by_role("button", name="Save the connection").click()
    page.get_by_text("Saved the qBittorrent connection.").wait_for()
    page.get_by_role("button", name="Test qBittorrent").click()
    wait_for(lambda: page.get_by_test_id("outcome-qbittorrent").get_attribute("data-ok") == "true", 60, 0.2,
             what="the second qBittorrent test passing")
    assert "qBittorrent" in outcome.inner_text() and "'mamc'" in outcome.inner_text()
    assert page.evaluate("() => window.__sameDocument") is True  # no reload: the event stream did it
    assert qbit_state.count("auth/login") >= 2
    ui.check("settings-connections", secrets)

    # -- notifications: the URL is shown back as its scheme only; a test reaches the sink -------------
    page.get_by_role("link", name="Notifications").click()
    page.get_by_label("New Apprise URLs").wait_for()
    port = sink.server.server_address[1]
    page.get_by_label("New Apprise URLs").fill(f"json://127.0.0.1:{port}/{HOOK_TOKEN}")
    page.get_by_label("A book was grabbed").uncheck()
    page.get_by_role("button", name="Save the notification settings").click()
    page.get_by_text("Saved the notification settings.").wait_for()
    assert "1 URL(s) (json://…; set here)" in page.get_by_test_id("notify-urls").inner_text()
    assert page.get_by_label("New Apprise URLs").input_value() == ""
    assert _get(gateway, "/api/v1/settings/notifications")["disabled"] == ["grabbed"]
    page.get_by_role("button", name="Send a test notification").click()
    assert _outcome(page, "notify").get_attribute("data-ok") == "true"
    assert sink.received[-1]["title"] == "MAMcrawler: test notification"
    ui.check("settings-notifications", secrets)

    # -- the API keys page and a reload: still no secret anywhere ------------------------------------
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("heading", name="API keys").wait_for()
    ui.check("settings-keys", secrets)
    for path in ("/settings/connections", "/settings/notifications"):
        ui.go(path)
        page.get_by_role("heading", level=2).first.wait_for()
        page.wait_for_load_state("networkidle")
        html = page.content()
        assert not any(s in html for s in secrets), path

    noise = [e for e in ui.errors if not EXPECTED.search(e)]
    assert noise == [], noise
    context.close()
