"""The web UI in a real browser (Debian's Chromium, Playwright) against a real stack.

The stack: the gateway serving ui/dist, a crawl worker and a metadata worker, the MAM simulator
(a catalogue holding the book the test adds), the Audible simulator (a generated world, so the
wish resolves), data seeded in PostgreSQL (a person, account snapshots, an alert, a dead job).

What a person does, in order: cannot reach a page without logging in; logs in; the overview shows
the account line, the three charts, the pools and the alert; adds a book to the wishlist, searches
it and reads the candidates with the chosen one, the score breakdown, the cost and every rejection
reason; replays a dead job and watches it succeed without a reload; pauses and resumes a pool;
after a gateway restart the Jobs page reconnects and shows a new job without a reload; creates an
API key (shown once: gone after a reload) and revokes it. Every page
passes axe-core with no serious or critical violation, logs no error (a CSP violation included),
fits a phone's width, and never shows an API key. A screenshot of each page is written to
tests/artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from shared.crawl.session import ACCOUNT
from shared.engine import ledger
from shared.infra.alerts import raise_alert
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.models.crawl import MamAccountSnapshot
from shared.models.jobs import Job
from shared.models.metadata import Wanted
from shared.people.users import create_user
from shared.wanted.service import WantedRow, upsert_wanted
from shared.wanted.states import WantedReason
from tests.browser.conftest import AXE
from tests.integration.stack import Stack, api_headers, wait_for, wait_state
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, serve_world
from tests.sims.mam import MamSimState, serve_mam
from tests.sims.mam.catalogue import build_catalogue
from tests.sims.world import AudioEdition, Work, World, generate_world

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


def _unowned(world: World) -> tuple[Work, AudioEdition]:
    for w in sorted(world.works.values(), key=lambda w: w.work_id):
        edition = w.edition("us")
        if w.kind == "primary" and w.work_id not in world.owned_work_ids and edition is not None:
            return w, edition
    raise AssertionError("the generated world has no unowned primary work")


@pytest.fixture(scope="module")
def world() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(3, seed=11))
    yield served
    served.stop()


@pytest.fixture
def mam(world: ServedWorld) -> Iterator[MamSimState]:
    work, edition = _unowned(world.world)
    series = world.world.series_by_id[work.series_id].name
    book = {"title": work.title, "authors": list(work.authors), "narrators": list(edition.narrators),
            "series": [(series, work.position)], "tags": "Unabridged, 64 kbps",
            "size_bytes": int(edition.duration_seconds * 64_000 / 8), "seeders": 9}
    specs = [book,
             {**book, "filetype": "mp3", "numfiles": 30, "seeders": 2},  # acceptable, lower score
             {**book, "title": f"{work.title} (GraphicAudio)", "narrators": ["A Full Cast"],
              "tags": "GraphicAudio, dramatized, full cast"}]  # rejected: a dramatisation
    state = MamSimState(catalogue=build_catalogue(specs))
    base, stop = serve_mam(state)
    state.base = base  # type: ignore[attr-defined]
    yield state
    stop()


def _seed() -> str:
    """A person, a week of account snapshots, an open alert and a dead job; returns the dead job's id."""
    now = utcnow()
    with session_scope() as s:
        create_user(s, "alice", PASSWORD)
        for day in range(7):
            s.add(MamAccountSnapshot(
                account=ACCOUNT, fetched_at=now - timedelta(days=6 - day), classname="Power User",
                ratio=2.0 + day * 0.06, uploaded_bytes=(2000 + day * 40) * 2**30, downloaded_bytes=900 * 2**30,
                seedbonus=8000.0 + day * 700, wedges=3, unsat_count=10 + day, unsat_limit=100, satisfied=230,
                seeding=250, leeching=1, raw={}))
        raise_alert(s, "points_near_cap", "bonus points are near MAM's cap of 99,999: spend some")
        suggestion = WantedRow(reason=WantedReason.TOP_LIST, title="A Popular Book", authors=["Some Author"],
                               priority=20)
        upsert_wanted(s, [suggestion])
        s.execute(update(Wanted).where(Wanted.key == suggestion.key).values(state="suggested"))
        dead = ledger.create_job(s, "probe", {"pool": "crawl"}, delay=10**6).job.id  # parked: never published
        s.execute(update(Job).where(Job.id == dead).values(
            state="dead", attempts=4, error="TransientError: the drill failed four times", finished_at=now))
    return str(dead)


