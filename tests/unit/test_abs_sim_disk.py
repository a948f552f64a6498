"""The ABS simulator's scan of a library folder on disk (tests/sims/abs_disk.py) behaves as ABS's
source says: grouping, folder-name parsing (the reference's own examples), metadata precedence with
``metadata.json`` on top, identity by path then folder inode, missing folders flagged not deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.audio import make_m4b
from tests.sims.abs import AbsState
from tests.sims.abs_disk import folder_metadata, group, json_metadata, parse_names, walk


def test_grouping_folds_cd_folders_and_keeps_root_files() -> None:
    paths = ["A/B/Book/CD1/01.mp3", "A/B/Book/CD2/01.mp3", "A/B/Book/cover.jpg", "A/Other/x.m4b",
             "A/Other/notes.txt", "single.m4b", "readme.txt", "A/B/NoMedia/cover.jpg"]
    assert group(paths) == {"A/B/Book": ["CD1/01.mp3", "CD2/01.mp3", "cover.jpg"],
                            "A/Other": ["x.m4b", "notes.txt"], "single.m4b": ["single.m4b"]}


def test_walk_skips_what_abs_ignores(tmp_path: Path) -> None:
    for rel in ("A/Book/a.m4b", "A/Book/.a.m4b.mamc-part", "A/.hidden/b.m4b", "A/Book/c.m4b.part",
                "A/Skip/d.m4b", "A/Skip/.ignore", "A/@eaDir/e.m4b"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert walk(tmp_path) == ["A/Book/a.m4b"]


@pytest.mark.parametrize(("rel", "expected"), [
    ("Terry Pratchett/Discworld/Vol 1 - 1983 - The Colour of Magic {Nigel Planer} [B0015T963C]",
     {"title": "The Colour of Magic", "authors": ["Terry Pratchett"], "narrators": ["Nigel Planer"],
      "series": [("Discworld", "1")], "publishedYear": "1983", "asin": "B0015T963C"}),
    ("Terry Pratchett/Book 1 - The Colour of Magic",
     {"title": "Book 1 - The Colour of Magic", "authors": ["Terry Pratchett"], "narrators": [], "series": [],
      "publishedYear": None, "asin": None}),
    ("Smith, John & Doe, Jane/Series X/0.5 - Prequel",
     {"title": "Prequel", "authors": ["John Smith", "Jane Doe"], "narrators": [], "series": [("Series X", "0.5")],
      "publishedYear": None, "asin": None}),
    ("A/S/101 Dalmatians", {"title": "101 Dalmatians", "authors": ["A"], "narrators": [], "series": [("S", None)],
                            "publishedYear": None, "asin": None}),
])
def test_folder_names_parse_as_abs_parses_them(rel: str, expected: dict[str, object]) -> None:
    assert folder_metadata(rel) == expected


def test_names_from_tags_are_split_on_commas() -> None:
    assert parse_names("Martin Smith, Jr.") == ["Martin Smith", "Jr."]
    assert parse_names("Pratchett, Terry") == ["Terry Pratchett"]
    assert parse_names("Kate Reading & Michael Kramer") == ["Kate Reading", "Michael Kramer"]


def test_metadata_json_is_read_with_abs_types() -> None:
    text = json.dumps({"title": 12, "authors": ["A", "", " B "], "series": ["Disc #2.5", "Plain"], "explicit": "true",
                       "narrators": [], "tags": [], "asin": None, "genres": "nope", "chapters": []})
    assert json_metadata(text) == {"title": "12", "authors": ["A", "B"], "series": [("Disc", "2.5"), ("Plain", None)],
                                   "explicit": True, "narrators": []}
    assert json_metadata("{not json") == {}


@pytest.fixture
def disk_abs(tmp_path: Path) -> tuple[AbsState, str, Path]:
    state = AbsState()
    state.add_api_key("t")
    lib = state.add_library("Books", folder_path="/audiobooks", disk_path=str(tmp_path))
    return state, lib.id, tmp_path


def scan(state: AbsState, library_id: str) -> None:
    assert state.start_library_scan(library_id)
    state.finish_scans()


def test_a_scan_adds_a_folder_with_metadata_json_above_tags_above_the_folder_name(
        disk_abs: tuple[AbsState, str, Path]) -> None:
    state, lib, root = disk_abs
    folder = root / "Wrong Author/Wrong Series/Vol 9 - Wrong Title {Wrong Reader}"
    make_m4b(folder / "a.m4b", 3, title="Tag Title", artist="Tag Author", composer="Tag Reader")
    scan(state, lib)
    (item,) = state.items_in(lib)
    assert (item.title, item.narrators) == ("Tag Title", ("Tag Reader",)), "tags beat the folder name"
    assert [state.series[s].name for s, _ in item.series] == ["Wrong Series"]
    other = root / "X/Y/Other"
    make_m4b(other / "a.m4b", 3, title="Tag Title", artist="Martin Smith, Jr.")
    (other / "metadata.json").write_text(json.dumps({"title": "Json Title", "authors": ["Martin Smith, Jr."],
                                                     "series": ["Json Series #4"], "asin": "B000000001"}))
    scan(state, lib)
    added = next(i for i in state.items_in(lib) if i.rel_path == "X/Y/Other")
    assert added.title == "Json Title" and added.asin == "B000000001"
    assert [state.authors[a].name for a in added.author_ids] == ["Martin Smith, Jr."], "kept whole by the json"
    assert [(state.series[s].name, q) for s, q in added.series] == [("Json Series", "4")]
    assert abs(added.duration - 3) < 0.2 and added.n_files == 1
    assert {f.file_type for f in added.files} == {"audio", "metadata"}
    assert added.ino == str((root / "X/Y/Other").stat().st_ino)


def test_identity_is_the_path_then_the_folder_inode_and_missing_is_flagged(
        disk_abs: tuple[AbsState, str, Path]) -> None:
    state, lib, root = disk_abs
    make_m4b(root / "A/Book/a.m4b", 2, title="Book")
    scan(state, lib)
    scan(state, lib)
    (item,) = state.items_in(lib)
    assert state.scan_results[-1].added == [] and state.scan_results[-1].updated == []
    (root / "A/Book").rename(root / "A/Moved")
    scan(state, lib)
    assert state.items_in(lib) == [item] and item.rel_path == "A/Moved", "a move keeps the item (same inode)"
    (root / "A/Moved/a.m4b").unlink()
    scan(state, lib)
    assert item.is_missing and state.items_in(lib) == [item]
    make_m4b(root / "A/Moved/a.m4b", 2, title="Book")
    scan(state, lib)
    assert not item.is_missing and len(state.items_in(lib)) == 1
