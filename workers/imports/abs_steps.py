"""Telling Audiobookshelf: which library holds the folder, a scan, waiting for the item, checking it.

ABS does not see a new folder until it scans (reference §5): ``POST /api/libraries/{id}/scan``
answers before the scan runs, and drops the request if that library is already scanning. So the
import polls, with back-off (``MAMC_IMPORT_SCAN_POLL`` doubling to 30 s) and a deadline
(``MAMC_IMPORT_SCAN_TIMEOUT``), never hammering: while ``GET /api/tasks`` lists the scan it waits;
when the scan is gone it looks for the folder among the newest items (by path, the identity ABS
itself uses). A scan that ended without the folder (it started before the folder existed, or was
a dropped duplicate) is asked for again, up to ``MAMC_IMPORT_SCAN_ATTEMPTS`` scans in all.

Before asking for any scan the folder is looked for once: a run killed after its scan, or ABS's
own watcher, may already have added it. ABS keys items by folder path, so however many scans run,
one folder is one item.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from shared.infra.errors import PermanentError
from workers.library.abs_client import AbsClient
from workers.library.abs_models import AbsItem, AbsLibrary, AbsListEntry

log = logging.getLogger(__name__)

#: Newest items looked through for the folder: a scan adds our folder among its new items, and a
#: scan of this library rarely adds more than a few hundred at once.
NEWEST_PAGES = 3
PAGE = 100
MAX_POLL = 30.0


def _inside(path: PurePosixPath, folder: PurePosixPath) -> bool:
    return path == folder or folder in path.parents


def library_for(libraries: list[AbsLibrary], abs_path: str) -> AbsLibrary:
    """The book library with a folder holding ``abs_path`` (the deepest folder wins)."""
    path = PurePosixPath(abs_path)
    best: tuple[int, AbsLibrary] | None = None
    for lib in libraries:
        if not lib.is_book:
            continue
        for folder in lib.folders:
            folder_path = PurePosixPath(folder)
            if _inside(path, folder_path) and (best is None or len(folder_path.parts) > best[0]):
                best = (len(folder_path.parts), lib)
    if best is None:
        folders = ", ".join(f for lib in libraries if lib.is_book for f in lib.folders) or "none"
        raise PermanentError(f"ABS has no book library with a folder holding {abs_path} (its folders: {folders}); "
                             "set MAMC_ABS_LIBRARY_DIR to a library folder, mapped with MAMC_PATH_MAPPINGS "
                             "(worker_to_abs)")
    return best[1]


def find_item(client: AbsClient, library_id: str, abs_path: str) -> AbsListEntry | None:
    """The item whose folder is ``abs_path``, among the newest items of the library."""
    wanted = PurePosixPath(abs_path)
    for page in range(NEWEST_PAGES):
        rows = client.newest_items(library_id, limit=PAGE, page=page)
        for row in rows:
            if PurePosixPath(row.path) == wanted:
                return row
        if len(rows) < PAGE:
            return None
    return None


@dataclass(frozen=True, slots=True)
class ScanPlan:
    timeout: float
    poll: float
    attempts: int
    scans_done: int = 0  # scans an earlier run of this import already asked for


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    item: AbsListEntry | None
    scans: int
    waited: float
    polls: int


def wait_for_item(client: AbsClient, library_id: str, abs_path: str, plan: ScanPlan,
                  on_scan: Callable[[int], None], *, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> ScanOutcome:
    """Scan until ABS lists the folder, or the attempts or the deadline run out.

    ``on_scan(n)`` is called (and should commit) before the n-th scan is asked for, so a killed run's
    successor knows how many it already asked for."""
    start = clock()
    deadline = start + plan.timeout
    scans, polls = plan.scans_done, 0
    found = find_item(client, library_id, abs_path)
    while found is None and scans < plan.attempts and clock() < deadline:
        scans += 1
        on_scan(scans)
        client.scan_library(library_id)
        delay = plan.poll
        while clock() < deadline:
            sleep(min(delay, max(0.0, deadline - clock())))
            delay = min(delay * 2, MAX_POLL)
            polls += 1
            if client.scan_running(library_id):
                continue
            found = find_item(client, library_id, abs_path)
            break  # the scan is over: found, or ask for another
    return ScanOutcome(found, scans, round(clock() - start, 3), polls)


@dataclass(frozen=True, slots=True)
class ItemCheck:
    problems: tuple[str, ...]
    figures: dict[str, object]


def check_item(item: AbsItem, *, duration: float, asin: str | None) -> ItemCheck:
    """Does ABS's item show the files just placed? Its duration (ABS probed the same files) must be
    within max(5 s, 1 %) of ours; a missing or invalid item is a failure. An ASIN that differs is
    only recorded: the PATCH that follows writes ours, and the read-back proves it."""
    problems = []
    if item.is_missing or item.is_invalid:
        problems.append(f"ABS marks item {item.id} {'missing' if item.is_missing else 'invalid'}")
    got = item.duration_seconds
    if got is None or abs(got - duration) > max(5.0, 0.01 * duration):
        problems.append(f"ABS reports a duration of {got} s for item {item.id}, the files run {duration:.1f} s")
    figures: dict[str, object] = {"item_id": item.id, "duration": got, "asin": item.asin, "asin_expected": asin,
                                  "audio_files": len(item.audio_files), "title": item.title,
                                  "authors": [a.name for a in item.authors]}
    return ItemCheck(tuple(problems), figures)
