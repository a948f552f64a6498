"""The qBittorrent client against the WebUI simulator served over real HTTP (``tests/sims/qbit``).

Counts are taken at the simulator (its call log), not from the client's own counter alone, so "one
call per cycle" is what the server saw. The real daemon is exercised by
``tests/integration/test_qbit_real.py``.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from shared.download.torrents import ShareLimits, TrackerStatus
from shared.infra.errors import NotFound
from tests.sims.mam.bencode import bencode
from tests.sims.qbit import QbitSimState, read, serve_qbit
from workers.download.qbit import (
    QbitClient,
    QbitLoginRefused,
    QbitRefused,
    QbitUnavailable,
    info_hash_of,
    tracker_status_of,
)

USER, PASSWORD = "mamc", "correct horse battery"
CATEGORY = "mamcrawler"


def torrent(name: str, size: int = 300_000, *, private: bool = True) -> bytes:
    pieces = b"".join(hashlib.sha1(name.encode() + bytes([n])).digest() for n in range(-(-size // 262144)))
    info = {"name": name, "length": size, "piece length": 262144, "pieces": pieces, "private": int(private),
            "source": "MAM"}
    return bencode({"announce": "http://tracker.test/announce?passkey=abc", "info": info})


@pytest.fixture
def sim() -> Iterator[tuple[QbitSimState, str]]:
    state = QbitSimState(username=USER, password=PASSWORD)
    base, stop = serve_qbit(state)
    try:
        yield state, base
    finally:
        stop()


def client(base: str, password: str = PASSWORD, category: str = CATEGORY) -> QbitClient:
    return QbitClient(base, USER, password, category=category, timeout=5)


def test_info_hash_matches_an_independent_reader() -> None:
    data = torrent("Some Book")
    assert info_hash_of(data) == read(data).info_hash
    with pytest.raises(ValueError):
        info_hash_of(data[:-1])


def test_add_sends_the_file_category_tags_save_path_and_no_share_limits(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    data = torrent("Jane Doe - A Book")
    ih = info_hash_of(data)
    qb = client(base)
    qb.add_torrent(data, info_hash=ih.upper(), category=CATEGORY, tags=["mamcrawler", "author:Jane Doe"],
                   save_path="/srv/audiobooks/incoming")
    added = state.torrents[ih].fields
    assert added["category"] == CATEGORY and added["tags"] == "author:Jane Doe, mamcrawler"
    assert added["save_path"] == "/srv/audiobooks/incoming" and added["auto_tmm"] is False
    assert (added["ratio_limit"], added["seeding_time_limit"]) == (-1, -1)
    add = [c for c in state.log if c.route == "torrents/add"]
    assert len(add) == 1 and add[0].files == 1
    assert add[0].params["ratioLimit"] == "-1" and add[0].params["seedingTimeLimit"] == "-1"
    # no session yet: 403, login, then the version qbittorrent-api asks before an add, then the add
    assert [c.route for c in state.log] == ["app/webapiVersion", "auth/login", "app/webapiVersion", "torrents/add"]
    assert all("correct horse" not in str(c.params) for c in state.log)

    state.log.clear()
    other = torrent("Second Book")
    qb.add_torrent(other, info_hash=info_hash_of(other), category=CATEGORY, tags=[], save_path="")
    assert [c.route for c in state.log] == ["torrents/add"]  # the version is kept for the session
    assert state.torrents[info_hash_of(other)].fields["save_path"] == "/downloads"  # qBittorrent's default
    assert "savepath" not in state.log[0].params and "autoTMM" not in state.log[0].params


def test_a_second_add_adds_nothing(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    data = torrent("Twice")
    qb = client(base)
    for _ in range(2):
        qb.add_torrent(data, info_hash=info_hash_of(data), category=CATEGORY, tags=["mamcrawler"], save_path="/d")
    assert len(state.torrents) == 1 and state.count("torrents/add") == 2
    assert qb.has(info_hash_of(data)) and not qb.has("0" * 40)


def test_add_refusals(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base)
    qb.duplicate_wait = 0.2
    data = torrent("Refused")
    with pytest.raises(QbitRefused, match="info-hash"):
        qb.add_torrent(data, info_hash="0" * 40, category=CATEGORY, tags=[], save_path="")
    with pytest.raises(QbitRefused, match="not a .torrent"):
        qb.add_torrent(b"<html>login</html>", info_hash="0" * 40, category=CATEGORY, tags=[], save_path="")
    assert state.count("torrents/add") == 0  # refused before anything was sent
    state.fail(200, route="torrents/add", text="Fails.")  # refused, and qBittorrent does not have it
    with pytest.raises(QbitRefused, match="Fails"):
        qb.add_torrent(data, info_hash=info_hash_of(data), category=CATEGORY, tags=[], save_path="")
    state.fail(415, route="torrents/add", text="Error: 'x.torrent' is not a valid torrent file.")
    with pytest.raises(QbitRefused, match="415"):
        qb.add_torrent(data, info_hash=info_hash_of(data), category=CATEGORY, tags=[], save_path="")


def test_snapshot_merges_partial_updates_of_our_category(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base)
    ours = [torrent(f"Ours {n}") for n in range(3)]
    for data in ours:
        qb.add_torrent(data, info_hash=info_hash_of(data), category=CATEGORY, tags=["mamcrawler"], save_path="/d")
    a, b, c = (info_hash_of(d) for d in ours)
    foreign = read(torrent("Linux ISO"))
    state.add(foreign, category="linux")

    first = qb.snapshot()
    assert first.full_update and set(first.torrents) == {a, b, c} and first.removed == frozenset()
    assert first.torrents[a].progress == 0 and first.torrents[a].completion_on is None
    assert first.torrents[a].ratio_limit == -1 and first.torrents[a].tracker_ok

    state.set_progress(a, 0.5)
    state.complete(b)
    state.update(c, ratio=1.5, uploaded=450_000)
    second = qb.snapshot()
    assert not second.full_update and second.calls == 1
    assert second.torrents[a].progress == 0.5 and second.torrents[a].state == "downloading"
    assert second.torrents[b].progress == 1 and second.torrents[b].completion_on is not None
    assert second.torrents[c].ratio == 1.5 and second.torrents[c].name == "Ours 2"  # untouched fields kept

    state.update(foreign.info_hash, category=CATEGORY)  # someone moves a torrent into our category
    state.update(a, category="elsewhere")  # and one of ours out of it
    state.remove(b)  # and deletes one behind our back
    third = qb.snapshot()
    assert set(third.torrents) == {c, foreign.info_hash} and third.removed == frozenset({b})
    assert third.torrents[foreign.info_hash].name == "Linux ISO"  # the partial {"category"} merged
    assert qb.has(a)

    quiet = qb.snapshot()
    assert quiet.torrents == third.torrents and quiet.removed == frozenset() and quiet.calls == 1


def test_restart_resets_the_rid_and_the_snapshot_recovers(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base)
    hashes = state.populate(5, category=CATEGORY)
    qb.snapshot()
    state.remove(hashes[0])
    state.restart()
    after = qb.snapshot()
    assert after.full_update and set(after.torrents) == set(hashes[1:]) and after.removed == frozenset({hashes[0]})
    assert after.calls == 3  # 403 (session gone), login, the full update
    assert [qb.snapshot().calls for _ in range(3)] == [1, 1, 1]


def test_steady_state_costs_one_call_per_cycle(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base)
    hashes = state.populate(1000, category=CATEGORY, state="downloading", progress=0.1)
    qb.snapshot()
    state.log.clear()
    for cycle in range(10):
        state.set_progress(hashes[cycle], 0.5)
        snap = qb.snapshot()
        assert snap.calls == 1 and len(snap.torrents) == 1000
    assert [c.route for c in state.log] == ["sync/maindata"] * 10


@pytest.mark.slow
def test_ten_thousand_torrents(sim: tuple[QbitSimState, str]) -> None:
    """The simulator holds 10,000 torrents; a full update, a cycle with 100 changes and a quiet one."""
    state, base = sim
    qb = client(base)
    hashes = state.populate(10_000, category=CATEGORY)
    qb.snapshot()  # log in
    qb.reset_sync()
    began = time.perf_counter()
    full = qb.snapshot()
    full_s = time.perf_counter() - began
    state.tick(0)
    for info_hash in hashes[:100]:
        state.update(info_hash, state="uploading", upspeed=1000)
    began = time.perf_counter()
    busy = qb.snapshot()
    busy_s = time.perf_counter() - began
    began = time.perf_counter()
    quiet = qb.snapshot()
    quiet_s = time.perf_counter() - began
    print(f"\n10,000 torrents: full update {full_s:.2f} s, 100 changed {busy_s * 1000:.0f} ms, "
          f"quiet {quiet_s * 1000:.0f} ms; calls {full.calls}/{busy.calls}/{quiet.calls}")
    assert len(full.torrents) == len(busy.torrents) == len(quiet.torrents) == 10_000
    assert busy.torrents[hashes[0]].state == "uploading" and (busy.calls, quiet.calls) == (1, 1)
    assert quiet_s < 1.0 and busy_s < 1.0 and full_s < 10.0


def test_wrong_password_is_login_refused_naming_the_settings(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base, password="hunter2-wrong")
    with pytest.raises(QbitLoginRefused) as caught:
        qb.snapshot()
    text = str(caught.value)
    assert "MAMC_QBIT_USER" in text and "MAMC_QBIT_PASSWORD" in text and "PUT /api/v1/settings/qbittorrent" in text
    assert "hunter2" not in text and caught.value.fatal and caught.value.service == "qbit"
    assert state.count("auth/login") == 1  # one attempt, no retry loop towards a ban
    with pytest.raises(QbitLoginRefused, match="no password is set"):
        QbitClient(base, USER, None, category=CATEGORY).snapshot()


def test_ban_is_login_refused(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    state.max_auth_failures = 2
    wrong = client(base, password="nope-nope")
    for _ in range(2):
        with pytest.raises(QbitLoginRefused, match="refused"):
            wrong.has("0" * 40)
    with pytest.raises(QbitLoginRefused, match="banned") as caught:
        client(base).has("0" * 40)
    assert PASSWORD not in str(caught.value)


def test_unreachable_and_server_errors_are_unavailable(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base)
    qb.snapshot()
    for status in (500, 502, 503):
        state.fail(status, times=2, route="sync/maindata")
        with pytest.raises(QbitUnavailable, match=str(status)):
            qb.snapshot()
    # qbittorrent-api itself retries a 5xx once, at once, on a new session (its cookie is dropped):
    # a single one costs a login and a full update, and no error
    state.fail(500, times=1, route="sync/maindata")
    absorbed = qb.snapshot()
    assert absorbed.calls == 4 and absorbed.full_update  # 500, 403, login, maindata
    assert qb.snapshot().calls == 1
    state.fail(404, route="torrents/trackers", text="Not Found")
    with pytest.raises(NotFound):
        qb.tracker_status("0" * 40)

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(QbitUnavailable, match="unreachable") as caught:
        QbitClient(f"http://127.0.0.1:{port}", USER, PASSWORD, category=CATEGORY, timeout=2).snapshot()
    assert PASSWORD not in str(caught.value)


def test_a_server_that_never_answers_is_unavailable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
        thread.start()
        began = time.monotonic()
        with pytest.raises(QbitUnavailable):
            QbitClient(f"http://127.0.0.1:{listener.getsockname()[1]}", USER, PASSWORD, category=CATEGORY,
                       timeout=0.5).snapshot()
        assert time.monotonic() - began < 5
        for sock in accepted:
            sock.close()


def test_share_limits_reannounce_categories_trackers(sim: tuple[QbitSimState, str]) -> None:
    state, base = sim
    qb = client(base)
    a, b = state.populate(2, category=CATEGORY)
    assert state.torrents[a].fields["ratio_limit"] == -2
    qb.set_no_share_limits([a, b])
    assert all(state.torrents[h].fields["ratio_limit"] == -1 and state.torrents[h].fields["seeding_time_limit"] == -1
               for h in (a, b))
    qb.reannounce([a.upper()])
    assert state.reannounced == [a]
    calls = state.count()
    qb.set_no_share_limits([])
    qb.reannounce([])
    assert state.count() == calls  # nothing to do costs nothing

    assert qb.global_share_limits() == ShareLimits(None, None, None, "pause")
    state.preferences.update({"max_ratio_enabled": True, "max_ratio": 2.0, "max_seeding_time_enabled": True,
                              "max_seeding_time": 4320, "max_ratio_act": 3,
                              "max_inactive_seeding_time_enabled": True, "max_inactive_seeding_time": 60})
    assert qb.global_share_limits() == ShareLimits(2.0, 4320, 60, "remove_with_files")

    assert qb.ensure_category("audiobooks", "/srv/mam") is True and state.categories["audiobooks"] == "/srv/mam"
    assert qb.ensure_category("audiobooks", "/elsewhere") is False and state.categories["audiobooks"] == "/srv/mam"
    state.fail(409, route="torrents/createCategory", text="Unable to create category")  # created meanwhile
    assert qb.ensure_category("raced", "/srv/raced") is False
    assert state.count("torrents/editCategory") == 0  # never moved

    assert qb.tracker_status(a) == TrackerStatus(True, "")
    state.set_tracker(a, working=False, message="Unregistered torrent")
    assert qb.tracker_status(a) == TrackerStatus(False, "Unregistered torrent")
    assert qb.tracker_status(b) == TrackerStatus(True, ""), "one torrent's tracker failing says nothing of another's"
    state.set_tracker(None, working=False)
    assert qb.tracker_status(b) == TrackerStatus(False, "Connection refused")
    assert state.torrents[a].fields["tracker"], "maindata's tracker field does not notice the failure"


@pytest.mark.parametrize(("rows", "expected"), [
    ([], TrackerStatus(False, "no tracker")),
    ([{"url": "** [DHT] **", "status": 2, "msg": ""}], TrackerStatus(False, "no tracker")),
    ([{"url": "** [DHT] **", "status": 2, "msg": ""}, {"url": "https://t/a", "status": 4, "msg": "timed out"}],
     TrackerStatus(False, "timed out")),
    ([{"url": "https://t/a", "status": 1, "msg": ""}], TrackerStatus(None, "not contacted yet")),
    ([{"url": "https://t/a", "status": 3, "msg": ""}], TrackerStatus(None, "announcing")),
    ([{"url": "https://t/a", "status": 4, "msg": ""}, {"url": "https://t/b", "status": 2, "msg": "ok"}],
     TrackerStatus(True, "ok")),
    ([{"url": "https://t/a", "status": 6, "msg": ""}], TrackerStatus(False, "not working (status 6)")),
])
def test_what_a_tracker_list_says_of_the_last_announce(rows: list[dict[str, object]],
                                                        expected: TrackerStatus) -> None:
    assert tracker_status_of(rows) == expected
