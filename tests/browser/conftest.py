"""Browser tests: Debian's Chromium driven by Playwright for Python (``executable_path``).

Playwright's own browser download is never used (it cannot work offline, and Debian's build is the
one CI installs: .ci/run). The UI must be built (``make ui``; ``make test`` builds it first): a
test that finds no ui/dist fails and says so, rather than passing without a page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI_DIST = ROOT / "ui" / "dist"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str:
    found = os.environ.get("MAMC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run installs it)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped on purpose: Playwright's sync API runs an event loop in this thread for as long
    as it is open, and every later ``asyncio.run`` in the session (the other tests' simulators and
    clients) fails while it does. Closed after the browser tests, the loop is gone."""
    from playwright.sync_api import sync_playwright

    if not (UI_DIST / "index.html").is_file() or not AXE.is_file():
        pytest.fail("the web UI is not built: run `make ui` (needs Node.js 20 and npm)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# The real-stack fixtures of the integration tests (private PostgreSQL and Redis, a migrated
# database, settings pointed at both, real processes).
from tests.integration.conftest import api_key, settings_env, stack  # noqa: E402,F401
