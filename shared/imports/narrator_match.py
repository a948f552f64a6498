"""Which narrator in play did a rough transcript of a book's opening name, if any?

Audiobooks often open with "<Title>, written by <Author>, narrated by <Narrator>". The worker
transcribes that minute offline (``workers/imports/listen.py``); this module reads the transcript.
It is pure, so the thresholds are unit-tested without audio.

Why similarity and not exact words: an offline recogniser with a general English vocabulary
mishears names it has never seen ("narrated by stephen friends" for Stephen Briggs, "rape torture"
for Ray Porter, "and the circus" for Andy Serkis) and sometimes the cue itself ("narrate it by").
So the transcript is never searched for a name. Instead every name *in play* (the narrator we
expect, the other candidates' narrators, the series' narrators) is scored against the words that
follow each cue, written (edit distance on the letters) and phonetic (edit distance on Metaphone
codes, which forgive "planar"/"planer", "hayes"/"hays"), and the verdict needs both an absolute
score and a clear lead over the other side. A name not in play can therefore never be the answer:
at worst the verdict is "not heard", which does not block an import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import jellyfish

from shared.names import author_key, natural_name
from shared.normalize import fold_name

__all__ = [
    "AMBIGUITY_MARGIN",
    "CUE_THRESHOLD",
    "NAME_THRESHOLD",
    "SURNAME_FLOOR",
    "NamesInPlay",
    "NarratorHeard",
    "Outcome",
    "NotHeardReason",
    "decide",
    "find_cues",
    "phonetic_key",
    "similarity",
    "surname_similarity",
    "words",
]

Outcome = Literal["heard", "mismatch", "not_heard"]
#: ``silence``: nothing recognised; ``no_intro``: words but no "narrated/read/performed by";
#: ``no_confident_name``: a cue, but no name in play sounds like what follows it;
#: ``ambiguous``: an expected and another name in play fit about equally well.
NotHeardReason = Literal["silence", "no_intro", "no_confident_name", "ambiguous"]

#: The cues, as the recogniser spells words (its dictionary is lower-case, no punctuation).
CUES: tuple[tuple[str, ...], ...] = (("narrated", "by"), ("read", "by"), ("performed", "by"))
#: How alike a run of words must be to a cue. "narrate it by" (0.83) and "narrated buy" (0.95)
#: pass; "written by" (0.54 against "read by") must not, or the author would be read as narrator.
CUE_THRESHOLD = 0.78
#: How alike the words after a cue must be to a name for it to count at all. Measured on festival
#: voices through PocketSphinx: right names score 0.62-1.0 ("rape torture" for Ray Porter is
#: 0.62), a name that is not the one spoken scores at most ~0.5.
NAME_THRESHOLD = 0.6
#: How alike the end of the words after a cue must be to a name's last word. First names are
#: shared ("Stephen" Briggs and "Stephen" Fry) and recognised well, so "narrated by stephen" alone
#: scores 0.68 against Stephen Fry on the whole name; the surname is what tells people apart.
#: Right surnames scored 0.41 and up ("friends" for Briggs), absent ones at most ~0.2.
SURNAME_FLOOR = 0.35
#: The lead the best name needs over the best name of the other side (expected vs the rest).
AMBIGUITY_MARGIN = 0.1
#: A name may be heard as fewer words ("rape torture") or more ("and the circus" for "andy
#: serkis"); windows up to this many extra words are tried.
_EXTRA_WORDS = 2
_SNIPPET_WORDS = 8

_NOT_WORD = re.compile(r"[^a-z0-9\s]+")


def words(text: str) -> list[str]:
    """Lower-case ASCII words: apostrophes and dots vanish ("world's" -> "worlds", "J.K." -> "jk")."""
    return _NOT_WORD.sub("", fold_name(text).replace("-", " ")).split()


def phonetic_key(tokens: Sequence[str]) -> str:
    """Metaphone of each word, joined: "andy serkis" and "and the circus" -> ANTSRKS / ANT0SRKS.

    Per word, because Metaphone's rules depend on where a word starts ("kn", "wr"); joined,
    because the recogniser does not keep a name's word boundaries.
    """
    return "".join(jellyfish.metaphone(token) for token in tokens if token)


def _ratio(left: str, right: str) -> float:
    longest = max(len(left), len(right))
    if longest == 0:
        return 0.0
    return 1.0 - jellyfish.levenshtein_distance(left, right) / longest


def similarity(heard: Sequence[str], name: Sequence[str]) -> float:
    """0..1: the mean of written likeness (letters, spaces ignored) and phonetic likeness."""
    written = _ratio("".join(heard), "".join(name))
    phonetic = _ratio(phonetic_key(heard), phonetic_key(name))
    return (written + phonetic) / 2


@dataclass(frozen=True, slots=True)
class Cue:
    """Where a cue was recognised: ``tokens[start:end]`` sounded like "narrated by" or its kin."""

    start: int
    end: int
    score: float


def find_cues(tokens: Sequence[str]) -> list[Cue]:
    """Every run of one to three words that sounds like a cue; overlapping runs are all kept.

    Keeping them all is harmless: a spurious cue only adds windows for names to be scored in, and
    a name still needs :data:`NAME_THRESHOLD` there.
    """
    found: list[Cue] = []
    for start in range(len(tokens)):
        for length in (1, 2, 3):
            end = start + length
            if end > len(tokens):
                break
            score = max(similarity(tokens[start:end], cue) for cue in CUES)
            if score >= CUE_THRESHOLD:
                found.append(Cue(start, end, score))
    return found


def _distinct(names: Iterable[str], taken: set[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for name in names:
        key = author_key(name)
        if words(key) and key not in taken:
            taken.add(key)
            kept.append(name.strip())
    return tuple(kept)


@dataclass(frozen=True, slots=True)
class NamesInPlay:
    """The narrators a recording could plausibly name, and which of them we expect.

    ``expected``: the chosen edition's narrator(s); at least one, or there is nothing to check.
    ``candidates``: the other editions' narrators (from the same search).
    ``series``: narrators of the series' other books (a series often changes narrator).
    A name on both sides counts as expected only; duplicates ("Briggs, Stephen") are dropped.
    """

    expected: tuple[str, ...]
    candidates: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    others: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        taken: set[str] = set()
        expected = _distinct(self.expected, taken)
        if not expected:
            raise ValueError("NamesInPlay needs the expected narrator: without it there is nothing to check")
        object.__setattr__(self, "expected", expected)
        object.__setattr__(self, "others", _distinct((*self.candidates, *self.series), taken))


@dataclass(frozen=True, slots=True)
class NarratorHeard:
    """The verdict, in a shape an import record can store as JSON (:meth:`as_dict`).

    ``name`` is the name in play that was heard: the expected one for ``heard``, the other one for
    ``mismatch``, the best guess (not acted on) for ``not_heard`` when there was one.
    ``heard_as`` is what the recogniser wrote for it; ``snippet`` the words around the cue.
    ``seconds`` and ``audio_seconds`` are filled in by the worker that listened.
    """

    outcome: Outcome
    name: str | None
    confidence: float
    heard_as: str
    snippet: str
    reason: NotHeardReason | None = None
    seconds: float = 0.0
    audio_seconds: float = 0.0

    @property
    def confident(self) -> bool:
        """A name was decided (heard or mismatch); ``not_heard`` never blocks an import."""
        return self.outcome != "not_heard"

    @property
    def heard_text(self) -> str:
        """The recognised words around the credit, e.g. "narrated by stephen friends"."""
        return self.snippet

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "name": self.name,
            "confidence": round(self.confidence, 3),
            "heard_as": self.heard_as,
            "snippet": self.snippet,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
            "audio_seconds": round(self.audio_seconds, 2),
        }


@dataclass(frozen=True, slots=True)
class _Match:
    name: str
    score: float
    heard_as: str
    cue: Cue


def surname_similarity(heard: Sequence[str], name: Sequence[str]) -> float:
    """How alike the end of ``heard`` (its last word or two) is to the name's last word."""
    if not heard or not name:
        return 0.0
    return max(similarity(heard[-n:], name[-1:]) for n in (1, 2) if n <= len(heard))


