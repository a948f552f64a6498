"""The Library page and a series view in a real browser (Debian's Chromium, Playwright), over 10,000 books.

The stack: the gateway serving ui/dist, a library-sync and a metadata worker that sync a small
simulated world from the ABS simulator and scan it for series gaps against the Audible, Audnexus
and Hardcover simulators (so a series has real gaps with the providers' evidence), then 10,000
more books written through the sync's own upsert (tests/fixtures/library_seed.py).

What a person does: logs in; opens the Library from the navigation and sees the first rows, with
only the rows in view in the DOM; scrolls and more pages load while the DOM stays small; reaches
rows never rendered before with the Tab key alone; searches by text (a title, a narrator's name)
and by the narrator filter, and reads exact counts; clicks an author's name to filter by it; opens
a series with gaps and reads owned and missing positions in order, each owned book's narrator and
where each gap came from; wants an ignored gap again and searches a wanted one. Each page passes
axe-core with no serious or critical violation, logs no console error (a CSP violation would be
one) and fits a 375 px wide phone. Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.infra.db import session_scope
from shared.people.users import create_user
from tests.browser.test_ui import PASSWORD, WIDEST, Checked
from tests.fixtures.library_seed import SeededLibrary, seed_library
from tests.integration.stack import Stack, api_headers
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, run_job, serve_world
from tests.sims.world import generate_world

pytestmark = pytest.mark.slow
BOOKS = 10_000
SEED = 11


class Phone(Checked):
    """The checks of tests/browser/test_ui.py, at the 375 px width the Library page promises."""

    def fits_a_phone(self, name: str) -> None:
        self.page.set_viewport_size({"width": 375, "height": 740})
        try:
            self.page.wait_for_timeout(150)  # a resize re-renders the list's window on the next frame
            overflow = self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone: {self.page.evaluate(WIDEST)}"
            self.shot(f"{name}-phone")
        finally:
            self.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def world() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(6, seed=SEED))
    yield served
    served.stop()


def _gap_series(base: str, headers: dict[str, str]) -> dict[str, Any]:
    """A library series whose last scan found a gap while the library owns some of its books."""
    listed = httpx.get(f"{base}/api/v1/series", headers=headers, params={"limit": 500}).json()["items"]
    for s in listed:
        detail = httpx.get(f"{base}/api/v1/series/{s['id']}", headers=headers).json()
        if detail["members"] and sum(len(g["missing"]) for g in detail["gaps"]) >= 2:
            return dict(detail)
    raise AssertionError("the scanned world has no library series with two gaps")


@pytest.fixture
def gateway(stack: Stack, world: ServedWorld, api_key: str) -> Iterator[dict[str, Any]]:
    stack.env.update(world.env())
    stack.env.update({"MAMC_RATE_LIMITS": json.dumps(FAST_LIMITS), "MAMC_SCHEDULE_ACCOUNT_REFRESH": "0",
                      "MAMC_SCHEDULE_CRAWL_AUTO_SEARCH": "0"})
    stack.worker("library_sync", concurrency=1)
    stack.worker("metadata", concurrency=2)
    synced = run_job("library.sync", timeout=180)
    assert synced.state == "succeeded", synced.error
    scanned = run_job("gaps.detect", {"as_of": world.world.as_of.isoformat()}, timeout=300)
    assert scanned.state == "succeeded", (scanned.error, stack.logs())
    proc, base = stack.api()
    headers = api_headers(api_key)
    series = _gap_series(base, headers)
    truth = seed_library(BOOKS, seed=SEED)  # after the scan: 10,000 books are no gap scan's business
    with session_scope() as s:
        create_user(s, "alice", PASSWORD)
    yield {"base": base, "headers": headers, "series": series, "truth": truth}


def _count(base: str, headers: dict[str, str], **params: str) -> int:
    n, cursor = 0, None
    while True:
        page = httpx.get(f"{base}/api/v1/books", headers=headers,
                         params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})}).json()
        n += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return n


def _summary(page: Any) -> str:
    return str(page.locator(".summary-line").inner_text())


def _rendered(page: Any) -> list[int]:
    """The aria-posinset of every book row in the DOM."""
    return [int(x) for x in page.locator("ol.books > li").evaluate_all("els => els.map(e => e.ariaPosInSet)")]


@pytest.mark.timeout(900)
def test_library_with_10000_books(browser: Any, gateway: dict[str, Any], screenshots: Path) -> None:
    base, headers = gateway["base"], gateway["headers"]
    truth: SeededLibrary = gateway["truth"]
    total = httpx.get(f"{base}/api/v1/library/stats", headers=headers).json()["books"]
    assert total >= BOOKS
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ui = Phone(page, base, screenshots)

    ui.go("/library")
    page.wait_for_url(re.compile(r"/login\?next=%2Flibrary$"))
    page.get_by_label("Name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/library")
    ui.errors.clear()  # the 401 before logging in is expected console noise

    # -- the first rows, and only the rows in view in the DOM --------------------------------------------
    assert page.get_by_role("link", name="Library").get_attribute("aria-current") == "page"
    page.locator("ol.books > li").first.wait_for()
    assert _summary(page) == "More than 100 books; more load as you scroll."
    assert f"{total:,} books" in page.locator(".stats").inner_text()
    first = _rendered(page)
    assert first[0] == 1 and len(first) <= 40, first
    titles = page.locator("ol.books > li .title").all_inner_texts()
    assert titles == sorted(titles, key=lambda t: t.casefold()), titles  # A to Z
    ui.check("library", [])

    # -- scrolling loads more pages; the DOM stays small ----------------------------------------------------
    deep: list[int] = []
    for _ in range(40):
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(250)
        deep = _rendered(page)
        if deep and min(deep) > 1000:
            break
    assert deep and min(deep) > 1000 and len(deep) <= 40, deep
    assert deep == list(range(deep[0], deep[0] + len(deep)))  # consecutive rows, none missing

    # -- the keyboard reaches rows that were never rendered before ----------------------------------------
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("() => document.querySelector('ol.books > li')?.ariaPosInSet === '1'")
    page.locator("ol.books > li").first.get_by_role("link").first.focus()
    last_initial = max(_rendered(page))
    for _ in range(120):
        page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.closest('ol.books > li')?.ariaPosInSet")
    assert focused is not None and int(focused) > last_initial, (focused, last_initial)

    # -- text search: a title, then a narrator's name ------------------------------------------------------
    title = truth.titles[4321]
    box = page.get_by_label("Search titles, authors, series and narrators")
    box.fill(title.lower())
    page.wait_for_url(re.compile(r"/library\?q="))
    page.wait_for_function("() => document.querySelector('.summary-line').innerText.startsWith('1 book')")
    assert page.locator("ol.books > li .title").all_inner_texts() == [title]

    narrator_key, _ = truth.by_narrator.most_common(1)[0]
    narrator = truth.names[narrator_key]
    surname = narrator.split()[-1]
    expected = _count(base, headers, q=surname)
    box.fill(surname)
    page.wait_for_function("s => document.querySelector('.summary-line').innerText.includes(s)", arg=f"“{surname}”")
    said = f"{expected:,} books" if expected <= 100 else "More than 100 books"
    assert _summary(page).startswith(said), (_summary(page), expected)
    ui.check("library-search", [])

    # -- the narrator filter, from its suggestions ---------------------------------------------------------
    page.get_by_role("button", name="Clear", exact=True).click()
    page.wait_for_url(base + "/library")
    field = page.get_by_label("Narrator", exact=True)
    field.fill(narrator.lower())
    field.press("Enter")
    page.wait_for_url(re.compile(r"narrator="))
    count = truth.by_narrator[narrator_key]
    page.wait_for_function("n => document.querySelector('.summary-line').innerText.startsWith(n)",
                           arg=f"{count} books")
    assert _count(base, headers, narrator=narrator) == count
    rows = page.locator("ol.books > li")
    assert all(narrator in t for t in rows.all_inner_texts())
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("n => [...document.querySelectorAll('ol.books > li')].at(-1)?.ariaPosInSet === n",
                           arg=str(count))
    assert rows.last.get_attribute("aria-setsize") == str(count)  # the whole list is known: its size is said
    page.evaluate("window.scrollTo(0, 0)")
    # the name boxes suggest names from /authors?q= as one types
    other = page.get_by_label("Author", exact=True)
    other.press_sequentially(truth.names[truth.by_author.most_common(1)[0][0]][:6], delay=30)
    page.wait_for_function("() => document.querySelectorAll('#library-author-options option').length > 0")
    other.fill("")

    # -- a name in a row filters by it --------------------------------------------------------------------
    link = rows.first.locator(".line").first.get_by_role("link").first
    author = link.inner_text()
    link.click()
    page.wait_for_url(re.compile(r"/library\?author="))
    assert page.get_by_label("Author", exact=True).input_value() == author
    assert page.get_by_label("Narrator", exact=True).input_value() == ""
    page.wait_for_function("a => document.querySelector('.summary-line').innerText.includes(a)", arg=author)
    lines = page.locator("ol.books > li").evaluate_all("els => els.map(e => e.querySelector('.line').innerText)")
    assert lines and all(author in line for line in lines)

    # -- a series with gaps ----------------------------------------------------------------------------------
    series = gateway["series"]
    ui.go(f"/library/series/{series['id']}")
    page.get_by_role("heading", level=1, name=series["name"]).wait_for()
    timeline = page.locator("ol.timeline > li")
    kinds = timeline.evaluate_all("els => els.map(e => e.dataset.kind)")
    missing = [m for g in series["gaps"] for m in g["missing"]]
    assert kinds.count("owned") == len(series["members"]) and kinds.count("missing") == len(missing)
    order = sorted([(m["sort_key"], 0, m["position"]) for m in series["members"]]
                   + [(m["sort_key"], 2, m["position"]) for m in missing],
                   key=lambda x: (float("inf") if x[0] is None else x[0], x[1]))
    shown = timeline.evaluate_all("els => els.filter(e => e.dataset.kind !== 'covered').map(e => e.dataset.position)")
    assert shown == [x[2] for x in order]
    owned_row = page.locator("ol.timeline > li[data-kind=owned]").first
    narrators = list(dict.fromkeys(n for r in series["members"][0]["book"]["recordings"] for n in r["narrators"]))
    assert narrators and f"Read by {', '.join(narrators)}" in owned_row.inner_text()
    gap = missing[0]
    gap_row = page.locator(f"ol.timeline > li[data-kind=missing]:has(a[href='/wanted/{gap['wanted_id']}'])")
    provider, position = next(iter(sorted(gap["sources"].items())))
    label = {"audible": "Audible", "hardcover": "Hardcover"}.get(provider, provider)
    assert f"{label} lists it at #{position}" in gap_row.inner_text()
    ui.check("library-series", [])

    # an ignored gap is wanted again from here
    ignored = missing[1]
    r = httpx.patch(f"{base}/api/v1/wanted/{ignored['wanted_id']}", headers=headers, json={"ignore": True})
    assert r.status_code == 200 and r.json()["state"] == "ignored"
    page.reload()
    ignored_row = page.locator(f"ol.timeline > li[data-kind=missing]:has(a[href='/wanted/{ignored['wanted_id']}'])")
    ignored_row.get_by_role("button", name=re.compile("^Add to wanted")).click()
    ignored_row.get_by_role("button", name=re.compile("^Search now")).wait_for()
    assert "wanted again" in page.locator(".notice").inner_text()
    assert httpx.get(f"{base}/api/v1/wanted/{ignored['wanted_id']}", headers=headers).json()["state"] == "wanted"
    # and a wanted one is searched: the entry's page follows the search job
    ignored_row.get_by_role("button", name=re.compile("^Search now")).click()
    page.wait_for_url(re.compile(rf"/wanted/{ignored['wanted_id']}\?job="))

    assert ui.errors == [], ui.errors
    context.close()
