"""The product's qBittorrent client against the real thing: opentracker, a seeding qbittorrent-nox and
the project's own qbittorrent-nox, all on loopback (``tests/fixtures/swarm.py``).

What the simulator (``tests/sims/qbit``) encodes from reading the docs is checked here against
qBittorrent 4.5.2 itself: the add with category, tags, save path and share limits "none"; progress
to completion and seeding through ``sync/maindata``; a duplicate add; ``setShareLimits``; a refused
login and a ban; a stopped daemon; a restart that resets the rid.

Each test works in its own category, so the session's shared qbittorrent-nox needs no cleaning.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import pytest

from shared.download.states import SEEDING_STATES
from shared.download.torrents import ClientSnapshot, ShareLimits, TorrentView
from tests.fixtures.swarm import MB, Book, Swarm, api_client
from tests.fixtures.swarm_procs import QbitDaemon
from workers.download.qbit import QbitClient, QbitLoginRefused, QbitUnavailable, info_hash_of

pytestmark = pytest.mark.slow


def _client(daemon: QbitDaemon, category: str, password: str | None = None) -> QbitClient:
    return QbitClient(daemon.url, daemon.username, daemon.password if password is None else password,
                      category=category, timeout=10)


def _category() -> str:
    return f"mamc-test-{uuid.uuid4().hex[:8]}"


def _wait_view(client: QbitClient, info_hash: str, done: object,
               timeout: float = 30.0) -> tuple[TorrentView, list[tuple[str, float]]]:
    """Snapshot every 50 ms until ``done(view)``; the view and the (state, progress) seen on the way."""
    assert callable(done)
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout
    view: TorrentView | None = None
    while time.monotonic() < deadline:
        view = client.snapshot().torrents.get(info_hash)
        if view is not None:
            if not seen or seen[-1] != (view.state, view.progress):
                seen.append((view.state, view.progress))
            if done(view):
                return view, seen
        time.sleep(0.05)
    raise AssertionError(f"{info_hash}: condition not met in {timeout}s; last view {view}, states {seen}")


def _seeding(view: TorrentView) -> bool:
    return view.progress == 1 and view.state in SEEDING_STATES and view.completion_on is not None


def _digest(path: Path) -> dict[str, str]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _steady(client: QbitClient, cycles: int = 5) -> list[ClientSnapshot]:
    snaps = [client.snapshot() for _ in range(cycles)]
    assert [s.calls for s in snaps] == [1] * cycles, [s.calls for s in snaps]
    return snaps


def test_add_downloads_completes_and_seeds_with_no_share_limits(swarm: Swarm, qbit_ours: QbitDaemon) -> None:
    category = _category()
    save = qbit_ours.downloads / category
    book = swarm.make_book("Twenty Megabytes", author="Ann Author", size=20 * MB, files=8)
    assert info_hash_of(book.torrent) == book.info_hash
    client = _client(qbit_ours, category)
    assert client.ensure_category(category, str(save)) is True
    assert client.calls == 5  # 403 (no session yet), login, categories, webapiVersion (kept), createCategory
    assert client.ensure_category(category, str(save)) is False  # exists: left as it is

    first = client.snapshot()
    assert first.full_update and first.torrents == {} and first.calls == 1
    started = time.monotonic()
    tags = ["mamcrawler", "series:Test Series", "author:Ann Author"]
    client.add_torrent(book.torrent, info_hash=book.info_hash, category=category, tags=tags, save_path=str(save))
    view, seen = _wait_view(client, book.info_hash, _seeding)
    elapsed = time.monotonic() - started
    print(f"\n20 MB private torrent: add -> complete and seeding in {elapsed:.2f} s (seen {seen})")
    assert seen[0][1] < 1 and seen[0][0] not in SEEDING_STATES  # followed from before completion
    assert [p for _, p in seen] == sorted(p for _, p in seen)  # progress never goes back

    assert view.category == category and set(view.tags) == set(tags)
    assert Path(view.save_path) == save and Path(view.content_path) == save / book.name
    assert view.size_bytes == book.size and view.name == book.name
    assert view.completion_on is not None and view.added_on is not None and view.completion_on >= view.added_on
    assert view.ratio_limit == -1 and view.seeding_time_limit == -1
    assert _digest(save / book.name) == _digest(book.payload)  # the bytes crossed the wire intact
    info = api_client(qbit_ours).torrents_info(torrent_hashes=book.info_hash)[0]
    assert (info.ratio_limit, info.seeding_time_limit, info.max_ratio, info.max_seeding_time) == (-1, -1, -1, -1)
    tracked, _ = _wait_view(client, book.info_hash, lambda v: v.tracker_ok)
    assert tracked.tracker_ok

    # a second add of the same bytes adds nothing (counted by qBittorrent itself)
    client.add_torrent(book.torrent, info_hash=book.info_hash, category=category, tags=tags, save_path=str(save))
    assert len(api_client(qbit_ours).torrents_info(category=category)) == 1
    assert client.has(book.info_hash) and not client.has("0" * 40)

    steady = _steady(client)
    print(f"steady state: {[s.calls for s in steady]} call(s) per snapshot cycle")
    assert all(set(s.torrents) == {book.info_hash} and not s.full_update for s in steady)


def test_share_limits_on_a_torrent_added_by_hand(swarm: Swarm, qbit_ours: QbitDaemon) -> None:
    """A torrent someone adds in our category is followed, and ``setShareLimits`` really lifts its limits."""
    category = _category()
    book = swarm.make_book(size=1 * MB)
    by_hand = api_client(qbit_ours)
    by_hand.torrents_add(torrent_files=book.torrent, category=category, save_path=str(qbit_ours.downloads / category),
                         use_auto_torrent_management=False)
    client = _client(qbit_ours, category)
    view, _ = _wait_view(client, book.info_hash, _seeding)
    assert (view.ratio_limit, view.seeding_time_limit) == (-2, -2)  # qBittorrent's global limits apply

    client.set_no_share_limits([book.info_hash])
    info = by_hand.torrents_info(torrent_hashes=book.info_hash)[0]
    assert (info.ratio_limit, info.seeding_time_limit) == (-1, -1)
    view, _ = _wait_view(client, book.info_hash, lambda v: v.ratio_limit == -1)
    assert view.seeding_time_limit == -1

    # moved to another category: no longer ours, but not removed; deleted: removed
    by_hand.torrents_create_category(name=f"{category}-other")
    by_hand.torrents_set_category(category=f"{category}-other", torrent_hashes=book.info_hash)
    moved = _until(client, lambda s: book.info_hash not in s.torrents)
    assert book.info_hash not in moved.removed and client.has(book.info_hash)
    by_hand.torrents_set_category(category=category, torrent_hashes=book.info_hash)
    back = _until(client, lambda s: book.info_hash in s.torrents)
    assert back.torrents[book.info_hash].progress == 1  # the partial {"category"} merged with what was known
    by_hand.torrents_delete(delete_files=False, torrent_hashes=book.info_hash)
    gone = _until(client, lambda s: book.info_hash in s.removed)
    assert book.info_hash not in gone.torrents


def _until(client: QbitClient, done: object, timeout: float = 10.0) -> ClientSnapshot:
    assert callable(done)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = client.snapshot()
        if done(snap):
            return snap
        time.sleep(0.05)
    raise AssertionError(f"no snapshot met the condition in {timeout}s")


def test_global_share_limits_read_from_preferences(qbit_ours: QbitDaemon) -> None:
    api = api_client(qbit_ours)
    client = _client(qbit_ours, _category())
    api.app_set_preferences({"max_ratio_enabled": True, "max_ratio": 2.5, "max_seeding_time_enabled": True,
                             "max_seeding_time": 120, "max_ratio_act": 1})
    try:
        assert client.global_share_limits() == ShareLimits(ratio=2.5, seeding_minutes=120,
                                                           inactive_seeding_minutes=None, action="remove")
    finally:
        api.app_set_preferences({"max_ratio_enabled": False, "max_seeding_time_enabled": False, "max_ratio_act": 0})
    assert client.global_share_limits() == ShareLimits(None, None, None, "pause")


def test_wrong_password_and_ban_are_login_refused(qbit_ours: QbitDaemon, tmp_path: Path) -> None:
    wrong = "definitely-not-it-" + uuid.uuid4().hex[:6]
    client = _client(qbit_ours, _category(), password=wrong)
    with pytest.raises(QbitLoginRefused) as caught:
        client.snapshot()
    message = str(caught.value)
    assert "MAMC_QBIT_PASSWORD" in message and "/api/v1/settings/qbittorrent" in message
    assert wrong not in message and caught.value.fatal

    strict = QbitDaemon("strict", tmp_path / "strict", max_auth_failures=2)
    strict.start()
    try:
        banned = _client(strict, "c", password=wrong)
        for _ in range(2):
            with pytest.raises(QbitLoginRefused):
                banned.has("0" * 40)
        right = _client(strict, "c")  # the right password, from a banned address
        with pytest.raises(QbitLoginRefused) as caught:
            right.has("0" * 40)
        assert "banned" in str(caught.value) and strict.password not in str(caught.value)
    finally:
        strict.stop()


def test_stopped_daemon_is_unavailable_and_a_restart_keeps_the_torrent(swarm: Swarm, qbit_ours: QbitDaemon) -> None:
    category = _category()
    book: Book = swarm.make_book(size=2 * MB)
    client = _client(qbit_ours, category)
    client.add_torrent(book.torrent, info_hash=book.info_hash, category=category, tags=["mamcrawler"],
                       save_path=str(qbit_ours.downloads / category))
    _wait_view(client, book.info_hash, _seeding)
    _steady(client, 2)

    qbit_ours.stop()
    with pytest.raises(QbitUnavailable) as caught:
        client.snapshot()
    assert qbit_ours.url in str(caught.value) and qbit_ours.password not in str(caught.value)
    with pytest.raises(QbitUnavailable):
        client.add_torrent(book.torrent, info_hash=book.info_hash, category=category, tags=[], save_path="")

    qbit_ours.start()  # same profile: qBittorrent reloads its torrents; our session and rid are gone
    after = _until(client, lambda s: book.info_hash in s.torrents)
    assert after.full_update and not after.removed
    view, _ = _wait_view(client, book.info_hash, _seeding)
    assert view.category == category and view.ratio_limit == -1  # the limits survive the restart
    _steady(client, 3)


def test_a_mam_simulator_torrent_with_a_passkey_announce_downloads(swarm: Swarm, qbit_ours: QbitDaemon,
                                                                    tmp_path: Path) -> None:
    """A .torrent as the MAM simulator's download.php makes it (private, source MAM, a passkey in its
    announce URL) is seeded by the swarm and downloaded by our client: the grab's end-to-end path."""
    from tests.sims.mam import MamSimState, build_catalogue, torrent_file, write_content

    state = MamSimState(catalogue=build_catalogue([{"title": "The Sim Book", "authors": ["Sim Author"],
                                                    "numfiles": 3}]))
    made = torrent_file(state.catalogue[0], swarm.announce_for(state.passkey), payload=3 * MB)
    content = tmp_path / "mam-content"
    write_content(state.catalogue[0], content, payload=3 * MB)
    assert swarm.seed_torrent(made.data, content) == made.info_hash == info_hash_of(made.data)

    category = _category()
    client = _client(qbit_ours, category)
    client.add_torrent(made.data, info_hash=made.info_hash, category=category, tags=["mamcrawler"],
                       save_path=str(qbit_ours.downloads / category))
    view, _ = _wait_view(client, made.info_hash, _seeding)
    assert view.tracker_ok and view.size_bytes == 3 * MB
    assert _digest(Path(view.content_path)) == _digest(next(content.iterdir()))