def _best_match(name: str, tokens: Sequence[str], cues: Sequence[Cue]) -> _Match | None:
    """The best window after any cue that ends with something like the surname, if any."""
    target = words(natural_name(name))
    best: _Match | None = None
    for cue in cues:
        for length in range(1, len(target) + _EXTRA_WORDS + 1):
            window = tokens[cue.end : cue.end + length]
            if len(window) < length:
                break
            if surname_similarity(window, target) < SURNAME_FLOOR:
                continue
            score = similarity(window, target)
            if best is None or score > best.score:
                best = _Match(name, score, " ".join(window), cue)
    return best


def _best_of(names: Iterable[str], tokens: Sequence[str], cues: Sequence[Cue]) -> _Match | None:
    matches = [m for m in (_best_match(n, tokens, cues) for n in names) if m is not None]
    return max(matches, key=lambda m: m.score, default=None)


def _snippet(tokens: Sequence[str], start: int) -> str:
    return " ".join(tokens[start : start + _SNIPPET_WORDS])


def decide(transcript: str, names: NamesInPlay) -> NarratorHeard:
    """Read a transcript's intro: which name in play follows "narrated/read/performed by"?

    ``heard`` and ``mismatch`` need the best name to reach :data:`NAME_THRESHOLD` and to lead the
    best name of the other side by :data:`AMBIGUITY_MARGIN`; anything less is ``not_heard``. A
    name only competes through windows whose end sounds like its surname (:data:`SURNAME_FLOOR`).
    """
    tokens = words(transcript)
    if not tokens:
        return NarratorHeard("not_heard", None, 0.0, "", "", reason="silence")
    cues = find_cues(tokens)
    if not cues:
        return NarratorHeard("not_heard", None, 0.0, "", _snippet(tokens, 0), reason="no_intro")
    expected = _best_of(names.expected, tokens, cues)
    other = _best_of(names.others, tokens, cues)
    # Stable sort: on a tie the expected name comes first, and the margin then says "ambiguous".
    ranked = sorted((m for m in (expected, other) if m is not None), key=lambda m: m.score, reverse=True)
    if not ranked:
        return NarratorHeard("not_heard", None, 0.0, "", _snippet(tokens, cues[0].start), reason="no_confident_name")
    best, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    snippet = _snippet(tokens, best.cue.start)
    if best.score < NAME_THRESHOLD:
        return NarratorHeard("not_heard", best.name, best.score, best.heard_as, snippet, reason="no_confident_name")
    if runner_up is not None and best.score - runner_up.score < AMBIGUITY_MARGIN:
        return NarratorHeard("not_heard", best.name, best.score, best.heard_as, snippet, reason="ambiguous")
    outcome: Outcome = "heard" if best is expected else "mismatch"
    return NarratorHeard(outcome, best.name, best.score, best.heard_as, snippet)
