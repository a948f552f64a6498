"""``import.abs``, step by step: verify, place, find in ABS, describe, conclude.

Each step reads the import row, does its work outside any transaction (ffprobe, links, HTTP), then
commits its result and the next step; a step the row has reached is skipped. So a job killed at
any point and delivered again (or replayed) continues where the last one stopped, and the effects
happen once: the folder path is stored before the first file is linked, ABS finds one item per
folder, and the PATCH is marked sent before it is sent (see ``shared.imports.states``).

A :class:`~shared.infra.errors.PermanentError` (files not where the mapping says, a name taken in
the library, ABS refusing a field) ends the import ``failed`` with its message as the reason, and
the job fails with it (:class:`ImportFailed`); a transient one (ABS restarting) is noted on the row
and raised, so the pool retries the job. ``rejected`` and ``already_owned`` are answers, not
failures: their jobs succeed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from shared.imports import records
from shared.imports.book import BookFacts
from shared.imports.expect import load_expected
from shared.imports.owned import owned_copy
from shared.imports.paths import PathMappings
from shared.imports.states import Step, Verdict, reached
from shared.imports.template import render
from shared.imports.verify import FileProbe, judge, tag_narrators
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import PermanentError, RateLimited
from shared.infra.settings import Settings
from shared.models.download import Download
from shared.models.imports import Import
from shared.models.metadata import Wanted
from shared.wanted.service import current_id
from workers.imports.abs_steps import ScanPlan, check_item, library_for, wait_for_item
from workers.imports.narrator import listen
from workers.imports.place import METADATA_NAME, content_files, place_files, write_atomically
from workers.imports.probe import probe_file
from workers.library.abs_client import AbsClient
from workers.library.abs_models import MediaPatch

log = logging.getLogger(__name__)

#: Download states whose files are complete.
COMPLETE_STATES = frozenset({"seeding", "paused"})


class NotComplete(PermanentError):
    """The download is not complete: nothing to import yet (the monitor queues it on completion)."""


class ImportFailed(PermanentError):
    """The import ended ``failed`` (recorded with its reason): the job fails too, so the ledger and
    its alerts show it; ``POST /api/v1/imports/{id}/retry`` runs it again."""


@dataclass
class Env:
    settings: Settings
    client: Callable[[], AbstractContextManager[AbsClient]]
    job_id: uuid.UUID | None = None
    sleep: Callable[[float], None] = field(default=time.sleep)


def _row(s: Session, import_id: int) -> Import:
    row = s.get(Import, import_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


# -- start -----------------------------------------------------------------------------------------


def _start(download_id: int, env: Env) -> int | dict[str, Any]:
    """The import row's id, or the job's result when there is nothing to do."""
    with session_scope() as s:
        download = s.get(Download, download_id, with_for_update=True)
        if download is None:
            raise records.UnknownDownload(download_id)
        if download.wanted_id is None:
            download.import_state = "skipped"
            return {"download_id": download_id, "skipped": "no wanted entry: the download is left alone"}
        if not (download.completed_at is not None or download.progress >= 1.0 or download.state in COMPLETE_STATES):
            raise NotComplete(f"download {download_id} is {download.state} ({download.progress:.0%}): "
                              "nothing to import yet")
        row = records.begin(s, download, env.job_id)
        if row.verdict is not None:
            return _result(row)
        records.touch(row, runs=row.runs + 1, job_id=env.job_id)
        download.import_state = "importing"
        return row.id


def _result(row: Import) -> dict[str, Any]:
    return {"import_id": row.id, "download_id": row.download_id, "verdict": row.verdict, "reason": row.reason,
            "step": row.step, "placement": row.placement, "abs_item_id": row.abs_item_id,
            "target_dir": row.target_dir}


# -- verify ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verified:
    files: list[FileProbe]
    figures: dict[str, Any]
    failures: tuple[str, ...]
    owned: str | None
    book: BookFacts
    target: tuple[str, str] | None  # (worker path, ABS path)


def _source(download: Download, mappings: PathMappings) -> Path:
    qbit_path = download.content_path or (f"{download.save_path.rstrip('/')}/{download.name}"
                                          if download.save_path and download.name else None)
    if not qbit_path:
        raise PermanentError(f"download {download.id} has no content path yet (the monitor records it)")
    return Path(mappings.worker_path(qbit_path))


def _target(settings: Settings, book: BookFacts) -> tuple[str, str]:
    if settings.abs_library_dir is None:
        raise PermanentError("MAMC_ABS_LIBRARY_DIR is not set: imports need the ABS library folder as this "
                             "worker sees it")
    try:
        rel = render(settings.import_folder_template, book.folder_fields())
    except ValueError as exc:  # a book the template cannot name (no title): retrying cannot help
        raise PermanentError(f"no library folder for {book.title!r}: {exc}") from None
    target = Path(settings.abs_library_dir).joinpath(*PurePosixPath(rel).parts)
    return str(target), settings.path_mappings.abs_path(str(target))


def _verify_files(import_id: int, env: Env) -> _Verified | None:
    settings = env.settings
    with session_scope() as s:
        row = _row(s, import_id)
        if reached(row.step, Step.VERIFIED):
            return None
        download = s.get(Download, row.download_id)
        wanted = s.get(Wanted, current_id(s, row.wanted_id)) if row.wanted_id is not None else None
        assert download is not None
        if wanted is None:
            raise PermanentError(f"the wanted entry {row.wanted_id} of download {download.id} is gone")
        expected = load_expected(s, download, wanted, settings.import_duration_tolerance)
        source = _source(download, settings.path_mappings)
    files = content_files(source)
    probes = [probe_file(f.path, str(f.rel)) for f in files]
    first_audio = next((f.path for f, p in zip(files, probes, strict=True) if p.audio and p.decodes), None)
    heard = listen(first_audio, expected.expectation.narrators, expected.names_in_play)
    verdict = judge(probes, expected.expectation, heard)
    book = expected.book
    if not book.narrators:  # nothing chosen: the files' own credit describes the book
        first = next((p for p in probes if p.audio), None)
        book = replace(book, narrators=tag_narrators(first.tags) if first else ())
    owned, target = None, None
    if verdict.passed:
        with session_scope() as s:
            owned = owned_copy(s, asins=expected.asins, title=book.title, authors=book.authors,
                               duration_seconds=verdict.figures.get("total_seconds"),
                               tolerance=settings.import_duration_tolerance)
        if owned is None:
            target = _target(settings, book)
    figures = verdict.figures | {"source": str(source)}
    return _Verified(probes, figures, verdict.failures, owned, book, target)


def verify(import_id: int, env: Env) -> bool:
    """Probe, judge, check the library; True when that already decided the verdict."""
    found = _verify_files(import_id, env)
    if found is None:
        return False
    with session_scope() as s:
        row = _row(s, import_id)
        if reached(row.step, Step.VERIFIED) or row.verdict is not None:
            return row.verdict is not None  # another delivery got here first
        records.touch(row, files=[p.as_dict() for p in found.files], figures=found.figures,
                      source_path=found.figures["source"], verified_at=utcnow())
        if found.failures:
            records.finish(s, row, Verdict.REJECTED, "; ".join(found.failures))
            return True
        if found.owned is not None:
            records.finish(s, row, Verdict.ALREADY_OWNED, found.owned)
            return True
        assert found.target is not None
        target_dir, abs_path = found.target
        records.touch(row, step=Step.VERIFIED.value, target_dir=target_dir, abs_path=abs_path,
                      book={"folder": target_dir, "metadata": found.book.metadata_json(),
                            "patch": found.book.patch_fields()})
    return False


# -- place -----------------------------------------------------------------------------------------


def place(import_id: int, env: Env) -> bool:
    """Link every file into the library folder and write ``metadata.json`` beside them."""
    with session_scope() as s:
        row = _row(s, import_id)
        if reached(row.step, Step.PLACED):
            return False
        assert row.source_path and row.target_dir
        source, target, metadata = Path(row.source_path), Path(row.target_dir), dict(row.book["metadata"])
    placement = place_files(content_files(source), target)
    write_atomically(target / METADATA_NAME, BookFacts.json_text(metadata))
    with session_scope() as s:
        row = _row(s, import_id)
        records.touch(row, step=Step.PLACED.value, placement=placement.value, placed_at=utcnow())
    log.info("import %s: placed %s (%s)", import_id, target, placement)
    return False


# -- find in ABS -----------------------------------------------------------------------------------


def _note_scan(import_id: int) -> Callable[[int], None]:
    def note(scans: int) -> None:
        with session_scope() as s:
            records.touch(_row(s, import_id), scans=scans, scan_requested_at=utcnow())
    return note


def find(import_id: int, env: Env) -> bool:
    """Scan until ABS lists the folder, then check the item against the files."""
    settings = env.settings
    with session_scope() as s:
        row = _row(s, import_id)
        if reached(row.step, Step.FOUND):
            return False
        assert row.abs_path is not None
        abs_path, library_id, scans = row.abs_path, row.abs_library_id, row.scans
        duration = float(row.figures.get("total_seconds") or 0.0)
        asin = (row.book.get("metadata") or {}).get("asin")
    plan = ScanPlan(timeout=settings.import_scan_timeout, poll=settings.import_scan_poll,
                    attempts=settings.import_scan_attempts, scans_done=scans)
    with env.client() as client:
        if library_id is None:
            library_id = library_for(client.list_libraries(), abs_path).id
            with session_scope() as s:
                records.touch(_row(s, import_id), abs_library_id=library_id)
        outcome = wait_for_item(client, library_id, abs_path, plan, _note_scan(import_id), sleep=env.sleep)
        item = client.get_item(outcome.item.id) if outcome.item is not None else None
    scan_figures = {"scans": outcome.scans, "waited_s": outcome.waited, "polls": outcome.polls}
    with session_scope() as s:
        row = _row(s, import_id)
        if item is None:
            records.touch(row, figures={**row.figures, "abs": scan_figures})
            records.finish(s, row, Verdict.FAILED, f"ABS did not list {abs_path} after {outcome.scans} scan(s) "
                                                   f"in {outcome.waited:.0f} s (library {library_id})")
            return True
        check = check_item(item, duration=duration, asin=asin)
        records.touch(row, abs_item_id=item.id, figures={**row.figures, "abs": check.figures | scan_figures})
        if check.problems:
            records.finish(s, row, Verdict.FAILED, "; ".join(check.problems))
            return True
        records.touch(row, step=Step.FOUND.value, found_at=utcnow())
    return False


# -- describe --------------------------------------------------------------------------------------


def describe(import_id: int, env: Env) -> bool:
    """PATCH the item's metadata in ABS's schema, once, and confirm it was stored."""
    with session_scope() as s:
        row = _row(s, import_id)
        if reached(row.step, Step.DESCRIBED):
            return False
        assert row.abs_item_id is not None
        item_id, fields, sent_before = row.abs_item_id, dict(row.book["patch"]), row.patch_sent_at is not None
        if not sent_before:
            records.touch(row, patch_sent_at=utcnow())  # committed before it is sent: at most one PATCH
    with env.client() as client:
        if sent_before and not MediaPatch.from_fields(fields).unapplied(client.get_item(item_id)):
            log.info("import %s: an earlier run's PATCH of %s was stored; not sent again", import_id, item_id)
        else:
            client.patch_media(item_id, fields)  # reads the item back; PermanentError names what was not stored
    with session_scope() as s:
        records.touch(_row(s, import_id), step=Step.DESCRIBED.value, described_at=utcnow())
    return False


def conclude(import_id: int, env: Env) -> bool:
    with session_scope() as s:
        row = _row(s, import_id)
        if row.verdict is None:
            records.finish(s, row, Verdict.IMPORTED, None)
    return True


STEPS: tuple[Callable[[int, Env], bool], ...] = (verify, place, find, describe, conclude)


# -- the whole ---------------------------------------------------------------------------------------


def _fail(import_id: int, reason: str) -> None:
    with session_scope() as s:
        row = _row(s, import_id)
        if row.verdict is None:
            records.finish(s, row, Verdict.FAILED, reason[:2000])


def _note_error(import_id: int, exc: BaseException) -> None:
    with session_scope() as s:
        records.touch(_row(s, import_id), error=f"{type(exc).__name__}: {exc}"[:2000])


def run_import(download_id: int, env: Env) -> dict[str, Any]:
    """Import one completed download (the body of ``import.abs``); its result is the import's state."""
    started = _start(download_id, env)
    if isinstance(started, dict):
        return started
    import_id = started
    try:
        for step in STEPS:
            if step(import_id, env):
                break  # a verdict was reached
    except PermanentError as exc:
        _fail(import_id, str(exc))
    except RateLimited:
        raise  # a wait for a rate-limit slot, not an error: the job is deferred
    except Exception as exc:
        _note_error(import_id, exc)  # shown by GET /api/v1/imports/{id} while the pool retries
        raise
    with session_scope() as s:
        row = s.get(Import, import_id)
        assert row is not None
        if row.verdict == Verdict.FAILED:
            raise ImportFailed(f"import {row.id} failed: {row.reason}")
        return _result(row)
