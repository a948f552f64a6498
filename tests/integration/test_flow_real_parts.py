"""The whole flow with real parts, in one test (issue 11's end-to-end item), on the flow world
(tests/demo/world.py) that ``make demo`` runs too.

Real: PostgreSQL and Redis, the worker processes (crawl, download, library_sync) and beat, opentracker,
the seeding qbittorrent-nox, the project's qbittorrent-nox, ffmpeg-made ``.m4b`` audio, ffprobe. Simulated
over HTTP: MAM (serving real ``.torrent`` files of that audio, announcing to the local tracker) and ABS
(whose scan reads its library folder on disk).

wanted -> ``crawl.search`` chooses the edition -> ``POST /api/v1/downloads`` -> ``download.grab`` fetches
the ``.torrent`` once and adds it -> qbittorrent-nox downloads it from the seeder -> ``download.monitor``
(beat, every second) sees it complete and queues ``import.abs`` -> ffprobe verifies the duration
against the runtime -> the file is hardlinked into ABS's layout -> ABS scans and lists it -> its
metadata is PATCHed and read back. Then: the library file *is* the seeding file (same inode), the
torrent still seeds with its bytes unchanged, the entry is ``imported``.

And a wrong recording (its files 20 % shorter than the runtime) through the same parts: rejected
with the figures, the torrent keeps seeding, the entry is wanted again and the next search skips it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.download.states import SEEDING_STATES
from shared.infra.db import session_scope
from shared.models.jobs import Job
from shared.models.metadata import Wanted
from shared.wanted.service import upsert_wanted
from tests.demo.world import FlowWorld, same_file
from tests.fixtures.swarm import api_client
from tests.fixtures.swarm_procs import QbitDaemon
from tests.integration.stack import Stack, api_headers, wait_for, wait_state
from tests.sims.world import Work

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway(stack: Stack, flow_world: FlowWorld, qbit_ours: QbitDaemon,
            api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    category = f"mamc-flow-{uuid.uuid4().hex[:8]}"  # the session's qbittorrent-nox is shared with other tests
    stack.env.update(flow_world.env())
    stack.env.update({
        "MAMC_QBIT_CATEGORY": category, "MAMC_QBIT_SAVE_PATH": str(qbit_ours.downloads / category),
        "MAMC_SCHEDULE_DOWNLOAD_MONITOR": "1",
        **{f"MAMC_SCHEDULE_{name}": "0" for name in ("LIBRARY_SYNC", "METADATA_REFRESH", "ACCOUNT_REFRESH",
                                                     "ACCOUNT_SPEND", "CRAWL_AUTO_SEARCH")},
    })
    stack.beat()
    stack.worker("crawl", concurrency=1)
    stack.worker("download", concurrency=2)
    stack.worker("library_sync", concurrency=2)
    _, base = stack.api()
    yield base, api_headers(api_key)


def _want(world: FlowWorld, work: Work) -> int:
    row = world.wanted_row(work)
    with session_scope() as s:
        upsert_wanted(s, [row])
        return int(s.scalar(select(Wanted.id).where(Wanted.key == row.key)) or 0)


def _job(job_id: str, timeout: float = 120) -> dict[str, Any]:
    done = wait_state(job_id, ("succeeded", "failed", "dead"), timeout)
    assert done.state == "succeeded", (done.state, done.error)
    result: dict[str, Any] = done.result or {}
    return result


def _search(base: str, h: dict[str, Any], wanted_id: int) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/v1/wanted/{wanted_id}/search", headers=h, json={})
    assert r.status_code == 202, r.text
    _job(r.json()["id"])
    page: dict[str, Any] = httpx.get(f"{base}/api/v1/wanted/{wanted_id}/candidates", headers=h).json()
    return page


def _grab(base: str, h: dict[str, Any], wanted_id: int, torrent_id: int) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/v1/downloads", headers=h, json={"wanted_id": wanted_id, "torrent_id": torrent_id})
    assert r.status_code == 202, r.text
    return _job(r.json()["id"])


def _entry(base: str, h: dict[str, Any], wanted_id: int) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{base}/api/v1/wanted/{wanted_id}", headers=h).json()
    return body


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _import_jobs(download_id: int) -> list[Job]:
    with session_scope() as s:
        return [j for j in s.scalars(select(Job).where(Job.type == "import.abs"))
                if j.args.get("download_id") == download_id]


@pytest.mark.timeout(600)
def test_wanted_to_imported_with_real_parts(gateway: tuple[str, dict[str, Any]], flow_world: FlowWorld,
                                            qbit_ours: QbitDaemon) -> None:
    base, h = gateway
    torrent, work = flow_world.main_offer()
    edition = work.edition("us", "main")
    assert edition is not None
    wanted_id = _want(flow_world, work)

    # search: the edition metadata describes is chosen, with its reasons
    page = _search(base, h, wanted_id)
    assert page["search"]["chosen_torrent_id"] == torrent.id, page["search"]["summary"]
    chosen = next(c for c in page["items"] if c["chosen"])
    assert chosen["format"] == "m4b" and chosen["rejections"] == [] and chosen["breakdown"], chosen

    # grab: the .torrent fetched once, added to our qbittorrent-nox
    grabbed = _grab(base, h, wanted_id, torrent.id)
    assert grabbed["added"] is True, grabbed
    info_hash = grabbed["info_hash"]
    assert len(flow_world.mam.requests_to("download")) == 1

    # download, monitor, import: all by themselves
    entry = wait_for(lambda: (e := _entry(base, h, wanted_id))["state"] in ("imported", "wanted") and e, 180, 0.5,
                     what="the entry imported")
    assert entry["state"] == "imported", entry
    [download] = entry["downloads"]
    [imported] = entry["imports"]
    assert download["info_hash"] == info_hash and download["state"] == "seeding", download
    assert download["obligation"]["state"] == "open", download["obligation"]
    assert imported["verdict"] == "imported" and imported["placement"] == "hardlink", imported
    [import_job] = _import_jobs(download["id"])
    assert import_job.state == "succeeded"
    with session_scope() as s:  # the monitor run (a beat tick) that saw the completion queued the import
        seen_by = [j for j in s.scalars(select(Job).where(Job.type == "download.monitor", Job.state == "succeeded"))
                   if j.started_at <= import_job.created_at <= j.finished_at and j.result.get("completed") == 1]
    assert len(seen_by) == 1, "the import was queued by the download.monitor run that saw the completion"

    # ffprobe's figures: one AAC file running the runtime metadata gave
    [probed] = imported["files"]
    assert probed["codec"] == "aac" and abs(probed["duration"] - edition.duration_seconds) < 1.0, probed

    # the library file is the seeding file: one inode, bytes unchanged, still seeding
    qbit = api_client(qbit_ours)
    [seen] = qbit.torrents_info(torrent_hashes=info_hash)
    assert seen.state in SEEDING_STATES and seen.progress == 1, seen.state
    downloaded = Path(seen.content_path)
    target = Path(imported["target_dir"])
    assert target.is_relative_to(flow_world.library_dir), target
    [placed] = [p for p in target.iterdir() if p.suffix == ".m4b"]
    assert same_file(placed, downloaded), (placed, downloaded)
    assert _sha1(downloaded) == _sha1(flow_world.payloads.content_path(torrent)), "the seeding file was changed"
    assert json.loads((target / "metadata.json").read_text())["asin"] == edition.asin

    # ABS scanned the folder from disk, listed it, and holds the metadata we PATCHed and read back
    state = flow_world.served.abs_state
    item = state.items[imported["abs_item_id"]]
    assert item.asin == edition.asin and item.title == work.title
    assert list(item.narrators) == list(edition.narrators)
    assert abs(item.duration - edition.duration_seconds) < 1.0
    assert state.count("PATCH /api/items/{id}/media") == 1
    assert state.scan_results, "ABS scanned its folder on disk"

    # nothing was fetched twice; the torrent seeds on
    assert len(flow_world.mam.requests_to("download")) == 1
    [again] = qbit.torrents_info(torrent_hashes=info_hash)
    assert again.state in SEEDING_STATES


@pytest.mark.timeout(600)
def test_a_wrong_recording_is_rejected_keeps_seeding_and_is_skipped(gateway: tuple[str, dict[str, Any]],
                                                                    flow_world: FlowWorld,
                                                                    qbit_ours: QbitDaemon) -> None:
    base, h = gateway
    torrent, work = flow_world.main_offer(wrong=True)
    wanted_id = _want(flow_world, work)
    page = _search(base, h, wanted_id)
    assert page["search"]["chosen_torrent_id"] == torrent.id  # it looks like the best edition
    grabbed = _grab(base, h, wanted_id, torrent.id)
    entry = wait_for(lambda: (e := _entry(base, h, wanted_id))["imports"]
                     and e["imports"][0]["verdict"] is not None and e, 180, 0.5, what="the import's verdict")
    [rejected] = entry["imports"]
    assert rejected["verdict"] == "rejected" and "-20.0% from the expected" in rejected["reason"], rejected
    assert entry["state"] == "wanted", entry
    assert not any(flow_world.library_dir.rglob("*.m4b")), "nothing placed in the library"
    [seen] = api_client(qbit_ours).torrents_info(torrent_hashes=grabbed["info_hash"])
    assert seen.state in SEEDING_STATES, seen.state

    again = _search(base, h, wanted_id)
    assert again["search"]["chosen_torrent_id"] != torrent.id, again["search"]["summary"]
    skipped = next(c for c in again["items"] if c["torrent_id"] == torrent.id)
    assert not skipped["acceptable"] and any(r["code"] == "wrong_recording" for r in skipped["rejections"]), skipped


