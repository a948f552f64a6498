"""Listening for the narrator, end to end on generated speech: ffmpeg -> PocketSphinx -> the match.

Books are made here (tests/fixtures/speech.py): festival's HTS voice ("slt") or diphone voice
("kal") says "<Title>, written by <Author>, narrated by <Narrator>.", then a minute of tone, noise
or a chord follows, encoded as .m4b or .mp3. Five name sets over both voices, three fillers and
both containers, so the check is not tuned to one example. Each verdict prints its wall time
(run with ``-s`` to see the figures per book).
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from shared.imports.narrator_match import NamesInPlay, NarratorHeard
from tests.fixtures.speech import Filler, credits, make_book, missing_tools
from workers.imports.listen import AudioDecodeError, decode_opening, hear_narrator

pytestmark = pytest.mark.slow

#: Generous: recognition stops at its 30 s budget; model load, decode and the last step add a few.
MAX_SECONDS = 90.0

DISCWORLD = ("Stephen Briggs", "Nigel Planer", "Tony Robinson")


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = missing_tools()
    if missing:
        pytest.fail(f"the narrator tests need these Debian packages: apt-get install {' '.join(missing)}")
    return tmp_path_factory.mktemp("books")


def book(folder: Path, name: str, *, intro: tuple[str, str, str] | None, voice: str = "slt",
         filler: Filler = "sine") -> Path:  # fmt: skip
    path = folder / name
    if not path.exists():
        make_book(path, intro=credits(*intro) if intro else None, voice=voice, filler=filler)
    return path


def cpu_seconds() -> float:
    """CPU time of this process (PocketSphinx runs in it) and of its finished children (ffmpeg)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def listen(path: Path, expected: str, *others: str) -> NarratorHeard:
    started, cpu_started = time.monotonic(), cpu_seconds()
    verdict = hear_narrator(path, NamesInPlay(expected=(expected,), candidates=others))
    wall, cpu = time.monotonic() - started, cpu_seconds() - cpu_started
    print(f"\n{path.name}: {verdict.outcome} {verdict.name!r} {verdict.confidence:.2f} [{verdict.heard_as}] "
          f"{verdict.seconds:.1f} s wall, {cpu:.1f} s CPU, for {verdict.audio_seconds:.0f} s of audio")  # fmt: skip
    assert verdict.seconds <= wall and verdict.seconds <= MAX_SECONDS
    return verdict


# (file, voice, filler, (title, author, narrator spoken), the other names in play)
HEARD_CASES = [
    ("guards-slt.m4b", "slt", "sine", ("Guards! Guards!", "Terry Pratchett", "Stephen Briggs"), DISCWORLD[1:]),
    ("guards-kal.m4b", "kal", "music", ("Guards! Guards!", "Terry Pratchett", "Stephen Briggs"), DISCWORLD[1:]),
    ("locke-slt.mp3", "slt", "noise", ("The Lies of Locke Lamora", "Scott Lynch", "Michael Page"),
     ("Steven Pacey", "Tim Gerard Reynolds")),
    ("season-kal.mp3", "kal", "sine", ("The Fifth Season", "N. K. Jemisin", "Robin Miles"),
     ("Mel Hudson", "Moira Quirk")),
    ("time-slt.m4b", "slt", "music", ("Children of Time", "Adrian Tchaikovsky", "Mel Hudson"),
     ("Robin Miles", "Kate Reading")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "voice", "filler", "intro", "others"), HEARD_CASES)
def test_the_spoken_narrator_is_heard(
    books: Path, name: str, voice: str, filler: Filler, intro: tuple[str, str, str], others: tuple[str, ...]
) -> None:
    spoken = intro[2]
    verdict = listen(book(books, name, intro=intro, voice=voice, filler=filler), spoken, *others)
    assert (verdict.outcome, verdict.name) == ("heard", spoken)
    assert verdict.confident and "narrat" in verdict.snippet
    # The answer settled on the credits: the rest of the minute was not transcribed.
    assert verdict.audio_seconds < 30


def test_another_narrator_in_play_is_a_mismatch_naming_them(books: Path) -> None:
    planer = book(books, "guards-planer-slt.m4b", intro=("Guards! Guards!", "Terry Pratchett", "Nigel Planer"))
    verdict = listen(planer, "Stephen Briggs", "Nigel Planer", "Tony Robinson")
    assert (verdict.outcome, verdict.name) == ("mismatch", "Nigel Planer")


def test_a_mismatch_in_the_other_voice(books: Path) -> None:
    page = book(books, "locke-kal.m4b", voice="kal", filler="noise",
                intro=("The Lies of Locke Lamora", "Scott Lynch", "Michael Page"))  # fmt: skip
    verdict = listen(page, "Steven Pacey", "Michael Page", "Tim Gerard Reynolds")
    assert (verdict.outcome, verdict.name) == ("mismatch", "Michael Page")


@pytest.mark.parametrize("filler", ["silence", "music"])  # noise is behind credits above
def test_no_credits_is_not_heard(books: Path, filler: Filler) -> None:
    verdict = listen(book(books, f"none-{filler}.m4b", intro=None, filler=filler), *DISCWORLD)
    assert verdict.outcome == "not_heard" and not verdict.confident
    if filler == "silence":
        assert verdict.reason == "silence"


@pytest.mark.parametrize(
    ("name", "voice", "intro"),
    [
        ("reading-slt.m4b", "slt", ("The Way of Kings", "Brandon Sanderson", "Kate Reading")),
        ("season-kal-b.m4b", "kal", ("The Fifth Season", "N. K. Jemisin", "Robin Miles")),
    ],
)
def test_a_narrator_not_in_play_is_not_heard_never_guessed(
    books: Path, name: str, voice: str, intro: tuple[str, str, str]
) -> None:
    verdict = listen(book(books, name, intro=intro, voice=voice), *DISCWORLD)
    assert verdict.outcome == "not_heard"
    assert verdict.reason in ("no_confident_name", "ambiguous")


def test_the_opening_is_piped_as_a_minute_of_16_khz_pcm_and_leaves_no_file(
    books: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = book(books, "guards-slt.m4b", intro=("Guards! Guards!", "Terry Pratchett", "Stephen Briggs"))
    before = set(books.iterdir())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where ffmpeg or PocketSphinx would put a temp file
    monkeypatch.chdir(scratch)
    pcm = decode_opening(path)
    assert len(pcm) == 60 * 16_000 * 2  # the book is longer than a minute: exactly the opening
    assert hear_narrator(path, NamesInPlay(expected=DISCWORLD[:1], candidates=DISCWORLD[1:])).outcome == "heard"
    assert set(books.iterdir()) == before and not any(scratch.iterdir())


def test_an_undecodable_file_raises_with_ffmpegs_reason(tmp_path: Path) -> None:
    broken = tmp_path / "-broken: name.m4b"
    broken.write_bytes(b"not audio at all" * 100)
    with pytest.raises(AudioDecodeError, match="could not decode -broken: name.m4b"):
        decode_opening(broken)
