"""Is the download the recording we chose? The verdict on ffprobe's figures, with the reasons.

The worker probes every file (``workers/imports/probe.py``); this module judges the figures, so the
rules are tested without audio. A download fails when:

- it holds no audio file, or a file does not decode (ffmpeg reports an error on a sample of it);
- its total duration is further than ``tolerance`` (``MAMC_IMPORT_DURATION_TOLERANCE``, 3 %) from
  the runtime metadata expects, when that is known: the one check that catches an abridged
  edition or another recording (the original project's lesson);
- the files name a narrator (tags ``narrator``, ``composer``, ``performer``… of the first audio
  file, as ABS reads them) who is not the one chosen;
- the narrator was *heard* (``workers/imports/listen.py``) saying another name with confidence.

Who "the one chosen" is: the narrators the chosen MAM torrent lists (the choice weighed them
against the member's preference and took them), else the narrators metadata expects. A tag that
names one of the book's authors is ignored: rips often put the author in ``composer``, and
rejecting those would reject good books.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.names import names_agree

__all__ = ["AUDIO_EXTENSIONS", "Expectation", "FileProbe", "NarratorCheck", "Verification", "judge",
           "tag_narrators"]

#: What ABS counts as audio (``globals.SupportedAudioTypes``): only these are probed and timed.
AUDIO_EXTENSIONS = frozenset({"m4b", "mp3", "m4a", "flac", "opus", "ogg", "oga", "mp4", "aac", "wma", "aiff", "aif",
                              "wav", "webm", "webma", "mka", "awb", "caf", "mpeg", "mpg"})
#: Tags that name a narrator (lower case; ffprobe keeps the container's spelling, we fold it).
NARRATOR_TAGS = ("narrator", "narrated_by", "narratedby", "reader", "performer", "composer")
#: Names agreeing at least this much are one person (the edition choice uses the same bar).
SAME_PERSON = 0.85

_SPLIT = re.compile(r"\s*(?:;|&|/|\band\b)\s*", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*(?:narrated|read|performed)\s+by\s*:?\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FileProbe:
    """One file of the download as ffprobe saw it (``path`` relative to the download's root)."""

    path: str
    size: int
    audio: bool
    decodes: bool = True
    error: str | None = None
    codec: str | None = None
    bitrate: int | None = None  # bit/s
    channels: int | None = None
    duration: float | None = None  # seconds
    format: str | None = None  # ffprobe's format_long_name, as ABS shows it
    tags: Mapping[str, str] = field(default_factory=dict)  # lower-case keys

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size, "audio": self.audio}
        if self.audio:
            out |= {"decodes": self.decodes, "error": self.error, "codec": self.codec, "bitrate": self.bitrate,
                    "channels": self.channels, "duration": round(self.duration, 3) if self.duration else None,
                    "format": self.format, "tags": {k: v for k, v in self.tags.items() if k in _SHOWN_TAGS}}
        return out


_SHOWN_TAGS = frozenset({"title", "album", "artist", "album_artist", "date", "genre", "asin", *NARRATOR_TAGS})


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the chosen edition should be (from the wanted entry and the chosen candidate)."""

    runtime_seconds: float | None
    tolerance: float
    narrators: tuple[str, ...] = ()  # the one(s) chosen
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NarratorCheck:
    """What listening to the opening said: ``not_checked`` (no listener), ``not_heard``, ``heard``
    (the chosen narrator) or ``mismatch`` (another name, with confidence)."""

    status: str
    detail: str = ""
    name: str | None = None
    heard_text: str | None = None
    seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "name": self.name, "heard_text": self.heard_text,
                "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class Verification:
    passed: bool
    failures: tuple[str, ...]
    figures: dict[str, Any]

    @property
    def reason(self) -> str | None:
        return "; ".join(self.failures) or None


def tag_narrators(tags: Mapping[str, str]) -> tuple[str, ...]:
    """The people the narrator tags name, split on ``;``, ``&``, ``/`` and "and" (commas are kept:
    "Smith, Jr." and "Briggs, Stephen" are one person each)."""
    out: list[str] = []
    for key in NARRATOR_TAGS:
        value = tags.get(key)
        if not value:
            continue
        for name in _SPLIT.split(_PREFIX.sub("", value)):
            name = name.strip(" ,.")
            if name and name not in out:
                out.append(name)
    return tuple(out)


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _duration(total: float, expected: Expectation) -> tuple[str | None, dict[str, Any]]:
    figures: dict[str, Any] = {"total_seconds": round(total, 3), "expected_seconds": expected.runtime_seconds,
                               "tolerance": expected.tolerance, "deviation": None}
    if not expected.runtime_seconds:
        return None, figures
    deviation = (total - expected.runtime_seconds) / expected.runtime_seconds
    figures["deviation"] = round(deviation, 4)
    if abs(deviation) <= expected.tolerance:
        return None, figures
    return (f"runs {_clock(total)}, {deviation * 100:+.1f}% from the expected {_clock(expected.runtime_seconds)} "
            f"(tolerance ±{expected.tolerance * 100:g}%): another recording or an abridged edition"), figures


def _authorish(name: str, authors: Iterable[str]) -> bool:
    agree = names_agree([name], authors)
    return agree is not None and agree >= SAME_PERSON


def _narrator(first: FileProbe | None, expected: Expectation,
              heard: NarratorCheck) -> tuple[list[str], dict[str, Any]]:
    tagged = [n for n in (tag_narrators(first.tags) if first else ()) if not _authorish(n, expected.authors)]
    figures: dict[str, Any] = {"chosen": list(expected.narrators), "tags": tagged, "agree": None,
                               "listened": heard.as_dict()}
    failures: list[str] = []
    agree = names_agree(tagged, expected.narrators)
    if agree is not None:
        figures["agree"] = round(agree, 3)
        if agree < SAME_PERSON:
            failures.append(f"the files name narrator {', '.join(tagged)}; the chosen edition is read by "
                            f"{', '.join(expected.narrators)}")
    if heard.status == "mismatch":
        failures.append(f"the opening was heard naming narrator {heard.name} "
                        f"({heard.heard_text!r}), not {', '.join(expected.narrators) or 'the chosen one'}")
    return failures, figures


def judge(files: list[FileProbe], expected: Expectation, heard: NarratorCheck) -> Verification:
    """The verdict on a probed download; every failure is named, with its figures."""
    audio = [f for f in files if f.audio]
    failures: list[str] = []
    if not audio:
        failures.append(f"no audio file among {len(files)} file(s)")
    broken = [f for f in audio if not f.decodes]
    failures += [f"{f.path} does not decode: {f.error or 'ffmpeg error'}" for f in broken]
    unmeasured = [f.path for f in audio if f.decodes and not f.duration]
    if unmeasured:
        failures.append(f"no duration for {', '.join(unmeasured[:3])}")
    total = sum(f.duration or 0.0 for f in audio)
    duration_failure, figures = _duration(total, expected)
    if duration_failure and audio and not broken and not unmeasured:
        failures.append(duration_failure)
    narrator_failures, narrator = _narrator(audio[0] if audio else None, expected, heard)
    failures += narrator_failures
    figures |= {"audio_files": len(audio), "files": len(files), "narrator": narrator,
                "codecs": sorted({f.codec for f in audio if f.codec}),
                "bitrate_kbps": round(min(f.bitrate for f in audio if f.bitrate) / 1000)
                if any(f.bitrate for f in audio) else None}
    return Verification(passed=not failures, failures=tuple(failures), figures=figures)
