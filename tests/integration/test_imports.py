"""The import, in this process, against real PostgreSQL, the ABS simulator scanning a real library
folder over HTTP, ffprobe/ffmpeg on generated audio, and real hardlinks.

What is proven here: a download is hardlinked (same inode, seeding bytes and times unchanged) into
``Author/Series/Vol N - YYYY - Title {Narrator} [ASIN]``, ABS finds the folder by scanning it and
the PATCHed metadata is read back; a recording 20 % short is rejected (the entry wanted again, the
torrent refused by the next search); a wrong narrator tag, an undecodable file, a copy the library
already owns; a copy across filesystems; a download nobody wanted is left alone; the listener's
call point; a scan that never lists the folder ends ``failed`` and a retry finishes the import.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from shared.crawl.choice import QualityProfile, choose
from shared.crawl.targets import build_target
from shared.imports import records
from shared.imports.memory import rejected_torrents
from shared.imports.narrator_match import NamesInPlay
from shared.infra.db import session_scope
from shared.infra.errors import UpstreamUnavailable
from shared.models.download import Download
from shared.models.imports import Import
from shared.models.metadata import Wanted
from shared.wanted.states import WantedState
from tests.fixtures.audio import make_m4b
from tests.fixtures.choice import torrent
from tests.fixtures.imports import Book, add_candidates, add_download, add_wanted, wanted_state
from tests.integration.imports_world import (
    ABS_ROOT,
    ImportWorld,
    import_world_fixture,  # noqa: F401 - the import_world fixture
    same_inode,
)
from workers.imports.flow import ImportFailed

BOOK = Book()
FOLDER = "Terry Pratchett/Discworld/Vol 1 - 1983 - The Colour of Magic {Nigel Planer} [B0015T963C]"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Seeding:
    """A completed torrent's folder: the audio, a cover and an .nfo, as qBittorrent left them."""

    root: Path
    audio: Path
    digests: dict[Path, str]
    mtimes: dict[Path, int]

    def unchanged(self) -> bool:
        return all(digest(p) == d for p, d in self.digests.items()) and all(
            p.stat().st_mtime_ns == m for p, m in self.mtimes.items())


