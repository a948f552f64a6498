"""What the Downloads page reads and hears, against real PostgreSQL and Redis.

- ``GET /api/v1/downloads`` carries each download's import (verdict, reason, the figures of a
  rejected recording), so a list needs no request per row, and ``?id=`` reads the rows live events
  named in one request;
- ``GET /api/v1/downloads/{id}/decisions``: why it was grabbed (a wait found by its torrent id, the
  grab by the row), the wedge spent on it; 404 for an unknown download;
- the live ``download`` event: a monitor cycle (run here with a fake qBittorrent, as in
  test_download_monitor.py) publishes one event per download whose state, progress, import state or
  obligation changed, with the values at the end of the cycle, even when the row changed several
  ways in it (completed: seeding, 100 %, import queued, obligation open), and none for a download
  whose only change is its seeding clock;
- the live ``import`` event: an import's steps in one transaction are one event (its verdict), a
  rolled-back one is none, and queueing an import by hand announces the download.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shared.imports import records
from shared.imports.queueing import queue_import
from shared.imports.states import Verdict
from shared.infra.clock import ManualClock
from shared.infra.db import session_scope
from shared.models.download import Download
from shared.models.imports import Import
from tests.fixtures.downloads_world import TITLES, WAIT_REASON, WRONG_REASON, Seeded, seed_downloads
from tests.fixtures.qbit_fake import FakeQbit, view
from tests.integration.stack import api_headers
from tests.integration.test_download_monitor import T0, clock, qbit, run  # noqa: F401 (fixtures)
from tests.integration.test_live_events import _drain, _subscribe


@pytest.fixture
def seeded(settings_env: dict[str, str]) -> Seeded:
    return seed_downloads(T0)


@pytest.fixture
def client(api_key: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from api.app import create_app

    with TestClient(create_app()) as c:
        yield c, api_headers(api_key)


def test_the_list_carries_each_import_and_the_record_says_why(seeded: Seeded,
                                                               client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    r = c.get("/api/v1/downloads", headers=h)
    assert r.status_code == 200, r.text
    by_id = {d["id"]: d for d in r.json()["items"]}
    downloading, owing, wrong = (by_id[seeded.downloads[n]] for n in ("downloading", "owing", "wrong"))
    assert downloading["import"] is None and downloading["obligation"] is None and downloading["progress"] == 0.42
    assert owing["import"]["verdict"] == "imported" and owing["import"]["placement"] == "hardlink"
    assert owing["obligation"]["state"] == "open" and owing["obligation"]["seeded_seconds"] == 8 * 3600
    assert wrong["import"]["id"] == seeded.imports["wrong"] and wrong["import"]["verdict"] == "rejected"
    assert wrong["import"]["reason"] == WRONG_REASON
    figures = wrong["import"]["figures"]
    assert figures["total_seconds"] == 20_160.0 and figures["expected_seconds"] == 25_200.0
    assert figures["narrator"]["listened"]["name"] == "Stephen Fry"
    assert "files" not in wrong["import"], "the list carries the verdict, not every file"
    one = c.get(f"/api/v1/downloads/{seeded.downloads['wrong']}", headers=h).json()
    assert one["import"] == wrong["import"]

    record = c.get(f"/api/v1/downloads/{seeded.downloads['downloading']}/decisions", headers=h)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["download_id"] == seeded.downloads["downloading"] and body["spends"] == []
    assert [(d["kind"], d["reason"]) for d in body["decisions"]][0] == ("wait", WAIT_REASON)
    assert [d["kind"] for d in body["decisions"]] == ["wait", "grab"], "oldest first; the other grabs are not its"
    owing_record = c.get(f"/api/v1/downloads/{seeded.downloads['owing']}/decisions", headers=h).json()
    assert [d["details"]["use_wedge"] for d in owing_record["decisions"]] == [True]
    assert [(s["spendtype"], s["state"]) for s in owing_record["spends"]] == [("personalFL", "done")]
    missing = c.get("/api/v1/downloads/999999/decisions", headers=h)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_named_downloads_are_read_in_one_request(seeded: Seeded, client: tuple[TestClient, dict[str, str]]) -> None:
    """``?id=`` (repeated) reads exactly the named downloads, newest first, with the other filters;
    more than 100 names is a problem+json 422, not a slow query."""
    c, h = client
    wanted = [seeded.downloads["wrong"], seeded.downloads["downloading"], 999_999]
    r = c.get("/api/v1/downloads", headers=h, params={"id": wanted})
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json()["items"]] == sorted(wanted[:2], reverse=True)
    one = c.get("/api/v1/downloads", headers=h, params={"id": wanted, "state": "downloading"}).json()["items"]
    assert [d["id"] for d in one] == [seeded.downloads["downloading"]]
    too_many = c.get("/api/v1/downloads", headers=h, params={"id": list(range(1, 102))})
    assert too_many.status_code == 422 and too_many.headers["content-type"].startswith("application/problem+json")


def _events(seen: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in seen if e["kind"] == kind]


def test_a_monitor_cycle_announces_each_changed_download_once(seeded: Seeded, qbit: FakeQbit,  # noqa: F811
                                                              clock: ManualClock,  # noqa: F811
                                                              settings_env: dict[str, str]) -> None:
    hashes = seeded.hashes
    for name in ("owing", "met", "wrong"):
        qbit.put(view(hashes[name], name=TITLES[name], completion_on=T0 - timedelta(hours=10)))
    qbit.put(view(hashes["downloading"], name=TITLES["downloading"], state="downloading", progress=0.6,
                  downloaded_bytes=60_000_000, ratio=0.0))
    pubsub = _subscribe(settings_env["MAMC_REDIS_URL"])

    run(clock)  # progress only; the seeds' clocks advance, which is no event
    seen = _drain(pubsub, 1.5)
    assert _events(seen, "download") == [{"kind": "download", "id": seeded.downloads["downloading"],
                                          "wanted_id": seeded.wanted["downloading"], "state": "downloading",
                                          "progress": 0.6, "import_state": None}]

    run(clock)  # nothing moved
    assert _events(_drain(pubsub, 1.5), "download") == []

    # it completes: state, progress, import state and a new obligation in one cycle -> one event
    qbit.set(hashes["downloading"], state="uploading", progress=1.0, downloaded_bytes=100_000_000,
             completion_on=clock.now)
    qbit.set(hashes["wrong"], state="pausedUP")  # someone stopped a seed that owes time: paused and at risk
    run(clock)
    seen = _drain(pubsub, 1.5)
    done = [e for e in _events(seen, "download") if e["id"] == seeded.downloads["downloading"]]
    assert done == [{"kind": "download", "id": seeded.downloads["downloading"],
                     "wanted_id": seeded.wanted["downloading"], "state": "seeding", "progress": 1.0,
                     "import_state": "queued", "obligation": "open"}]
    paused = [e for e in _events(seen, "download") if e["id"] == seeded.downloads["wrong"]]
    assert paused == [{"kind": "download", "id": seeded.downloads["wrong"], "wanted_id": seeded.wanted["wrong"],
                       "state": "paused", "progress": 1.0, "import_state": "rejected", "obligation": "at_risk"}]
    assert any(e["kind"] == "job" and e["type"] == "import.abs" and e["state"] == "queued" for e in seen)
    assert len(_events(seen, "download")) == 2


def test_an_import_is_announced_once_per_transaction_and_never_after_a_rollback(
        seeded: Seeded, settings_env: dict[str, str]) -> None:
    pubsub = _subscribe(settings_env["MAMC_REDIS_URL"])
    with session_scope() as s:  # the monitor completed it before imports existed: a person queues it
        row = s.get(Download, seeded.downloads["downloading"])
        assert row is not None
        row.progress, row.completed_at, row.state = 1.0, T0, "seeding"
    with session_scope() as s:
        queue_import(s, seeded.downloads["downloading"])
    seen = _drain(pubsub, 1.5)
    assert [(e["id"], e["import_state"]) for e in _events(seen, "download")] == [
        (seeded.downloads["downloading"], "queued")]

    with session_scope() as s:
        download = s.get(Download, seeded.downloads["downloading"])
        assert download is not None
        row = records.begin(s, download, None)
        records.touch(row, runs=1)
        records.touch(row, step="verified")
        records.finish(s, row, Verdict.ALREADY_OWNED, "the library holds it (ASIN B0TEST)")
        import_id = row.id
    try:
        with session_scope() as s:
            wrong = s.scalar(select(Import).where(Import.id == seeded.imports["wrong"]))
            assert wrong is not None
            records.touch(wrong, error="RuntimeError: rolled back")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    seen = _drain(pubsub, 1.5)
    assert _events(seen, "import") == [{"kind": "import", "id": import_id,
                                        "download_id": seeded.downloads["downloading"],
                                        "wanted_id": seeded.wanted["downloading"], "step": "done",
                                        "verdict": "already_owned", "failing": False}]
