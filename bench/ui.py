"""Web UI benchmark: the Library page over 10,000 books, measured in the browser (issue 12).

Targets: the library page with 10,000 books interactive within 1 s; the first page's JavaScript
under 250 kB gzipped. Debian's Chromium (headless, driven by Playwright through ``executable_path``)
opens ``/library`` on the real gateway serving ui/dist, over a database holding 10,000 books
written through the sync's upsert (tests/fixtures/library_seed.py; 2,000 with ``--quick``).

Figures, each over several runs (median and worst):

- ``first_rows_ms``: navigation start to the first book rows in the DOM, each run in a new browser
  context (an empty HTTP cache: the JavaScript is fetched and compiled every time), logged in;
  measured in the page (``performance.now()`` in a MutationObserver added before any page script).
  ``interactive_ms`` adds the wait for the next animation frame after those rows: the main thread
  is free again and the page answers input. ``first_rows_steps_median_ms`` says where the time
  went: when the HTML, the script, the session check and the first page of books had arrived.
- ``search_ms``: a search submitted in the search box to its results in the DOM (the API call, the
  new first page and its render), for six queries of three kinds (a narrator's surname, a word of a
  title, a series' name), each different from the one before.
- ``dom_rows``: book rows in the DOM after the first render and after scrolling 5,000 rows down (the
  list is virtualised: it must not grow with the library).
- ``first_page_js``: the JavaScript the browser loaded for ``/library`` (raw bytes, and gzipped at
  level 9 as a server would send it), next to ui/scripts/budget.mjs's figure for ``index.html``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.infra.db import session_scope
from shared.people.users import create_user
from tests.fixtures.library_seed import seed_library
from tests.integration.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "ui" / "dist"
PASSWORD = "bench horse battery"
RUNS = 7

#: Installed before any page script: the time the first book row enters the DOM, and one frame later.
WATCH_FIRST_ROWS = """
(() => {
  const seen = () => document.querySelector('ol.books > li');
  const obs = new MutationObserver(() => {
    if (window.__firstRows === undefined && seen()) {
      window.__firstRows = performance.now();
      obs.disconnect();
      requestAnimationFrame(() => setTimeout(() => { window.__interactive = performance.now(); }, 0));
    }
  });
  obs.observe(document, { childList: true, subtree: true });
})();
"""

#: Where the time to the first rows goes: when the script, the session check and the first page of
#: books was asked for and had arrived (ms after navigation start).
STEPS = """() => {
  const entry = (part) => performance.getEntriesByType('resource').find((e) => e.name.includes(part));
  const end = (part) => entry(part)?.responseEnd ?? -1;
  const nav = performance.getEntriesByType('navigation')[0];
  return { html: nav.responseEnd, script: end('/assets/'), session: end('/api/v1/auth/me'),
           books_asked: entry('/api/v1/books')?.startTime ?? -1,
           books_first_byte: entry('/api/v1/books')?.responseStart ?? -1, books: end('/api/v1/books') };
}"""

SEARCH = """async (q) => {
  const box = document.getElementById('library-q');
  const summary = document.querySelector('.summary-line');
  const t0 = performance.now();
  box.value = q;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  box.form.requestSubmit();
  await new Promise((resolve, reject) => {
    const done = () => summary.textContent.includes('\u201c' + q + '\u201d');
    if (done()) return resolve();
    const obs = new MutationObserver(() => { if (done()) { obs.disconnect(); resolve(); } });
    obs.observe(summary, { childList: true, subtree: true, characterData: true });
    setTimeout(() => reject(new Error('no results for ' + q + ' in 30 s: ' + summary.textContent)), 30000);
  });
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  return { ms: performance.now() - t0, rows: document.querySelectorAll('ol.books > li').length };
}"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("Debian's chromium is not installed: apt-get install chromium")
    return found


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1),
            "min": round(min(values), 1)}


def _collector(into: list[Any]) -> Callable[[Any], None]:
    """A response handler (a Python function: Playwright tags its handlers, a bound builtin refuses)."""
    def keep(response: Any) -> None:
        into.append(response)
    return keep


def _budget_js() -> int:
    """What ui/scripts/budget.mjs counts: every script and modulepreload index.html names, gzipped."""
    import re

    html = (DIST / "index.html").read_text()
    files = set(re.findall(r'<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="/?([^"]+\.js)"', html))
    return sum(len(gzip.compress((DIST / f).read_bytes(), compresslevel=9)) for f in files)