def seed(root: Path, seconds: float, **tags: str) -> Seeding:
    audio = make_m4b(root / "The Colour of Magic.m4b", seconds, title="The Colour of Magic",
                     artist="Terry Pratchett", **tags)
    (root / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0not-really-a-jpeg")
    (root / "info.nfo").write_text("ripped by someone\n")
    files = [audio, root / "cover.jpg", root / "info.nfo"]
    return Seeding(root, audio, {p: digest(p) for p in files}, {p: p.stat().st_mtime_ns for p in files})


def grab(world: ImportWorld, book: Book, seconds: float, *, torrent_id: int = 4242,
         narrators: tuple[str, ...] = ("Nigel Planer",), **tags: str) -> tuple[int, int, Seeding]:
    wanted_id = add_wanted(book)
    add_candidates(wanted_id, torrent_id, narrators=narrators, others={4243: ["Tony Robinson"]})
    seeding = seed(world.downloads / f"Pratchett - Colour of Magic {torrent_id}", seconds, **tags)
    download_id = add_download(seeding.root, wanted_id=wanted_id, torrent_id=torrent_id,
                               qbit_path=world.qbit_path(seeding.root))
    return wanted_id, download_id, seeding


def the_import(download_id: int) -> Import:
    with session_scope() as s:
        row = s.scalar(select(Import).where(Import.download_id == download_id))
        assert row is not None
        s.expunge(row)
        return row


def test_a_download_is_hardlinked_scanned_and_described(import_world: ImportWorld) -> None:
    world = import_world
    wanted_id, download_id, seeding = grab(world, BOOK, 60, composer="Nigel Planer")
    result = world.run(download_id)
    assert result["verdict"] == "imported", result
    row = the_import(download_id)
    assert row.placement == "hardlink" and row.step == "done" and row.reason is None
    target = world.library / FOLDER
    assert row.target_dir == str(target) and row.abs_path == f"{ABS_ROOT}/{FOLDER}"
    for name in ("The Colour of Magic.m4b", "cover.jpg", "info.nfo"):
        assert same_inode(target / name, seeding.root / name), name
    assert seeding.unchanged()
    assert json.loads((target / "metadata.json").read_text()) == {
        "title": "The Colour of Magic", "authors": ["Terry Pratchett"], "narrators": ["Nigel Planer"],
        "series": ["Discworld #1"], "publishedYear": "1983", "asin": "B0015T963C"}
    assert not [p for p in target.iterdir() if p.name.startswith(".")], "a temporary file was left behind"
    # the files' figures, as the API shows them
    audio = next(f for f in row.files if f["audio"])
    assert audio["codec"] == "aac" and audio["channels"] == 1 and audio["decodes"] is True
    assert abs(audio["duration"] - 60) < 0.5 and 20_000 < audio["bitrate"] < 50_000
    assert row.figures["narrator"]["tags"] == ["Nigel Planer"] and row.figures["narrator"]["agree"] == 1.0
    assert row.figures["narrator"]["listened"]["status"] == "not_checked"
    # ABS: one item at that path, described and read back
    assert world.items() == 1 and world.patches() == 1
    with world.client() as client:
        item = client.get_item(row.abs_item_id or "")
    assert item.path == f"{ABS_ROOT}/{FOLDER}" and item.asin == "B0015T963C"
    assert [a.name for a in item.authors] == ["Terry Pratchett"] and item.narrators == ("Nigel Planer",)
    assert [(s.name, s.sequence) for s in item.series] == [("Discworld", "1")]
    assert abs((item.duration_seconds or 0) - 60) < 0.5
    assert wanted_state(wanted_id) == "imported"
    with session_scope() as s:
        assert s.get(Download, download_id).import_state == "imported"  # type: ignore[union-attr]
    # a second delivery changes nothing
    again = world.run(download_id)
    assert again["verdict"] == "imported" and world.patches() == 1 and world.items() == 1
    assert world.folders() == [target]


def test_a_recording_20_percent_short_is_rejected_and_refused_by_the_next_search(import_world: ImportWorld) -> None:
    world = import_world
    wanted_id, download_id, seeding = grab(world, BOOK, 48)
    result = world.run(download_id)
    assert result["verdict"] == "rejected", result
    row = the_import(download_id)
    assert "-20.0% from the expected 0:01:00" in (row.reason or ""), row.reason
    assert row.figures["deviation"] == pytest.approx(-0.2, abs=0.01)
    assert row.figures["expected_seconds"] == 60 and row.target_dir is None and row.placement is None
    assert world.folders() == [] and world.items() == 0 and world.patches() == 0
    assert seeding.unchanged()
    with session_scope() as s:
        wanted = s.get(Wanted, wanted_id)
        assert wanted is not None and wanted.state == "wanted" and wanted.chosen_torrent_id is None
        assert s.get(Download, download_id).import_state == "rejected"  # type: ignore[union-attr]
        assert rejected_torrents(s) == {4242: row.reason}
        target = build_target(s, wanted)
    decision = choose(target, [torrent(torrent_id=4242, title="The Colour of Magic", size=300_000),
                               torrent(torrent_id=4244, title="The Colour of Magic", size=300_000)],
                      None, QualityProfile())
    refused = next(c for c in decision.candidates if c.torrent_id == 4242)
    assert "wrong_recording" in {str(r.code) for r in refused.rejections}
    assert decision.chosen is not None and decision.chosen.torrent_id == 4244


def test_a_rejection_before_the_monitor_moved_the_entry_still_ends_wanted(import_world: ImportWorld) -> None:
    world = import_world
    wanted_id = add_wanted(BOOK, state=WantedState.GRABBED)
    seeding = seed(world.downloads / "Early", 30)
    download_id = add_download(seeding.root, wanted_id=wanted_id, torrent_id=6161,
                               qbit_path=world.qbit_path(seeding.root))
    assert world.run(download_id)["verdict"] == "rejected"
    assert wanted_state(wanted_id) == "wanted"  # grabbed -> downloaded -> wanted, both moves in the table


def test_a_narrator_tag_naming_someone_else_is_rejected(import_world: ImportWorld) -> None:
    world = import_world
    wanted_id, download_id, _ = grab(world, BOOK, 60, composer="Tony Robinson")
    assert world.run(download_id)["verdict"] == "rejected"
    reason = the_import(download_id).reason or ""
    assert "the files name narrator Tony Robinson" in reason and "read by Nigel Planer" in reason
    assert wanted_state(wanted_id) == "wanted"


def test_the_author_in_the_composer_tag_is_not_a_narrator(import_world: ImportWorld) -> None:
    world = import_world
    _, download_id, _ = grab(world, BOOK, 60, composer="Pratchett, Terry")
    assert world.run(download_id)["verdict"] == "imported"
    assert the_import(download_id).figures["narrator"]["tags"] == []


def test_a_file_cut_short_does_not_decode_and_is_rejected(import_world: ImportWorld) -> None:
    world = import_world
    _, download_id, seeding = grab(world, BOOK, 60)
    data = seeding.audio.read_bytes()
    seeding.audio.write_bytes(data[: int(len(data) * 0.6)])  # the index is first: it still probes
    assert world.run(download_id)["verdict"] == "rejected"
    row = the_import(download_id)
    assert "does not decode" in (row.reason or ""), row.reason
    assert next(f for f in row.files if f["audio"])["decodes"] is False


def test_a_book_the_library_owns_by_another_regions_asin_is_not_placed(import_world: ImportWorld) -> None:
    world = import_world
    with session_scope() as s:
        s.execute(text("INSERT INTO works (id, key, title, title_key) VALUES (7, 'w', 'The Colour of Magic', 'c')"))
        s.execute(text("INSERT INTO metadata_owned_keys (kind, key, work_id, author_keys) "
                       "VALUES ('asin', 'B0015T963C', 7, '{}'), ('asin', 'B00UK00001', 7, '{}')"))
    wanted_id, download_id, seeding = grab(world, Book(asin="B00UK00001"), 60)
    assert world.run(download_id)["verdict"] == "already_owned"
    assert the_import(download_id).reason == "ASIN B00UK00001 is in the library"
    assert world.folders() == [] and world.items() == 0
    assert wanted_state(wanted_id) == "imported" and seeding.unchanged()


def test_a_book_the_library_owns_by_title_author_and_duration_is_not_placed(import_world: ImportWorld) -> None:
    world = import_world
    with session_scope() as s:
        s.execute(text("""
            INSERT INTO libraries (id, name, media_type) VALUES ('lib', 'Books', 'book');
            INSERT INTO works (id, key, title, title_key) VALUES (1, 'k', 'The Colour of Magic', 'colour of magic');
            INSERT INTO authors (id, key, name) VALUES (1, 'terry pratchett', 'Terry Pratchett');
            INSERT INTO work_authors (work_id, author_id, ordinal) VALUES (1, 1, 0);
            INSERT INTO recordings (id, key, work_id, abridged, explicit, audio_files, duration_seconds, source_item)
                 VALUES (1, 'item:x', 1, false, false, '[]', 61, 'x');
            INSERT INTO library_items (abs_id, library_id, recording_id, path, abs_updated_at, state)
                 VALUES ('x', 'lib', 1, '/audiobooks/x', 1, 'present');"""))
    _, download_id, _ = grab(world, Book(asin=None), 60)
    assert world.run(download_id)["verdict"] == "already_owned"
    assert "the library has 'The Colour of Magic' by Terry Pratchett, 61 s long" in (the_import(download_id).reason
                                                                                    or "")


def _other_filesystem(tmp_path: Path) -> Path:
    """A folder on another filesystem than ``tmp_path``: /dev/shm, else a tmpfs mounted for the test."""
    here = os.stat(tmp_path).st_dev
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and os.stat(shm).st_dev != here:
        return shm
    mount = tmp_path.parent / f"{tmp_path.name}-tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"no second filesystem here (/dev/shm shares {tmp_path}'s, and mount failed: {done.stderr!r})")
    return mount


def test_across_filesystems_the_files_are_copied_and_the_import_says_so(import_world: ImportWorld,
                                                                         tmp_path: Path) -> None:
    world = import_world
    other = Path(str(_other_filesystem(tmp_path)))
    downloads = other / f"mamc-downloads-{os.getpid()}-{tmp_path.name}"
    downloads.mkdir()
    try:
        wanted_id = add_wanted(BOOK)
        add_candidates(wanted_id, 5151)
        seeding = seed(downloads / "Colour", 60, composer="Nigel Planer")
        assert os.stat(seeding.audio).st_dev != os.stat(world.library).st_dev
        download_id = add_download(seeding.root, wanted_id=wanted_id, torrent_id=5151)  # unmapped: same path
        assert world.run(download_id)["verdict"] == "imported"
        row = the_import(download_id)
        assert row.placement == "copy"
        placed = world.library / FOLDER / "The Colour of Magic.m4b"
        assert not same_inode(placed, seeding.audio) and digest(placed) == digest(seeding.audio)
        assert seeding.unchanged()
        assert not [p for p in (world.library / FOLDER).iterdir() if p.name.startswith(".")]
        assert world.items() == 1
    finally:
        subprocess.run(["rm", "-rf", str(downloads)], check=False)


def test_a_completed_download_nobody_wanted_is_left_alone(import_world: ImportWorld) -> None:
    world = import_world
    seeding = seed(world.downloads / "Stray", 30)
    download_id = add_download(seeding.root, wanted_id=None, torrent_id=777, qbit_path=world.qbit_path(seeding.root))
    result = world.run(download_id)
    assert result["skipped"].startswith("no wanted entry")
    with session_scope() as s:
        assert s.scalar(select(Import).where(Import.download_id == download_id)) is None
    assert world.folders() == [] and world.state.count("POST /api/libraries/{id}/scan") == 0


@dataclass(frozen=True)
class _Heard:
    name: str | None
    heard_text: str
    confident: bool


def _listener(monkeypatch: pytest.MonkeyPatch, answer: _Heard | None) -> list[tuple[Path, list[str]]]:
    calls: list[tuple[Path, list[str]]] = []

    def hear_narrator(first_audio_file: Path, names_in_play: NamesInPlay) -> _Heard | None:
        calls.append((first_audio_file, [*names_in_play.expected, *names_in_play.others]))
        return answer

    from shared.infra.settings import get_settings

    monkeypatch.setattr("workers.imports.narrator.hear_narrator", hear_narrator)
    monkeypatch.setenv("MAMC_IMPORT_LISTEN_NARRATOR", "true")
    get_settings.cache_clear()
    return calls


def test_the_listener_is_asked_with_the_names_in_play_and_a_wrong_name_rejects(
        import_world: ImportWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world = import_world
    calls = _listener(monkeypatch, _Heard("Tony Robinson", "narrated by tony robinson", True))
    wanted_id, download_id, seeding = grab(world, BOOK, 60)
    assert world.run(download_id)["verdict"] == "rejected"
    assert calls and calls[0][0].name == "The Colour of Magic.m4b"
    assert calls[0][1][:2] == ["Nigel Planer", "Tony Robinson"]
    assert "heard naming narrator Tony Robinson" in (the_import(download_id).reason or "")
    assert wanted_state(wanted_id) == "wanted"


def test_the_right_name_heard_or_nothing_heard_does_not_block(import_world: ImportWorld,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    world = import_world
    _listener(monkeypatch, _Heard("Nigel Planer", "narrated by nigel plainer", True))
    _, first, _ = grab(world, BOOK, 60)
    assert world.run(first)["verdict"] == "imported"
    assert the_import(first).figures["narrator"]["listened"]["status"] == "heard"
    _listener(monkeypatch, None)
    _, second, _ = grab(world, Book(title="Equal Rites", position="3", asin="B0015T9E4E"), 60, torrent_id=4343)
    assert world.run(second)["verdict"] == "imported"
    assert the_import(second).figures["narrator"]["listened"]["status"] == "not_heard"


def test_a_scan_that_never_lists_the_folder_fails_and_a_retry_finishes(import_world: ImportWorld,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    world = import_world
    lib = world.state.libraries[world.library_id]
    real, lib.disk_path = lib.disk_path, str(world.library.parent / "elsewhere")  # ABS looks in the wrong place
    monkeypatch.setenv("MAMC_IMPORT_SCAN_ATTEMPTS", "2")
    from shared.infra.settings import get_settings
    get_settings.cache_clear()
    wanted_id, download_id, _ = grab(world, BOOK, 60)
    with pytest.raises(ImportFailed, match="ABS did not list"):
        world.run(download_id)
    row = the_import(download_id)
    assert row.verdict == "failed"
    assert row.reason is not None and row.reason.startswith(f"ABS did not list {ABS_ROOT}/{FOLDER} after 2 scan(s)")
    assert row.scans == 2 and row.step == "placed" and world.state.count("POST /api/libraries/{id}/scan") == 2
    assert wanted_state(wanted_id) == "downloaded"
    lib.disk_path = real
    with session_scope() as s:
        records.retry(s, row.id, active_job=False)
    assert world.run(download_id)["verdict"] == "imported"
    again = the_import(download_id)
    assert again.runs == 2 and again.placement == "hardlink" and world.items() == 1 and world.patches() == 1
    assert wanted_state(wanted_id) == "imported"


def test_abs_unreachable_mid_import_is_noted_and_the_next_delivery_finishes(import_world: ImportWorld) -> None:
    world = import_world
    wanted_id, download_id, _ = grab(world, BOOK, 60)
    world.state.faults.fail_next("/api/items/*/media", 1, status=503, method="PATCH")
    with pytest.raises(UpstreamUnavailable):
        world.run(download_id)  # the pool would retry this job after a back-off
    row = the_import(download_id)
    assert row.verdict is None and row.step == "found" and row.patch_sent_at is not None
    assert row.error is not None and row.error.startswith("UpstreamUnavailable")
    assert world.run(download_id)["verdict"] == "imported"
    assert the_import(download_id).error is None and world.items() == 1 and wanted_state(wanted_id) == "imported"
