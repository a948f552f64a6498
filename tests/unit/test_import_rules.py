"""The import domain's pure rules: the folder template and its names, path mappings, the verdict on
probe figures (tolerance, decoding, narrator tags), the listener's answer, metadata.json, ffprobe's
JSON, and the scan-and-wait loop (a fake ABS)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pytest

from shared.imports.book import BookFacts
from shared.imports.narrator import read_answer
from shared.imports.paths import PathMappings, map_path
from shared.imports.template import DEFAULT_TEMPLATE, FolderFields, check_template, render, sanitize_name
from shared.imports.verify import Expectation, FileProbe, NarratorCheck, judge, tag_narrators
from workers.imports.abs_steps import ScanPlan, check_item, library_for, wait_for_item
from workers.imports.probe import _decoded_seconds, parse_probe
from workers.library.abs_models import AbsItem, AbsLibrary, AbsListEntry

COLOUR = FolderFields(title="The Colour of Magic", authors=("Terry Pratchett",), series="Discworld", position="1",
                      year="1983", narrators=("Nigel Planer",), asin="B0015T963C")


# -- the folder template ---------------------------------------------------------------------------


def test_the_default_template_is_abs_own_layout() -> None:
    assert str(render(DEFAULT_TEMPLATE, COLOUR)) == (
        "Terry Pratchett/Discworld/Vol 1 - 1983 - The Colour of Magic {Nigel Planer} [B0015T963C]")


@pytest.mark.parametrize(("fields", "expected"), [
    (FolderFields(title="Mort", authors=("Terry Pratchett",)), "Terry Pratchett/Mort"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), year="1987"), "Terry Pratchett/1987 - Mort"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), series="Discworld"), "Terry Pratchett/Discworld/Mort"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), position="4"), "Terry Pratchett/Mort"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), narrators=("Nigel Planer",)),
     "Terry Pratchett/Mort {Nigel Planer}"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), asin="b0015t963c"), "Terry Pratchett/Mort [B0015T963C]"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), asin="not-an-asin"), "Terry Pratchett/Mort"),
    (FolderFields(title="Mort"), "Mort"),
    (FolderFields(title="Good Omens", authors=("Terry Pratchett", "Neil Gaiman")),
     "Terry Pratchett & Neil Gaiman/Good Omens"),
    (FolderFields(title="Mort", authors=("Terry Pratchett",), series="Discworld", position="4", year="19x7"),
     "Terry Pratchett/Discworld/Vol 4 - Mort"),
])
def test_empty_parts_collapse_cleanly(fields: FolderFields, expected: str) -> None:
    assert str(render(DEFAULT_TEMPLATE, fields)) == expected


@pytest.mark.parametrize(("raw", "safe"), [
    ("Dune: Part One", "Dune - Part One"),
    ("AC/DC\\Live", "AC-DC-Live"),
    ('Say "Hi" <now>?*|', "Say 'Hi' now-"),
    ("Tab\tand\nnew\x07line", "Tab and new line"),
    ("A [bracketed] {braced} title", "A (bracketed) (braced) title"),
    ("Cafe\u0301", "Café"),  # NFD (macOS) becomes NFC
    ("  many    spaces  ", "many spaces"),
])
def test_values_are_sanitised_for_every_filesystem(raw: str, safe: str) -> None:
    assert sanitize_name(raw) == safe


def test_names_no_filesystem_refuses() -> None:
    path = render(DEFAULT_TEMPLATE, FolderFields(title="...Hidden. ", authors=("CON",), series="aux.txt"))
    assert path.parts == ("CON_", "aux.txt_", "Hidden")
    for part in render(DEFAULT_TEMPLATE, FolderFields(title="What? Why: How*", authors=("A|B",))).parts:
        assert not set(part) & set('<>:"/\\|?*') and part == part.strip(" .")


def test_a_long_title_is_shortened_to_fit_and_keeps_the_markers() -> None:
    fields = FolderFields(title="Ünïcödé " * 60, authors=("Terry Pratchett",), series="Discworld", position="1",
                          narrators=("Nigel Planer",), asin="B0015T963C")
    leaf = render(DEFAULT_TEMPLATE, fields, max_bytes=120).parts[-1]
    assert len(leaf.encode()) <= 120
    assert leaf.startswith("Vol 1 - Ünïcödé") and leaf.endswith("{Nigel Planer} [B0015T963C]")


@pytest.mark.parametrize(("template", "message"), [
    ("{author}/{nope}", "unknown field {nope}"),
    ("/{author}/{title}", "must not start with /"),
    ("{author}//{title}", "empty"),
    ("{author}/../{title}", "'..'"),
    ("{author}", "must name {title}"),
    ("{author}/{title:>10}", "no format specs"),
    ("{author}/{title}?", "not allowed"),
    ("", "empty"),
])
def test_bad_templates_are_refused_at_start_up(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}").replace("?", r"\?")
                       .replace("..", r"\.\.").replace("/", "/")):
        check_template(template)


def test_a_custom_template() -> None:
    path = render("Audiobooks/{author}/{title} ({year})", FolderFields(title="Mort", authors=("T P",)))
    assert path == PurePosixPath("Audiobooks/T P/Mort")


# -- path mappings ---------------------------------------------------------------------------------


def test_the_longest_whole_component_prefix_maps() -> None:
    pairs = [("/downloads", "/srv/dl"), ("/downloads/audio", "/mnt/audio")]
    assert map_path("/downloads/x/y.m4b", pairs) == "/srv/dl/x/y.m4b"
    assert map_path("/downloads/audio/book", pairs) == "/mnt/audio/book"
    assert map_path("/downloads", pairs) == "/srv/dl"
    assert map_path("/downloads2/x", pairs) == "/downloads2/x", "only whole path components match"
    assert map_path("/elsewhere/x", pairs) == "/elsewhere/x"


def test_path_mappings_from_the_settings_shape() -> None:
    m = PathMappings.model_validate(json.loads(
        '{"qbit_to_worker": [["/downloads/", "/srv/downloads"]], "worker_to_abs": [["/srv/library", "/audiobooks"]]}'))
    assert m.worker_path("/downloads/Book/a.m4b") == "/srv/downloads/Book/a.m4b"
    assert m.abs_path("/srv/library/Author/Book") == "/audiobooks/Author/Book"
    with pytest.raises(ValueError, match="absolute"):
        PathMappings.model_validate({"qbit_to_worker": [["downloads", "/srv"]]})
    with pytest.raises(ValueError):
        PathMappings.model_validate({"qbit_to_abs": []})


# -- the verdict on probe figures ------------------------------------------------------------------

NOT_CHECKED = NarratorCheck("not_checked")


def audio(path: str, duration: float | None, **kw: object) -> FileProbe:
    return FileProbe(path, 1000, audio=True, duration=duration, codec="aac", bitrate=64000, channels=2,
                     **kw)  # type: ignore[arg-type]


def expect(runtime: float | None = 3600.0, tolerance: float = 0.03, narrators: tuple[str, ...] = (),
           authors: tuple[str, ...] = ("Terry Pratchett",)) -> Expectation:
    return Expectation(runtime_seconds=runtime, tolerance=tolerance, narrators=narrators, authors=authors)


@pytest.mark.parametrize(("total", "passes"), [(3600, True), (3708, True), (3492, True), (3709, False),
                                               (3491, False), (2880, False), (4320, False)])
def test_the_duration_tolerance_is_relative_to_the_expected_runtime(total: float, passes: bool) -> None:
    verdict = judge([audio("a.m4b", total / 2), audio("b.m4b", total / 2)], expect(), NOT_CHECKED)
    assert verdict.passed is passes, verdict.failures
    assert verdict.figures["total_seconds"] == pytest.approx(total)
    assert verdict.figures["deviation"] == pytest.approx((total - 3600) / 3600, abs=1e-4)


def test_the_reason_gives_the_figures() -> None:
    verdict = judge([audio("a.m4b", 2880)], expect(), NOT_CHECKED)
    assert verdict.reason == ("runs 0:48:00, -20.0% from the expected 1:00:00 (tolerance ±3%): another recording "
                              "or an abridged edition")


def test_an_unknown_runtime_checks_nothing_about_duration() -> None:
    verdict = judge([audio("a.m4b", 10)], expect(runtime=None), NOT_CHECKED)
    assert verdict.passed and verdict.figures["deviation"] is None


def test_no_audio_or_a_broken_file_fails() -> None:
    assert judge([FileProbe("cover.jpg", 10, audio=False)], expect(), NOT_CHECKED).failures == (
        "no audio file among 1 file(s)",)
    broken = judge([audio("a.mp3", 1800), audio("b.mp3", None, decodes=False, error="moov atom not found")],
                   expect(), NOT_CHECKED)
    assert broken.failures == ("b.mp3 does not decode: moov atom not found",), "no duration verdict on half a book"
    unmeasured = judge([audio("a.mp3", None)], expect(), NOT_CHECKED)
    assert unmeasured.failures == ("no duration for a.mp3",)


def test_narrator_tags() -> None:
    assert tag_narrators({"composer": "Stephen Briggs"}) == ("Stephen Briggs",)
    assert tag_narrators({"narrator": "Narrated by: Kate Reading & Michael Kramer"}) == ("Kate Reading",
                                                                                        "Michael Kramer")
    assert tag_narrators({"composer": "Briggs, Stephen"}) == ("Briggs, Stephen",), "Last, First is one person"
    assert tag_narrators({"artist": "Terry Pratchett"}) == (), "the artist is the author"


@pytest.mark.parametrize(("tags", "chosen", "passes"), [
    ({"composer": "Nigel Planer"}, ("Nigel Planer",), True),
    ({"composer": "Planer, Nigel"}, ("Nigel Planer",), True),
    ({"composer": "Tony Robinson"}, ("Nigel Planer",), False),
    ({"composer": "Tony Robinson"}, (), True),  # nothing chosen: nothing to compare
    ({}, ("Nigel Planer",), True),  # the files say nothing
    ({"composer": "Terry Pratchett"}, ("Nigel Planer",), True),  # the author in composer is ignored
    ({"composer": "Nigel Planer; Tony Robinson"}, ("Tony Robinson",), True),  # one of them is the chosen one
])
def test_the_narrator_tag_against_the_chosen_narrator(tags: dict[str, str], chosen: tuple[str, ...],
                                                      passes: bool) -> None:
    verdict = judge([audio("a.m4b", 3600, tags=tags)], expect(narrators=chosen), NOT_CHECKED)
    assert verdict.passed is passes, verdict.failures


class _Answer:
    def __init__(self, name: str | None, confident: bool = True, text: str = "narrated by someone") -> None:
        self.name, self.confident, self.heard_text = name, confident, text


def test_the_listeners_answer() -> None:
    chosen = ("Stephen Briggs",)
    assert read_answer(_Answer("Stephen Briggs"), chosen, 1.2).status == "heard"
    assert read_answer(_Answer("Tony Robinson"), chosen, 1.2).status == "mismatch"
    assert read_answer(_Answer("Tony Robinson", confident=False), chosen, 1.2).status == "not_heard"
    assert read_answer(None, chosen, 0.9).status == "not_heard"
    assert read_answer(_Answer(None), chosen, 0.9).status == "not_heard"
    mismatch = judge([audio("a.m4b", 3600)], expect(narrators=chosen),
                     read_answer(_Answer("Tony Robinson", text="narrated by tony robinson"), chosen, 1.0))
    assert not mismatch.passed and "heard naming narrator Tony Robinson" in (mismatch.reason or "")


# -- metadata.json and the PATCH -------------------------------------------------------------------


def test_metadata_json_is_abs_format_and_leaves_empty_values_out() -> None:
    full = BookFacts(title="Mort", authors=("Martin Smith, Jr.",), narrators=("Nigel Planer",), series="Discworld",
                     position="4", year="1987", asin="B0015T963C")
    assert json.loads(full.metadata_text()) == {"title": "Mort", "authors": ["Martin Smith, Jr."],
                                                "narrators": ["Nigel Planer"], "series": ["Discworld #4"],
                                                "publishedYear": "1987", "asin": "B0015T963C"}
    assert full.metadata_text().startswith('{\n  "title": "Mort"')
    bare = BookFacts(title="Mort")
    assert bare.metadata_json() == {"title": "Mort"}, "no empty narrators/series: ABS would clear the tags' values"
    odd = BookFacts(title="Mort", series="Discworld", position="Book 4")
    assert odd.metadata_json()["series"] == ["Discworld"], "a sequence ABS could not split is left to the PATCH"
    assert odd.patch_fields()["series"] == [("Discworld", "Book 4")]


def test_patch_fields_are_what_the_client_accepts() -> None:
    from workers.library.abs_models import MediaPatch

    fields = BookFacts(title="Mort", authors=("Terry Pratchett",), narrators=("Nigel Planer",), series="Discworld",
                       position="2.5", year="1987", asin="B0015T963C").patch_fields()
    body = MediaPatch.from_fields(json.loads(json.dumps(fields))).payload()  # as stored in the import row
    assert body == {"metadata": {"title": "Mort", "publishedYear": "1987", "asin": "B0015T963C",
                                 "narrators": ["Nigel Planer"], "authors": [{"name": "Terry Pratchett"}],
                                 "series": [{"name": "Discworld", "sequence": "2.5"}]}}


# -- ffprobe's JSON --------------------------------------------------------------------------------


def test_ffprobe_json_is_parsed_defensively() -> None:
    good = parse_probe("a.m4b", 10, {
        "streams": [{"codec_type": "video", "codec_name": "mjpeg"},
                    {"codec_type": "audio", "codec_name": "aac", "channels": 2, "bit_rate": "64000",
                     "tags": {"language": "eng"}}],
        "format": {"duration": "3600.500000", "bit_rate": "N/A", "format_long_name": "QuickTime / MOV",
                   "tags": {"ARTIST": "Terry Pratchett", "Composer": "Nigel Planer", "bad": None}}})
    assert (good.codec, good.channels, good.bitrate, good.duration, good.format) == ("aac", 2, 64000, 3600.5,
                                                                                     "QuickTime / MOV")
    assert good.tags == {"artist": "Terry Pratchett", "composer": "Nigel Planer", "language": "eng"}
    none = parse_probe("a.mp3", 10, {"format": {"duration": "N/A"}, "streams": []})
    assert not none.decodes and none.error == "no audio stream"
    assert not parse_probe("a.mp3", 10, "garbage").decodes
    odd = parse_probe("a.mp3", 10, {"streams": [{"codec_type": "audio", "duration": "12.5", "channels": "x"}],
                                    "format": {"duration": "nan"}})
    assert odd.duration == 12.5 and odd.channels is None


def test_ffmpeg_progress_is_read() -> None:
    assert _decoded_seconds("out_time_us=1000\nprogress=continue\nout_time_us=5000000\nprogress=end\n") == 5.0
    assert _decoded_seconds("progress=end\n") == 0.0
    assert _decoded_seconds("out_time_us=N/A\n") == 0.0


# -- finding the library and waiting for the scan --------------------------------------------------


def lib(library_id: str, *folders: str, media: str = "book") -> AbsLibrary:
    return AbsLibrary(id=library_id, name=library_id, media_type=media, display_order=1, folders=folders,
                      last_scan=None)


def test_the_library_holding_the_folder() -> None:
    libs = [lib("pods", "/audiobooks", media="podcast"), lib("all", "/audiobooks"), lib("kids", "/audiobooks/kids")]
    assert library_for(libs, "/audiobooks/kids/A/B").id == "kids"
    assert library_for(libs, "/audiobooks/A/B").id == "all"
    with pytest.raises(Exception, match="no book library with a folder holding /srv/x"):
        library_for(libs, "/srv/x")


def entry(path: str) -> AbsListEntry:
    return AbsListEntry(id="li-" + path[-1], library_id="lib", ino="1", path=path, rel_path="", media_type="book",
                        added_at=1, updated_at=1, is_missing=False, is_invalid=False, is_file=False, title=None,
                        size=None, duration_seconds=60.0)


@dataclass
class FakeAbs:
    """A scan lists the folder after ``polls_per_scan`` task polls, from scan number ``lists_from``."""

    polls_per_scan: int = 2
    lists_from: int = 1
    scans: int = 0
    running: int = 0
    listed: bool = False
    calls: list[str] = field(default_factory=list)

    def scan_library(self, library_id: str) -> None:
        self.calls.append("scan")
        self.scans += 1
        self.running = self.polls_per_scan

    def scan_running(self, library_id: str) -> bool:
        self.calls.append("tasks")
        self.running -= 1
        if self.running <= 0 and self.scans >= self.lists_from:
            self.listed = True
        return self.running > 0

    def newest_items(self, library_id: str, *, limit: int = 100, page: int = 0) -> list[AbsListEntry]:
        self.calls.append("items")
        return [entry("/audiobooks/other"), *([entry("/audiobooks/A/B")] if self.listed else [])]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_waiting_backs_off_and_looks_for_the_folder_once_the_scan_is_over() -> None:
    abs_, clock, noted = FakeAbs(polls_per_scan=4), Clock(), []
    out = wait_for_item(abs_, "lib", "/audiobooks/A/B", ScanPlan(timeout=600, poll=1, attempts=3),  # type: ignore[arg-type]
                        noted.append, sleep=clock.sleep, clock=clock)
    assert out.item is not None and out.item.path == "/audiobooks/A/B" and out.scans == 1 and noted == [1]
    assert clock.sleeps == [1, 2, 4, 8], "doubling"
    assert abs_.calls == ["items", "scan", "tasks", "tasks", "tasks", "tasks", "items"]


def test_a_scan_without_the_folder_is_asked_for_again_then_given_up() -> None:
    abs_, clock, noted = FakeAbs(polls_per_scan=1, lists_from=2), Clock(), []
    out = wait_for_item(abs_, "lib", "/audiobooks/A/B", ScanPlan(timeout=600, poll=1, attempts=3),  # type: ignore[arg-type]
                        noted.append, sleep=clock.sleep, clock=clock)
    assert out.item is not None and out.scans == 2 and noted == [1, 2]
    never, clock2 = FakeAbs(polls_per_scan=1, lists_from=99), Clock()
    gave_up = wait_for_item(never, "lib", "/audiobooks/A/B", ScanPlan(timeout=600, poll=1, attempts=3),  # type: ignore[arg-type]
                            lambda n: None, sleep=clock2.sleep, clock=clock2)
    assert gave_up.item is None and gave_up.scans == 3 and never.scans == 3


def test_the_deadline_bounds_the_wait_and_a_killed_runs_scans_count() -> None:
    slow, clock = FakeAbs(polls_per_scan=10_000), Clock()
    out = wait_for_item(slow, "lib", "/audiobooks/A/B", ScanPlan(timeout=100, poll=1, attempts=3),  # type: ignore[arg-type]
                        lambda n: None, sleep=clock.sleep, clock=clock)
    assert out.item is None and clock.now == pytest.approx(100) and max(clock.sleeps) <= 30
    done_before = FakeAbs(polls_per_scan=1)
    spent = wait_for_item(done_before, "lib", "/audiobooks/A/B",  # type: ignore[arg-type]
                          ScanPlan(timeout=100, poll=1, attempts=3, scans_done=3), lambda n: None,
                          sleep=Clock().sleep, clock=Clock())
    assert spent.item is None and done_before.scans == 0, "an earlier run used every scan"


def test_an_item_already_listed_needs_no_scan() -> None:
    there = FakeAbs(listed=True)
    out = wait_for_item(there, "lib", "/audiobooks/A/B", ScanPlan(timeout=10, poll=1, attempts=3),  # type: ignore[arg-type]
                        lambda n: None, sleep=Clock().sleep, clock=Clock())
    assert out.item is not None and there.calls == ["items"]


def item(duration: float | None, *, missing: bool = False, asin: str | None = None) -> AbsItem:
    return AbsItem(id="li-1", library_id="lib", ino="1", path="/audiobooks/A/B", rel_path="A/B", media_type="book",
                   added_at=1, updated_at=1, is_missing=missing, is_invalid=False, is_file=False, title="B",
                   subtitle=None, authors=(), series=(), narrators=(), genres=(), tags=(), published_year=None,
                   published_date=None, publisher=None, description=None, abridged=False, explicit=False,
                   duration_seconds=duration, asin=asin, isbn=None, language=None, size=None, audio_files=())


def test_the_item_check() -> None:
    ok = check_item(item(3600.0, asin="B000000000"), duration=3602.0, asin="B0015T963C")
    assert ok.problems == () and ok.figures["asin"] == "B000000000", "an ASIN is written by the PATCH, not a failure"
    assert "ABS reports a duration of 1800.0 s" in check_item(item(1800.0), duration=3600.0, asin=None).problems[0]
    assert check_item(item(None), duration=3600.0, asin=None).problems
    assert "missing" in check_item(item(3600.0, missing=True), duration=3600.0, asin=None).problems[0]