def measure(base: str, queries: list[str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            login = browser.new_context(viewport={"width": 1280, "height": 900})
            page = login.new_page()
            page.goto(base + "/login")
            page.get_by_label("Name").fill("bench")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(base + "/")
            state = login.storage_state()
            login.close()

            first: list[float] = []
            steps: list[dict[str, float]] = []
            interactive: list[float] = []
            scripts: dict[str, bytes] = {}
            for _ in range(RUNS):
                context = browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=state)
                context.add_init_script(WATCH_FIRST_ROWS)
                page = context.new_page()
                responses: list[Any] = []
                page.on("response", _collector(responses))
                page.goto(base + "/library")
                page.wait_for_function("() => window.__interactive !== undefined", timeout=30_000)
                first.append(page.evaluate("window.__firstRows"))
                steps.append(page.evaluate(STEPS))
                interactive.append(page.evaluate("window.__interactive"))
                scripts = {r.url: r.body() for r in responses if r.request.resource_type == "script"}
                dom_first = page.locator("ol.books > li").count()
                if len(first) < RUNS:
                    context.close()
            # the last context stays open: searches and a deep scroll in the page just measured
            searches = [page.evaluate(SEARCH, q) for q in queries]  # each a new query: none answered from the last
            page.goto(base + "/library")  # back to the whole library
            page.wait_for_function("() => document.querySelector('.summary-line')?.textContent.startsWith('More')")
            for _ in range(60):
                page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
                page.wait_for_timeout(100)
                if page.evaluate("Math.min(...[...document.querySelectorAll('ol.books > li')]"
                                 ".map(e => +e.ariaPosInSet))") > 5000:
                    break
            dom_deep = page.locator("ol.books > li").count()
            deepest = page.evaluate("Math.max(...[...document.querySelectorAll('ol.books > li')]"
                                    ".map(e => +e.ariaPosInSet))")
            context.close()
        finally:
            browser.close()
    raw = sum(len(b) for b in scripts.values())
    gz = sum(len(gzip.compress(b, compresslevel=9)) for b in scripts.values())
    return {
        "first_rows_ms": {**_spread(first), "runs": RUNS, "target_ms": 1000},
        "interactive_ms": {**_spread(interactive), "runs": RUNS, "target_ms": 1000},
        "first_rows_steps_median_ms": {k: round(statistics.median(x[k] for x in steps), 1) for k in steps[0]},
        "search_ms": {**_spread([s["ms"] for s in searches]), "searches": len(searches),
                      "queries": ", ".join(queries)},
        "dom_rows": {"after_first_render": dom_first, "after_scrolling": dom_deep, "deepest_row": deepest},
        "first_page_js": {"files": len(scripts), "raw_kb": round(raw / 1024, 1), "gzip_kb": round(gz / 1024, 1),
                          "budget_script_gzip_kb": round(_budget_js() / 1024, 1), "target_gzip_kb": 250},
    }


def run(stack: Stack, env: dict[str, str], quick: bool) -> dict[str, Any]:
    from bench.library import fresh_database

    if not (DIST / "index.html").is_file():
        raise RuntimeError("the web UI is not built: run `make ui` first")
    stack.stop()  # workers of earlier areas point at their own database: start from nothing
    stack.procs.clear()
    fresh_database(stack, env)
    n = 2_000 if quick else 10_000
    truth = seed_library(n)
    with session_scope() as s:
        create_user(s, "bench", PASSWORD)
    _, base = stack.api()
    narrators = [truth.names[k] for k, _ in truth.by_narrator.most_common(2)]
    series = [truth.names[k] for k, _ in truth.by_series.most_common(2)]
    queries = list(dict.fromkeys([*(name.split()[-1].lower() for name in narrators),
                                  *(truth.titles[i].split()[2].lower() for i in (n // 3, n // 2)),
                                  *(name.lower() for name in series)]))
    figures = measure(base, queries)
    # The load while it ran, measured (the figures swing with it on a shared two-core machine).
    return {"library_page": {"books": n, "cpus": os.cpu_count(),
                             "load_average_1m": round(os.getloadavg()[0], 2)},
            **figures}
