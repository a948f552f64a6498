"""Search → grab → download with real parts: opentracker, a seeding qbittorrent-nox, the project's
qbittorrent-nox, the MAM simulator serving real ``.torrent`` files, real crawl and download workers.

- The grab goes through the governor (its decision recorded), fetches the ``.torrent`` once through
  the MAM client, adds it to qBittorrent with our category, tags and save path, and the download
  completes and seeds; the wanted entry is ``grabbed``; the torrent joins the local snatch memory.
- A second grab request of the same torrent fetches nothing and adds nothing (counted at the source:
  the simulator's download.php log and qBittorrent's torrent list).
- A dry run records the decision and touches neither MAM's download.php nor qBittorrent.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shared.download.states import SEEDING_STATES
from shared.infra.db import session_scope
from shared.models.crawl import MamSnatched
from shared.models.download import GovernorDecision
from shared.models.metadata import Wanted
from tests.fixtures.swarm import Swarm, api_client
from tests.fixtures.swarm_procs import QbitDaemon
from tests.integration.stack import Stack, api_headers, wait_state
from tests.integration.test_crawl_search import BOOK, HOURS, want
from tests.sims.mam import MamSimState, build_catalogue, serve_mam, torrent_file, write_content
from workers.download.qbit import QbitClient

pytestmark = pytest.mark.slow
MB = 1024 * 1024


@pytest.fixture
def world(swarm: Swarm, qbit_ours: QbitDaemon, tmp_path: Path) -> Iterator[dict[str, Any]]:
    state = MamSimState(catalogue=build_catalogue([{**BOOK}, {**BOOK, "filetype": "mp3", "numfiles": 3}]))
    state.announce_override = swarm.announce_for(state.passkey)
    state.payload_bytes = 3 * MB
    book = state.catalogue[0]
    made = torrent_file(book, state.announce_url, payload=state.payload_bytes)
    content = tmp_path / "seed-content"
    write_content(book, content, payload=state.payload_bytes)
    assert swarm.seed_torrent(made.data, content) == made.info_hash
    base, stop = serve_mam(state)
    yield {"state": state, "base": base, "info_hash": made.info_hash, "category": f"mamc-{uuid.uuid4().hex[:8]}"}
    stop()


@pytest.fixture
def gateway(stack: Stack, world: dict[str, Any], qbit_ours: QbitDaemon,
            api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    save_path = qbit_ours.downloads / world["category"]
    stack.env.update({
        "MAMC_MAM_URL": world["base"],
        "MAMC_RATE_LIMITS": json.dumps({"mam": "1/0.3/1", "probe": "1000/1/100"}),
        "MAMC_SCHEDULE_ACCOUNT_REFRESH": "0", "MAMC_SCHEDULE_CRAWL_AUTO_SEARCH": "0",
        "MAMC_SCHEDULE_ACCOUNT_SPEND": "0",
        "MAMC_QBIT_URL": qbit_ours.url, "MAMC_QBIT_USER": qbit_ours.username,
        "MAMC_QBIT_PASSWORD": qbit_ours.password, "MAMC_QBIT_CATEGORY": world["category"],
        "MAMC_QBIT_SAVE_PATH": str(save_path),
    })
    stack.worker("crawl", concurrency=2)
    stack.worker("download", concurrency=2)
    _, base = stack.api()
    h = api_headers(api_key)
    assert httpx.put(base + "/api/v1/account/session", headers=h,
                     json={"mam_id": world["state"].session}).status_code == 204
    yield base, h


def _search(base: str, h: dict[str, Any], wanted_id: int) -> int:
    r = httpx.post(f"{base}/api/v1/wanted/{wanted_id}/search", headers=h)
    assert r.status_code == 202, r.text
    assert wait_state(r.json()["id"], ("succeeded", "failed", "dead"), 90).state == "succeeded"
    shown = httpx.get(f"{base}/api/v1/wanted/{wanted_id}/candidates", headers=h).json()
    chosen: int = shown["search"]["chosen_torrent_id"]
    return chosen


def _grab(base: str, h: dict[str, Any], wanted_id: int, torrent_id: int, **extra: Any) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/v1/downloads", headers=h,
                   json={"wanted_id": wanted_id, "torrent_id": torrent_id, **extra})
    assert r.status_code == 202, r.text
    started: dict[str, Any] = r.json()
    done = wait_state(started["id"], ("succeeded", "failed", "dead"), 120)
    assert done.state == "succeeded", done.error
    result: dict[str, Any] = done.result
    return result


def test_search_grab_download_with_real_parts(gateway: tuple[str, dict[str, Any]], world: dict[str, Any],
                                              qbit_ours: QbitDaemon) -> None:
    base, h = gateway
    state: MamSimState = world["state"]
    wanted_id = want("The Glass Orchard", ["Mira Calloway"], series=("Orchard Cycle", "2"), runtime=11 * HOURS,
                     narrators=["Jonah Pike"])
    torrent_id = _search(base, h, wanted_id)
    assert torrent_id == state.catalogue[0].id

    dry = _grab(base, h, wanted_id, torrent_id, dry_run=True)
    assert dry["dry_run"] is True and dry["would"] == "grab"
    assert not state.requests_to("download"), "a dry run fetches nothing"

    result = _grab(base, h, wanted_id, torrent_id)
    assert result["added"] is True and result["info_hash"] == world["info_hash"]
    assert len(state.requests_to("download")) == 1

    client = QbitClient(qbit_ours.url, qbit_ours.username, qbit_ours.password, category=world["category"])
    deadline = time.monotonic() + 60
    view = None
    while time.monotonic() < deadline:
        view = client.snapshot().torrents.get(world["info_hash"])
        if view is not None and view.progress == 1 and view.state in SEEDING_STATES:
            break
        time.sleep(0.2)
    assert view is not None and view.progress == 1 and view.state in SEEDING_STATES, view
    assert view.category == world["category"]
    assert set(view.tags) == {"mamcrawler", "Orchard Cycle", "Mira Calloway"}
    assert Path(view.save_path) == qbit_ours.downloads / world["category"]
    assert view.ratio_limit == -1 and view.seeding_time_limit == -1

    listed = httpx.get(f"{base}/api/v1/downloads", headers=h, params={"wanted_id": wanted_id}).json()["items"]
    assert len(listed) == 1 and listed[0]["torrent_id"] == torrent_id and listed[0]["info_hash"] == world["info_hash"]
    assert listed[0]["category"] == world["category"] and listed[0]["state"] == "downloading"
    with session_scope() as s:
        wanted = s.get(Wanted, wanted_id)
        assert wanted is not None and wanted.state == "grabbed"
        assert s.scalar(select(MamSnatched.source).where(MamSnatched.torrent_id == torrent_id)) == "grab"
        kinds = [d.kind for d in s.scalars(select(GovernorDecision).where(GovernorDecision.torrent_id == torrent_id)
                                           .order_by(GovernorDecision.id))]
    assert kinds == ["grab", "grab"]  # the dry run's and the real one's, each with its reason

    again = _grab(base, h, wanted_id, torrent_id)
    assert again.get("already") == "downloading"
    assert len(state.requests_to("download")) == 1, "a second grab must not fetch again"
    assert len([t for t in client.snapshot().torrents.values() if t.info_hash == world["info_hash"]]) == 1

    # the monitor takes over: completion opens the obligation and its clock runs
    _monitor()
    time.sleep(2.5)
    first = _monitor_download(base, h, wanted_id)
    assert first["state"] == "seeding" and first["obligation"]["state"] == "open", first
    assert first["obligation"]["required_seconds"] == 72 * 3600
    with session_scope() as s:
        wanted = s.get(Wanted, wanted_id)
        assert wanted is not None and wanted.state == "downloaded"
    # qBittorrent restarts mid-seed: the time seeded so far is kept, and the clock goes on
    seeded = first["obligation"]["seeded_seconds"]
    qbit_ours.restart()
    _monitor()
    time.sleep(2.5)
    after_restart = _monitor_download(base, h, wanted_id)
    assert after_restart["obligation"]["seeded_seconds"] >= seeded
    # removed behind our back (files kept): re-added from the stored .torrent and flagged
    api_client(qbit_ours).torrents_delete(delete_files=False, torrent_hashes=world["info_hash"])
    _monitor()
    assert wait_for_hash(client, world["info_hash"]), "the monitor must re-add a torrent removed behind our back"
    alerts = httpx.get(f"{base}/api/v1/alerts", headers=h, params={"state": "all"}).json()["items"]
    assert any(a["kind"] == "torrent_readded" for a in alerts), alerts
    assert len(state.requests_to("download")) == 1, "re-added from the stored file, not fetched again"

    # removal: refused while seeding is owed, allowed (files kept) once the obligation is met
    download_id = first["id"]
    refused = httpx.post(f"{base}/api/v1/downloads/{download_id}/remove", headers=h, json={"reason": "tidy up"})
    assert refused.status_code == 409 and "still owes" in refused.json()["detail"], refused.text
    assert world["info_hash"] in client.snapshot().torrents
    with session_scope() as s:
        s.execute(text("UPDATE seeding_obligations SET state = 'met', seeded_seconds = required_seconds, "
                       "met_at = now() WHERE download_id = :d"), {"d": download_id})
    allowed = httpx.post(f"{base}/api/v1/downloads/{download_id}/remove", headers=h, json={"reason": "tidy up"})
    assert allowed.status_code == 202, allowed.text
    assert wait_state(allowed.json()["job_id"], ("succeeded", "failed", "dead"), 60).state == "succeeded"
    assert world["info_hash"] not in client.snapshot().torrents
    assert Path(view.content_path).exists(), "removal keeps the files"
    with session_scope() as s:
        kinds = [d.kind for d in s.scalars(select(GovernorDecision).where(GovernorDecision.download_id == download_id)
                                           .order_by(GovernorDecision.id))]
    assert kinds[-2:] == ["refuse", "remove"]


def _monitor() -> None:
    from shared.engine import ledger

    with session_scope() as s:
        job_id = ledger.create_job(s, "download.monitor", {}).job.id
    done = wait_state(job_id, ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded", done.error


def _monitor_download(base: str, h: dict[str, Any], wanted_id: int) -> dict[str, Any]:
    _monitor()
    items = httpx.get(f"{base}/api/v1/downloads", headers=h, params={"wanted_id": wanted_id}).json()["items"]
    assert len(items) == 1
    item: dict[str, Any] = items[0]
    return item


def wait_for_hash(client: QbitClient, info_hash: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info_hash in client.snapshot().torrents:
            return True
        time.sleep(0.3)
    return False


def test_auto_grab_grabs_what_a_search_chose(gateway: tuple[str, dict[str, Any]], world: dict[str, Any]) -> None:
    from shared.download.jobs import grab_dedupe_key
    from shared.models.jobs import Job

    base, h = gateway
    state: MamSimState = world["state"]
    policy = httpx.get(base + "/api/v1/settings/governor", headers=h).json()["policy"]
    assert policy["auto_grab"] is False  # off until a person turns it on
    assert httpx.put(base + "/api/v1/settings/governor", headers=h,
                     json={**policy, "auto_grab": True}).status_code == 200
    wanted_id = want("The Glass Orchard", ["Mira Calloway"], series=("Orchard Cycle", "2"), runtime=11 * HOURS,
                     narrators=["Jonah Pike"])
    torrent_id = _search(base, h, wanted_id)
    with session_scope() as s:
        grab_job = s.scalar(select(Job).where(Job.dedupe_key == grab_dedupe_key(torrent_id)))
        assert grab_job is not None and grab_job.type == "download.grab"
    done = wait_state(grab_job.id, ("succeeded", "failed", "dead"), 120)
    assert done.state == "succeeded" and done.result["added"] is True, done.error
    assert len(state.requests_to("download")) == 1
