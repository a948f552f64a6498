"""The call point of the narrator listener: ``workers.imports.listen.hear_narrator``.

The listener (offline speech recognition of the opening) hears a name among those in play: the
chosen narrator(s) as expected, the other candidates' as the alternatives. Its answer is read by
:func:`shared.imports.narrator.read_answer`; a file it cannot decode (or ffmpeg missing) is recorded
as ``not_checked`` with the reason, never as heard, and never blocks the import on its own (the
verification's ffprobe/decoding checks decide about a broken file).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shared.imports.narrator import read_answer
from shared.imports.narrator_match import NamesInPlay
from shared.imports.verify import NarratorCheck
from shared.infra.settings import get_settings
from workers.imports.listen import ListenError, hear_narrator

log = logging.getLogger(__name__)

def listen(first_audio_file: Path | None, chosen: tuple[str, ...], names_in_play: list[str]) -> NarratorCheck:
    """What the opening of the first audio file says about its narrator."""
    if first_audio_file is None:
        return NarratorCheck("not_checked", "no audio file to listen to")
    if not chosen:
        return NarratorCheck("not_checked", "no chosen narrator to listen for")
    if not get_settings().import_listen_narrator:
        return NarratorCheck("not_checked", "listening is switched off (MAMC_IMPORT_LISTEN_NARRATOR)")
    started = time.monotonic()
    try:
        answer = hear_narrator(first_audio_file, NamesInPlay(expected=chosen, candidates=tuple(names_in_play)))
    except ListenError as exc:
        return NarratorCheck("not_checked", f"the listener could not decode the opening: {exc}"[:500])
    check = read_answer(answer, chosen, time.monotonic() - started)
    log.info("narrator check of %s: %s (%s)", first_audio_file.name, check.status, check.detail)
    return check
