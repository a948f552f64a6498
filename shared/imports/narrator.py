"""Listening for the narrator: the contract with the listener, and how its answer is read.

The listener (``workers/imports/listen.py``, built separately: offline speech recognition of the
opening minute) is called as ``hear_narrator(first_audio_file, names_in_play)`` and returns ``None``
(no intro, nothing confident) or an object shaped like :class:`NarratorHeard`. ``names_in_play``
are the names it decides among (recognition of names is rough, so it picks the most similar one):
the chosen narrators, the other candidates' narrators and the series' narrators.

Reading the answer is a rule of this domain, so it lives here: a confident name that is one of the
chosen narrators is ``heard``; a confident other name is a ``mismatch`` (the wrong recording); no
answer, or an unconfident one, is ``not_heard`` and blocks nothing.
"""

from __future__ import annotations

from typing import Protocol

from shared.imports.verify import SAME_PERSON, NarratorCheck
from shared.names import names_agree

__all__ = ["NarratorHeard", "read_answer"]


class NarratorHeard(Protocol):
    """What the listener returns when it heard something."""

    @property
    def name(self) -> str | None:
        """The name in play the opening named (None: a credit was heard but matched no name in play)."""

    @property
    def heard_text(self) -> str:
        """The words recognised around the credit ("narrated by stephen friends")."""

    @property
    def confident(self) -> bool: ...


def read_answer(answer: NarratorHeard | None, chosen: tuple[str, ...], seconds: float) -> NarratorCheck:
    """The listener's answer as a check: heard, mismatch or not heard."""
    if answer is None or not answer.confident or not answer.name:
        text = answer.heard_text if answer is not None else None
        return NarratorCheck("not_heard", "no confident narrator credit in the opening", heard_text=text,
                             seconds=round(seconds, 2))
    agree = names_agree([answer.name], chosen)
    if agree is None:
        return NarratorCheck("not_heard", "no chosen narrator to compare with", name=answer.name,
                             heard_text=answer.heard_text, seconds=round(seconds, 2))
    status = "heard" if agree >= SAME_PERSON else "mismatch"
    return NarratorCheck(status, f"similarity {agree:.2f} to the chosen narrator", name=answer.name,
                         heard_text=answer.heard_text, seconds=round(seconds, 2))
