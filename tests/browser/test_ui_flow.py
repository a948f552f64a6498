"""The flow in a real browser against the demo world (tests/demo/world.py): what ``make demo`` shows.

The stack is ``make demo``'s: real worker processes and beat over the flow world (ABS with a library
and its series gaps, the metadata simulators, MAM, a real qbittorrent-nox swarm), prepared by the
demo's own :func:`~tests.demo.kickoff.seed_demo` (the demo person; auto-grab *off* here, so the grab
is the person's click) and its library sync then gap detection.

A person logs in with the demo login; the overview shows the account line; the Wanted page lists the
gaps; they search one now, read the candidates with the chosen one and its reasons, click "Grab",
and watch, on the entry's page and without reloading it, the download complete and seed and the
import land in Audiobookshelf. Every page passes axe-core (no serious or critical violation) and
fits a phone; screenshots go to tests/artifacts/screenshots/ (``flow-*.png``).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_ui import Checked
from tests.demo.kickoff import DEMO_USER, queue_gaps_after, seed_demo
from tests.demo.world import FlowWorld
from tests.fixtures.swarm_procs import QbitDaemon
from tests.integration.stack import Stack, api_headers, wait_state

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(stack: Stack, flow_world: FlowWorld, qbit_ours: QbitDaemon, api_key: str) -> Iterator[dict[str, Any]]:
    category = f"mamc-ui-{uuid.uuid4().hex[:8]}"  # the session's qbittorrent-nox is shared with other tests
    stack.env.update(flow_world.env())
    stack.env.update({
        "MAMC_QBIT_CATEGORY": category, "MAMC_QBIT_SAVE_PATH": str(qbit_ours.downloads / category),
        "MAMC_SCHEDULE_DOWNLOAD_MONITOR": "1",
        **{f"MAMC_SCHEDULE_{name}": "0" for name in ("LIBRARY_SYNC", "METADATA_REFRESH", "ACCOUNT_REFRESH",
                                                     "ACCOUNT_SPEND", "CRAWL_AUTO_SEARCH")},
    })
    password = secrets.token_urlsafe(12)
    sync = seed_demo(password, auto_grab=False)
    stack.beat()
    stack.worker("library_sync", concurrency=2)
    stack.worker("metadata", concurrency=2)
    stack.worker("crawl", concurrency=1)
    stack.worker("download", concurrency=1)
    _, base = stack.api()
    gaps = queue_gaps_after(sync, flow_world.world.as_of, timeout=180)
    assert gaps is not None, stack.logs()
    assert wait_state(gaps, ("succeeded", "failed", "dead"), 300).state == "succeeded", stack.logs()
    yield {"base": base, "password": password, "headers": api_headers(api_key), "api_key": api_key}


@pytest.mark.timeout(900)
def test_a_person_watches_a_gap_become_a_book(browser: Any, demo: dict[str, Any], flow_world: FlowWorld,
                                              screenshots: Path) -> None:
    base, secrets_shown = demo["base"], [demo["api_key"], flow_world.mam.session]
    torrent, work = flow_world.main_offer()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    ui = Checked(page, base, screenshots)

    # -- the demo login -----------------------------------------------------------------------------
    ui.go("/login")
    page.get_by_label("Name").fill(DEMO_USER)
    page.get_by_label("Password").fill(demo["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")
    ui.errors.clear()  # the 401 of the first, logged-out read is expected console noise

    # -- overview: the account line of the simulated member -----------------------------------------
    shorthand = page.get_by_test_id("shorthand")
    shorthand.wait_for(timeout=60_000)
    assert re.fullmatch(r"Up .+ \| Dn .+ \| Ratio 2\.\d\d \| Power User \| BP/hr .+ \| Sat 230 \| Unsat 12/100 \| "
                        r"Leech 1", shorthand.inner_text()), shorthand.inner_text()
    ui.check("flow-overview", secrets_shown)

    # -- wanted: the gap detection found the book; search it now ------------------------------------
    page.get_by_role("link", name="Wanted").click()
    row = page.locator("tr[data-wanted]", has_text=work.title)
    row.wait_for()
    assert "series gap" in row.inner_text() or "series_gap" in row.inner_text(), row.inner_text()
    ui.check("flow-wanted", secrets_shown)
    wanted_id = int(row.get_attribute("data-wanted") or 0)
    row.get_by_role("button", name="Search now").click()
    page.wait_for_url(re.compile(rf"/wanted/{wanted_id}\?job="))
    page.get_by_test_id("search-summary").wait_for(timeout=120_000)
    assert page.get_by_test_id("search-state").inner_text() == "succeeded"
    chosen = page.locator("li.candidate.chosen")
    assert chosen.count() == 1 and chosen.get_attribute("data-torrent") == str(torrent.id)
    assert chosen.get_by_role("table").locator("caption").inner_text().startswith("Score 0.")
    assert chosen.get_by_role("rowheader", name="Narrator").count() == 1
    assert "Cost:" in chosen.inner_text()
    assert page.get_by_test_id("wanted-state").inner_text() == "wanted"
    edition = work.edition("us", "main")
    assert edition is not None
    facts = page.locator("dl.facts").inner_text()  # what gap detection learnt from Audible's listing
    assert ", ".join(edition.narrators) in facts and f"{edition.duration_seconds // 60} min" in facts, facts
    ui.check("flow-candidates", secrets_shown)

    # -- grab, then watch the download and the import end, without reloading the page ----------------
    page.evaluate("() => { window.__sameDocument = true; }")
    chosen.get_by_role("button", name=re.compile("^Grab ")).click()
    page.get_by_test_id("grab-state").wait_for()
    page.locator("li.download").wait_for(timeout=60_000)
    page.locator("li.download[data-state=seeding]").wait_for(timeout=120_000)
    page.locator("li.import[data-verdict=imported]").wait_for(timeout=180_000)
    page.wait_for_function("() => document.querySelector('[data-testid=wanted-state]').textContent === 'imported'",
                           timeout=30_000)
    assert page.evaluate("() => window.__sameDocument") is True, "the page was reloaded"
    imported = page.locator("li.import[data-verdict=imported]").inner_text()
    assert "In Audiobookshelf:" in imported and "(hardlink)" in imported, imported
    assert "100 %" in page.locator("li.download").inner_text()
    ui.check("flow-imported", secrets_shown)

    # what the page said is what the system holds
    entry = httpx.get(f"{base}/api/v1/wanted/{wanted_id}", headers=demo["headers"]).json()
    assert entry["state"] == "imported" and entry["imports"][0]["verdict"] == "imported"
    item = flow_world.served.abs_state.items[entry["imports"][0]["abs_item_id"]]
    assert item.title == work.title
    noise = [e for e in ui.errors if "401" not in e]
    assert noise == [], noise
    context.close()
