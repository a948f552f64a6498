"""The import against a real Audiobookshelf server (opt-in: it needs one running on this host).

How it was run (docs/imports.md, "Checked against the real server"): ABS's public source
(advplyr/audiobookshelf 2.36.0) fetched, ``npm ci --omit=dev``, started with ``node index.js``
(``PORT``, ``CONFIG_PATH``, ``METADATA_PATH``, ``FFPROBE_PATH=/usr/bin/ffprobe``,
``SKIP_BINARIES_CHECK=1``), initialised with a root user, a book library on a local folder with its
watcher off, and an API key; then::

    MAMC_TEST_REAL_ABS_URL=http://127.0.0.1:13399 MAMC_TEST_REAL_ABS_TOKEN=<api key> \\
    MAMC_TEST_REAL_ABS_LIBRARY_DIR=/tmp/absrun/library \\
    .venv/bin/python -m pytest -q tests/integration/test_imports_real_abs.py

Each run imports into a fresh sub-folder of the library, so runs never collide. Without the
variables the test is skipped: CI has no Audiobookshelf (and ABS's source is never committed).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from shared.infra.db import session_scope
from shared.infra.settings import get_settings
from shared.models.imports import Import
from tests.fixtures.audio import make_m4b
from tests.fixtures.imports import Book, add_candidates, add_download, add_wanted, wanted_state
from tests.integration.conftest import reset_singletons
from workers.imports.flow import Env, run_import
from workers.library.abs_client import AbsClient
from workers.upstream import UpstreamOptions

URL = os.environ.get("MAMC_TEST_REAL_ABS_URL")
TOKEN = os.environ.get("MAMC_TEST_REAL_ABS_TOKEN", "")
LIBRARY = os.environ.get("MAMC_TEST_REAL_ABS_LIBRARY_DIR", "")

pytestmark = pytest.mark.skipif(not (URL and TOKEN and LIBRARY), reason=(
    "no real Audiobookshelf: set MAMC_TEST_REAL_ABS_URL, MAMC_TEST_REAL_ABS_TOKEN and MAMC_TEST_REAL_ABS_LIBRARY_DIR"))


def _client() -> AbsClient:
    assert URL
    return AbsClient(UpstreamOptions(URL), TOKEN)


def _import(book: Book, seconds: float, downloads: Path, torrent_id: int) -> tuple[int, int, Import, float]:
    wanted_id = add_wanted(book)
    add_candidates(wanted_id, torrent_id, narrators=book.narrators)
    root = downloads / f"{book.title} {torrent_id}"
    make_m4b(root / f"{book.title}.m4b", seconds, title=book.title, artist=", ".join(book.authors),
             composer=book.narrators[0])
    download_id = add_download(root, wanted_id=wanted_id, torrent_id=torrent_id)
    started = time.monotonic()
    run_import(download_id, Env(settings=get_settings(), client=_client))
    took = time.monotonic() - started
    with session_scope() as s:
        row = s.scalar(select(Import).where(Import.download_id == download_id))
        assert row is not None
        s.expunge(row)
    return wanted_id, download_id, row, took


def test_the_import_against_a_real_audiobookshelf(settings_env: dict[str, str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    run = Path(LIBRARY) / f"mamc-run-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MAMC_ABS_URL", URL or "")
    monkeypatch.setenv("MAMC_ABS_LIBRARY_DIR", str(run))
    monkeypatch.setenv("MAMC_IMPORT_SCAN_POLL", "0.5")
    monkeypatch.setenv("MAMC_IMPORT_SCAN_TIMEOUT", "120")
    reset_singletons()
    downloads = tmp_path / "downloads"
    book = Book(authors=("Martin Smith, Jr.",), asin="B0015T963C")
    wanted_id, download_id, row, took = _import(book, 60, downloads, 8801)
    assert row.verdict == "imported", (row.reason, row.error, row.figures)
    # what ABS's own scan made of the folder, before the PATCH: metadata.json kept the comma name whole
    assert row.figures["abs"]["authors"] == ["Martin Smith, Jr."], row.figures["abs"]
    assert row.figures["abs"]["asin"] == "B0015T963C"
    with _client() as client:
        item = client.get_item(row.abs_item_id or "")
        listed = [e for e in client.newest_items(row.abs_library_id or "", limit=100) if e.path == row.abs_path]
    assert item.path == row.abs_path and [a.name for a in item.authors] == ["Martin Smith, Jr."]
    assert item.narrators == ("Nigel Planer",) and [(s.name, s.sequence) for s in item.series] == [("Discworld", "1")]
    assert abs((item.duration_seconds or 0) - 60) < 1 and item.asin == "B0015T963C"
    assert len(listed) == 1
    assert wanted_state(wanted_id) == "imported"
    again = run_import(download_id, Env(settings=get_settings(), client=_client))
    assert again["verdict"] == "imported" and again["abs_item_id"] == row.abs_item_id
    _, _, short, _ = _import(Book(title="Equal Rites", position="3", asin="B0015T9E4E"), 48, downloads, 8802)
    assert short.verdict == "rejected" and "-20.0%" in (short.reason or "")
    print(json.dumps({"took_s": round(took, 2), "scans": row.scans, "abs": row.figures["abs"],
                      "folder": row.target_dir}, indent=1))
