"""The Downloads pages and the overview's downloads in a real browser (Debian's Chromium, Playwright)
against a real gateway, with downloads seeded in PostgreSQL (tests/fixtures/downloads_world.py):
one downloading, one seeding with its obligation open, one whose obligation is met, one whose
import rejected the wrong recording; and a grab parked on the governor.

What a person sees and does: the overview lists what downloads, what seeds under an obligation
(counting down) and what waits on the governor with its reason; the Downloads page shows each
download's state, progress, ratio, obligation (met, or the time left) and import verdict with the
figures of the rejected recording; a monitor cycle (the real ``download.monitor`` body, run here
against a fake qBittorrent as in tests/integration/test_download_monitor.py) moves the progress and
then completes the download, and the page follows without reloading; retrying the rejected import
queues it and the row says so, live; the detail page gives the decision record (why it was grabbed,
the wedge spent) and refuses a removal while seeding is owed, after asking for confirmation, with
the reason. Every page passes axe-core (no serious or critical violation), logs no console error,
fits 375 px, and is photographed into tests/artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.infra.clock import ManualClock, utcnow
from shared.infra.db import session_scope
from shared.models.jobs import Job
from shared.people.users import create_user
from tests.browser.test_ui import WIDEST, Checked
from tests.fixtures.downloads_world import TITLES, WAIT_REASON, Seeded, seed_downloads
from tests.fixtures.qbit_fake import FakeQbit, view
from tests.integration.stack import Stack, api_headers, wait_for
from tests.integration.test_download_monitor import qbit, run  # noqa: F401 (the fake qBittorrent fixture)

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
PHONE = 375


class Page(Checked):
    """The checks of test_ui.py, at the width of the smallest common phone."""

    def fits_a_phone(self, name: str) -> None:
        self.page.set_viewport_size({"width": PHONE, "height": 800})
        try:
            overflow = self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than {PHONE}px: {self.page.evaluate(WIDEST)}"
            self.shot(f"{name}-phone")
        finally:
            self.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(utcnow())


@pytest.fixture
def world(stack: Stack, api_key: str, clock: ManualClock) -> dict[str, Any]:
    with session_scope() as s:
        create_user(s, "alice", PASSWORD)
    seeded = seed_downloads(clock.now)
    _, base = stack.api()
    return {"base": base, "headers": api_headers(api_key), "seeded": seeded, "api_key": api_key}


def _show(fake: FakeQbit, seeded: Seeded, progress: float) -> None:
    """qBittorrent as the seeded rows describe it, the downloading one at ``progress``."""
    for name in ("owing", "met", "wrong"):
        fake.put(view(seeded.hashes[name], name=TITLES[name], completion_on=utcnow() - timedelta(hours=10)))
    fake.put(view(seeded.hashes["downloading"], name=TITLES["downloading"], state="downloading", progress=progress,
                  downloaded_bytes=int(progress * 100_000_000), ratio=0.0))


def _row(page: Any, download_id: int) -> Any:
    return page.locator(f"tr[data-download='{download_id}']")


@pytest.mark.timeout(600)
def test_downloads_pages_show_the_truth_and_follow_it_live(browser: Any, world: dict[str, Any], screenshots: Path,
                                                           qbit: FakeQbit, clock: ManualClock) -> None:  # noqa: F811
    base, seeded = world["base"], world["seeded"]
    ids = seeded.downloads
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ui = Page(page, base, screenshots)
    secrets = [world["api_key"]]

    ui.go("/downloads")
    page.wait_for_url(re.compile(r"/login\?next=%2Fdownloads"))  # not without logging in
    page.get_by_label("Name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/downloads")
    ui.errors.clear()  # the redirect's 401 is expected

    # -- the overview: downloading, owing seeding time, waiting on the governor ----------------------------
    page.get_by_role("link", name="Overview").click()
    downloading = page.get_by_test_id("overview-downloading")
    downloading.wait_for()
    assert TITLES["downloading"] in downloading.inner_text() and "42 %" in downloading.inner_text()
    owing = page.get_by_test_id("overview-owing")
    assert [li.get_attribute("data-download") for li in owing.locator("li").all()] == [
        str(ids["owing"]), str(ids["wrong"])], "most urgent first: 64 h owed within 20 days before 72 h within 30"
    assert "71 h" in owing.locator(f"li[data-download='{ids['wrong']}']").inner_text()  # 72 h less 10 min seeded
    # 64 h owed when read; the page counts on while it seeds, so a minute later it is 63 h 59 min
    assert re.search(r"\b6[34] h \d\d min left", owing.locator(f"li[data-download='{ids['owing']}']").inner_text())
    assert TITLES["met"] not in owing.inner_text()
    waiting = page.get_by_test_id("overview-waiting")
    assert WAIT_REASON in waiting.inner_text() and f"wanted #{seeded.waiting_wanted}" in waiting.inner_text()
    assert "unsat" in waiting.inner_text()
    ui.check("overview-downloads", secrets)

    # -- the Downloads page ------------------------------------------------------------------------------
    page.get_by_role("link", name="Downloads").click()
    page.wait_for_url(base + "/downloads")
    assert page.get_by_role("link", name="Downloads").get_attribute("aria-current") == "page"
    row = _row(page, ids["downloading"])
    row.wait_for()
    assert row.get_by_test_id("download-state").inner_text() == "downloading"
    assert row.get_by_test_id("progress").inner_text() == "42 %"
    assert f"wanted #{seeded.wanted['downloading']}" in row.inner_text()
    owing_row = _row(page, ids["owing"])
    countdown = owing_row.locator("[data-standing]")
    assert countdown.get_attribute("data-standing") == "on_track"
    left = owing_row.get_by_test_id("time-left")
    first = left.inner_text()
    assert first.startswith("64 h 00 min") or first.startswith("63 h 59 min"), first
    assert "0.80" in owing_row.inner_text()  # the ratio
    assert owing_row.get_by_test_id("import-verdict").inner_text() == "imported"
    met_row = _row(page, ids["met"])
    assert met_row.locator("[data-standing]").get_attribute("data-standing") == "met"
    assert met_row.get_by_test_id("time-left").count() == 0
    wrong = _row(page, ids["wrong"])
    assert wrong.get_by_test_id("import-verdict").inner_text() == "wrong recording"
    figures = wrong.locator(".figures").inner_text()
    assert "Duration: measured 5 h 36 min, expected 7 h 0 min (−20.0 %, tolerance ±3 %)" in figures
    assert "Narrator in the file tags: Stephen Fry; expected Nigel Planer" in figures
    assert "Narrator heard: Stephen Fry" in figures
    ui.check("downloads", secrets)

    # -- live: a monitor cycle moves the progress, then completes it; no reload --------------------------------
    page.evaluate("() => { window.__sameDocument = true; }")
    _show(qbit, seeded, 0.77)
    run(clock)
    wait_for(lambda: row.get_by_test_id("progress").inner_text() == "77 %", 15, 0.2, what="progress shown live")
    qbit.set(seeded.hashes["downloading"], state="uploading", progress=1.0, downloaded_bytes=100_000_000,
             completion_on=clock.now)
    run(clock)
    wait_for(lambda: row.get_by_test_id("download-state").inner_text() == "seeding", 15, 0.2, what="completion")
    row.locator("[data-standing=on_track]").wait_for()
    wait_for(lambda: row.get_by_test_id("import-verdict").inner_text() == "import queued", 15, 0.2,
             what="the import queued by the monitor")
    assert page.evaluate("() => window.__sameDocument") is True

    # -- retry the rejected import: queued, and the row follows the import's event ----------------------------
    wrong.get_by_role("button", name=re.compile("^Retry import")).click()
    page.locator(".notice", has_text="import queued again").wait_for()
    wait_for(lambda: wrong.get_by_test_id("import-verdict").inner_text() == "importing (new)", 15, 0.2,
             what="the retried import shown running")
    with session_scope() as s:
        queued = s.scalars(select(Job.args).where(Job.type == "import.abs", Job.state == "queued")).all()
    assert {"download_id": ids["wrong"]} in queued
    assert page.evaluate("() => window.__sameDocument") is True

    # -- the detail: decision record, and a removal refused while seeding is owed ------------------------------
    owing_row.get_by_role("link", name=TITLES["owing"]).click()
    page.wait_for_url(f"{base}/downloads/{ids['owing']}")
    record = page.locator("ol.record")
    record.wait_for()
    assert "a wedge makes it free" in record.inner_text()
    assert "personalFL done" in page.get_by_role("region", name="Decision record").inner_text()
    page.get_by_role("button", name="Request removal…").click()
    page.get_by_text("It still owes seeding").wait_for()
    page.get_by_label("Why (kept with the decision)").fill("tidy up the client")
    ui.check("download-detail-confirm", secrets)
    page.get_by_role("button", name="Confirm removal").click()
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.inner_text().startswith("Refused: Still seeding — ") and "still owes" in refusal.inner_text()
    assert [e for e in ui.errors if "409" in e] != [], "the refusal came from the API"
    ui.errors[:] = [e for e in ui.errors if "status of 409" not in e]  # the browser logs the refusal's status
    shown = httpx.get(f"{base}/api/v1/downloads/{ids['owing']}/decisions", headers=world["headers"]).json()
    assert shown["decisions"][-1]["kind"] == "refuse", "the refused request is recorded"
    ui.check("download-detail", secrets)

    ui.go(f"/downloads/{ids['wrong']}")
    page.get_by_role("region", name="Files of the download").wait_for()
    assert "Small Gods.m4b" in page.get_by_role("region", name="Files of the download").inner_text()
    ui.check("download-detail-rejected", secrets)

    assert ui.errors == [], ui.errors
    context.close()
