"""Listen to the opening minute of a book for "narrated by <name>", offline.

Many audiobooks open with their credits, and the narrator named there is the best evidence of
which recording a download is: tags and torrent descriptions are often copied from another
edition. ffmpeg decodes the opening minute to 16 kHz mono PCM through a pipe (no temporary file),
PocketSphinx (its PyPI wheel ships the en-us acoustic model, language model and dictionary, so
nothing is fetched at run time) transcribes it, and :mod:`shared.imports.narrator_match` decides
among the names in play. Recognition is rough; the decision is made there, by similarity.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pocketsphinx import Decoder

from shared.imports.narrator_match import NamesInPlay, NarratorHeard, decide

__all__ = ["AudioDecodeError", "ListenError", "Transcript", "decode_opening", "hear_narrator", "transcribe"]

#: The credits come first; a minute covers a publisher's jingle before them.
OPENING_SECONDS = 60.0
#: PocketSphinx's en-us model is trained on 16 kHz audio.
SAMPLE_RATE = 16_000
_BYTES_PER_SECOND = SAMPLE_RATE * 2  # s16le mono
#: Wall-clock cap on recognition. Speech and silence go at a fraction of real time, but a steady
#: tone or some music after the credits can make PocketSphinx's search crawl; whatever was
#: transcribed by then is judged (the credits come first).
RECOGNITION_BUDGET = 30.0
_CHUNK_BYTES = _BYTES_PER_SECOND
#: Peak level (of 32767) under which a second is digital silence: about -54 dBFS.
_SILENCE_PEAK = 64
#: The same answer on this many one-second steps in a row ends listening: the name is complete.
_SETTLE_CHUNKS = 3
#: Decoding a minute takes well under a second; this only bounds a hung ffmpeg.
_FFMPEG_TIMEOUT = 120.0


class ListenError(RuntimeError):
    """Listening could not happen (no ffmpeg): a set-up problem, not evidence about the file."""


class AudioDecodeError(ListenError):
    """ffmpeg could not decode the file's first audio stream (the message carries its stderr)."""


def decode_opening(audio_file: Path, seconds: float = OPENING_SECONDS) -> bytes:
    """The first ``seconds`` of the first audio stream as 16 kHz mono signed 16-bit PCM."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ListenError("ffmpeg is not installed: the narrator check needs it to decode audio")
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-t", f"{seconds:g}",            # an input option: read no more than the opening
        "-i", f"file:{audio_file}",      # file: so a name starting with "-" or holding ":" is a path
        "-map", "0:a:0", "-vn",
        "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=_FFMPEG_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AudioDecodeError(f"ffmpeg took over {_FFMPEG_TIMEOUT:g} s on {audio_file.name}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise AudioDecodeError(f"ffmpeg could not decode {audio_file.name}: {' | '.join(detail)}")
    return done.stdout


@dataclass(frozen=True, slots=True)
class Transcript:
    """What the recogniser wrote, how much audio it heard, and why it stopped there.

    ``stopped``: ``end`` (all the audio), ``settled`` (an answer held for :data:`_SETTLE_CHUNKS`
    chunks in a row), ``budget`` (the wall-clock budget ran out).
    """

    text: str
    audio_seconds: float
    stopped: Literal["end", "settled", "budget"]


def transcribe(
    pcm: bytes,
    *,
    budget_seconds: float = RECOGNITION_BUDGET,
    settled: Callable[[str], Hashable | None] | None = None,
) -> Transcript:
    """PocketSphinx's best hypothesis for 16 kHz mono s16le ``pcm`` ("" for silence).

    The audio is fed as a stream, one second at a time (seconds of digital silence skipped), not
    as one buffer: given the whole minute at once, PocketSphinx normalises the spoken credits
    against the music that follows them, mishears them, and takes many times longer. After each
    second ``settled(partial_text)`` may name an answer; once the same answer comes
    :data:`_SETTLE_CHUNKS` times in a row the rest is not transcribed. ``audio_seconds`` is how far
    into the audio listening went. A decoder per call: loading the model takes under a second.
    """
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    started = time.monotonic()
    stopped: Literal["end", "settled", "budget"] = "end"
    fed, answer, repeats = 0, None, 0
    decoder.start_utt()
    while fed < len(pcm):
        chunk = pcm[fed : fed + _CHUNK_BYTES]
        fed += len(chunk)
        if _is_silent(chunk):
            continue
        decoder.process_raw(chunk, full_utt=False)
        if time.monotonic() - started > budget_seconds:
            stopped = "budget"
            break
        if settled is not None:
            partial = decoder.hyp()
            current = settled(str(partial.hypstr)) if partial is not None else None
            repeats = repeats + 1 if current is not None and current == answer else int(current is not None)
            answer = current
            if repeats >= _SETTLE_CHUNKS:
                stopped = "settled"
                break
    decoder.end_utt()
    hypothesis = decoder.hyp()
    text = str(hypothesis.hypstr) if hypothesis is not None else ""
    return Transcript(text, fed / _BYTES_PER_SECOND, stopped)


def _is_silent(chunk: bytes) -> bool:
    """No sample louder than :data:`_SILENCE_PEAK`: nothing to hear, so it is not fed at all.

    Digital silence (padding, generated gaps) is not only empty but slow: PocketSphinx's search
    gets no grip on it. A quiet room's noise floor is well above this and is transcribed.
    """
    samples = array("h")
    samples.frombytes(chunk[: len(chunk) - len(chunk) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return not samples or max(max(samples), -min(samples)) <= _SILENCE_PEAK


def _answer(names_in_play: NamesInPlay) -> Callable[[str], Hashable | None]:
    def answer(text: str) -> Hashable | None:
        verdict = decide(text, names_in_play)
        return None if verdict.outcome == "not_heard" else (verdict.outcome, verdict.name)

    return answer


def hear_narrator(
    audio_file: Path, names_in_play: NamesInPlay, *, budget_seconds: float = RECOGNITION_BUDGET
) -> NarratorHeard:
    """Which narrator in play the opening of ``audio_file`` names: heard, mismatch or not_heard.

    ``seconds`` on the result is the whole wall time (decode, model load, recognition, match);
    ``audio_seconds`` how far into the file it listened (less than a minute when the answer
    settled early or the budget ran out). Raises :class:`ListenError` when listening is impossible;
    callers record that as "not heard" (it never blocks an import on its own).
    """
    started = time.monotonic()
    pcm = decode_opening(audio_file)
    transcript = transcribe(pcm, budget_seconds=budget_seconds, settled=_answer(names_in_play))
    verdict = decide(transcript.text, names_in_play)
    return replace(verdict, seconds=time.monotonic() - started, audio_seconds=transcript.audio_seconds)
