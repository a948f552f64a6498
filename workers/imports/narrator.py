"""The call point of the narrator listener: ``workers.imports.listen.hear_narrator``.

The listener (offline speech recognition of the opening, built separately) is imported when an
import runs, not when this module loads: until ``workers/imports/listen.py`` exists every import
records the narrator as ``not_checked`` (said plainly in the import's figures, never "heard"), and
once it lands nothing here changes. Its answer is read by :func:`shared.imports.narrator.read_answer`.
"""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

from shared.imports.narrator import read_answer
from shared.imports.verify import NarratorCheck

log = logging.getLogger(__name__)

LISTENER = "workers.imports.listen"


def listen(first_audio_file: Path | None, chosen: tuple[str, ...], names_in_play: list[str]) -> NarratorCheck:
    """What the opening of the first audio file says about its narrator."""
    if first_audio_file is None:
        return NarratorCheck("not_checked", "no audio file to listen to")
    if not chosen:
        return NarratorCheck("not_checked", "no chosen narrator to listen for")
    try:
        module = importlib.import_module(LISTENER)
    except ModuleNotFoundError as exc:
        if exc.name != LISTENER:
            raise  # the listener is there but one of its own imports is missing: a real error
        return NarratorCheck("not_checked", "no narrator listener is installed (workers/imports/listen.py)")
    started = time.monotonic()
    answer = module.hear_narrator(first_audio_file, names_in_play)
    check = read_answer(answer, chosen, time.monotonic() - started)
    log.info("narrator check of %s: %s (%s)", first_audio_file.name, check.status, check.detail)
    return check