@pytest.fixture
def gateway(stack: Stack, world: ServedWorld, mam: MamSimState, api_key: str) -> Iterator[dict[str, Any]]:
    stack.env.update(world.env())
    stack.env.update({
        "MAMC_MAM_URL": mam.base,  # type: ignore[attr-defined]
        "MAMC_RATE_LIMITS": json.dumps({**FAST_LIMITS, "mam": "1/0.3/1"}),
        "MAMC_SCHEDULE_ACCOUNT_REFRESH": "0", "MAMC_SCHEDULE_CRAWL_AUTO_SEARCH": "0",
    })
    dead = _seed()
    stack.worker("crawl", concurrency=1)
    stack.worker("metadata", concurrency=1)
    proc, base = stack.api()
    headers = api_headers(api_key)
    assert httpx.put(base + "/api/v1/account/session", headers=headers, json={"mam_id": mam.session}).status_code == 204
    # a key made by a script: it must never be readable from any page
    made = httpx.post(base + "/api/v1/apikeys", headers=headers, json={"name": "script"})
    assert made.status_code == 201
    yield {"base": base, "headers": headers, "dead": dead, "secret_key": made.json()["key"], "api_key": api_key,
           "proc": proc, "stack": stack}


# The elements sticking out past a phone's width (a scrolling region's insides excepted), for the message.
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1 && !e.parentElement.closest('.scroll'))
    .slice(0, 5).map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


def _wanted(base: str, gateway: dict[str, Any], wanted_id: int) -> dict[str, Any]:
    r = httpx.get(f"{base}/api/v1/wanted/{wanted_id}", headers=gateway["headers"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


class Checked:
    """A page with its console watched: errors (CSP violations among them) fail the test at the end."""

    def __init__(self, page: Any, base: str, shots: Path) -> None:
        self.page, self.base, self.shots = page, base, shots
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.axe_source = AXE.read_text()

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def axe(self, name: str) -> None:
        """axe-core in the page (evaluated over the DevTools protocol: the page's CSP forbids injected scripts)."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(self.axe_source + "\n;undefined")
        result = self.page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name}: {json.dumps(serious, indent=1)}"

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def fits_a_phone(self, name: str) -> None:
        self.page.set_viewport_size({"width": 390, "height": 844})
        try:
            overflow = self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            wide = self.page.evaluate(WIDEST)
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone: {wide}"
            self.shot(f"{name}-phone")
        finally:
            self.page.set_viewport_size({"width": 1280, "height": 900})

    def check(self, name: str, secrets: list[str]) -> None:
        self.axe(name)
        html = self.page.content()
        for secret in secrets:
            assert secret not in html, f"{name} shows an API key"
        self.shot(name)
        self.fits_a_phone(name)


@pytest.mark.timeout(900)
def test_a_person_uses_the_ui(browser: Any, gateway: dict[str, Any], screenshots: Path, world: ServedWorld) -> None:
    base = gateway["base"]
    secrets = [gateway["secret_key"], gateway["api_key"]]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ui = Checked(page, base, screenshots)

    # -- no page without logging in -------------------------------------------------------------------
    for path in ("/", "/jobs", "/wanted/1"):
        ui.go(path)
        page.wait_for_url(re.compile(r"/login(\?|$)"))
        assert page.get_by_role("heading", name="Log in to MAMcrawler").is_visible()
        assert page.locator("table").count() == 0
    assert page.url.endswith("/login?next=%2Fwanted%2F1")
    ui.check("login", secrets)

    page.get_by_label("Name").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Unauthorized — wrong name or password"
    ui.go("/login")
    page.get_by_label("Name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")  # the form submits from the keyboard
    page.wait_for_url(base + "/")
    ui.errors.clear()  # the 401s of the failed login and of the redirects are expected console noise

    # -- overview: the account line, charts, alert, pools ------------------------------------------------
    shorthand = page.get_by_test_id("shorthand")
    shorthand.wait_for()
    assert re.fullmatch(r"Up 2\.\d TiB \| Dn 900\.0 GiB \| Ratio 2\.36 \| Power User \| BP/hr \? \| Sat 230 \| "
                        r"Unsat 16/100 \| Leech 1", shorthand.inner_text()), shorthand.inner_text()
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() == 3
    assert "Ratio: 2.36 now" in (charts.nth(0).get_attribute("aria-label") or "")
    assert "points_near_cap" in page.locator(".alerts").inner_text()
    wait_for(lambda: page.locator("tr[data-pool=crawl] .badge").inner_text() == "running", 20, 0.3,
             what="crawl pool shown running")
    page.get_by_role("link", name="Overview").wait_for()
    assert page.get_by_role("link", name="Overview").get_attribute("aria-current") == "page"
    ui.check("overview", secrets)

    # -- wanted: add a book, search it, read the candidates ------------------------------------------------
    work, _ = _unowned(world.world)
    page.get_by_role("link", name="Wanted").click()
    page.get_by_label("Title").fill(work.title)
    page.get_by_label("Author").fill(work.authors[0])
    page.get_by_role("button", name="Add to wishlist").click()
    row = page.locator("tr[data-wanted]", has_text=work.title)
    row.wait_for()
    assert "wishlist" in row.inner_text()
    ui.check("wanted", secrets)
    wanted_id = int(row.get_attribute("data-wanted") or 0)
    row.get_by_label(re.compile("^Priority of")).fill("85")
    row.get_by_label(re.compile("^Priority of")).press("Enter")  # a number field's change
    wait_for(lambda: _wanted(base, gateway, wanted_id)["priority"] == 85, 10, 0.2, what="priority saved")

    # a top-list suggestion, approved
    page.get_by_label("State").select_option("suggested")
    page.wait_for_url(re.compile(r"/wanted\?state=suggested"))
    suggested = page.locator("tr[data-wanted]", has_text="A Popular Book")
    suggested.get_by_role("button", name="Approve").click()
    suggested.get_by_role("button", name="Search now").wait_for()  # a wanted entry now
    assert "wanted" in suggested.inner_text()
    page.get_by_label("State").select_option("")
    row.get_by_role("button", name="Search now").click()
    page.wait_for_url(re.compile(r"/wanted/\d+\?job="))
    page.get_by_test_id("search-state").wait_for()
    page.get_by_test_id("search-summary").wait_for(timeout=120_000)  # resolution, then the MAM search
    assert page.get_by_test_id("search-state").inner_text() == "succeeded"
    summary = page.get_by_test_id("search-summary").inner_text()
    assert summary.startswith("chose #"), summary
    chosen = page.locator("li.candidate.chosen")
    assert chosen.count() == 1
    assert chosen.get_by_role("table").locator("caption").inner_text().startswith("Score 0.")
    assert chosen.get_by_role("rowheader", name="Narrator").count() == 1
    assert "Cost: free" in chosen.inner_text() or "Cost:" in chosen.inner_text()
    rejected = page.locator("li.candidate.rejected")
    assert rejected.count() >= 1
    assert "dramatisation" in rejected.first.locator(".rejections").inner_text()
    assert page.locator("li.candidate").count() == 3
    ui.check("wanted-candidates", secrets)

    # -- jobs: replay a dead job, watch it succeed live ---------------------------------------------------
    page.get_by_role("link", name="Jobs").click()
    dead = page.locator(f"tr[data-job='{gateway['dead']}']")
    dead.wait_for()
    assert dead.get_attribute("data-state") == "dead"
    page.evaluate("() => { window.__sameDocument = true; }")
    dead.get_by_role("button", name=re.compile("^Replay")).click()
    page.wait_for_selector(f"tr[data-job='{gateway['dead']}'][data-state=succeeded]", timeout=60_000)
    assert page.evaluate("() => window.__sameDocument") is True  # no reload: the event stream did it
    wait_state(gateway["dead"], ("succeeded",))

    # -- pause and resume a pool --------------------------------------------------------------------------
    page.get_by_role("button", name="Pause the crawl pool").click()
    wait_for(lambda: page.locator("tr[data-pool=crawl] .badge").inner_text() == "paused", 20, 0.2, what="paused")
    pools = httpx.get(base + "/api/v1/pools", headers=gateway["headers"]).json()
    assert next(p for p in pools if p["pool"] == "crawl")["paused"] is True
    ui.check("jobs", secrets)
    page.get_by_role("button", name="Resume the crawl pool").click()
    wait_for(lambda: page.locator("tr[data-pool=crawl] .badge").inner_text() != "paused", 20, 0.2, what="resumed")
    pools = httpx.get(base + "/api/v1/pools", headers=gateway["headers"]).json()
    assert next(p for p in pools if p["pool"] == "crawl")["paused"] is False

    # the detail of the replayed job: both generations' attempts
    page.locator(f"tr[data-job='{gateway['dead']}'] a").click()
    page.get_by_test_id("job-state").wait_for()
    assert page.get_by_test_id("job-state").inner_text() == "succeeded"
    ui.check("job-detail", secrets)
    page.go_back()

    # -- a gateway restart: the page reconnects by itself and keeps updating ------------------------------
    port = int(base.rsplit(":", 1)[1])
    gateway["proc"].terminate()
    page.locator(".live:not(.on)").wait_for(timeout=30_000)
    gateway["stack"].api(port)
    page.locator(".live.on").wait_for(timeout=30_000)
    r = httpx.post(base + "/api/v1/jobs", headers=gateway["headers"], json={"type": "probe", "args": {"pool": "crawl"}})
    new_job = r.json()["id"]
    page.wait_for_selector(f"tr[data-job='{new_job}'][data-state=succeeded]", timeout=60_000)
    assert page.evaluate("() => window.__sameDocument") is True

    # -- settings: an API key is shown once, at creation, and never again ---------------------------------
    page.get_by_role("link", name="Settings").click()
    page.locator("tr[data-key=script]").wait_for()
    ui.check("settings", secrets)
    page.get_by_label("Name").fill("ui-made")
    page.get_by_role("button", name="Create key").click()
    made = page.get_by_label("The new key").input_value()
    assert made.startswith("mamc_")
    assert httpx.get(base + "/api/v1/jobs", headers={"X-Api-Key": made}).status_code == 200
    page.reload()
    page.locator("tr[data-key=ui-made]").wait_for()
    assert made not in page.content() and page.get_by_label("The new key").count() == 0
    ui.check("settings-after-reload", [*secrets, made])
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Revoke ui-made").click()
    wait_for(lambda: page.locator("tr[data-key=ui-made] td").nth(2).inner_text() != "—", 10, 0.2, what="revoked")
    wait_for(lambda: httpx.get(base + "/api/v1/jobs", headers={"X-Api-Key": made}).status_code == 401, 15, 0.5,
             what="the revoked key refused")

    # -- logging out ends it ------------------------------------------------------------------------------
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    ui.go("/jobs")
    page.wait_for_url(re.compile(r"/login\?next=%2Fjobs"))
    noise = [e for e in ui.errors if "401" not in e and "ERR_CONNECTION_REFUSED" not in e
             and "net::ERR" not in e]
    assert noise == [], noise
    context.close()
