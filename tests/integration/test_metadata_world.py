"""The simulated world served for metadata tests and the benchmark: ABS holding the owned books,
provider simulators over HTTP, and the figures that compare a wanted list with the ground truth.

``serve_world`` loads ``world.owned_books`` into an Audiobookshelf simulator exactly as the world
describes them (odd titles, "Last, First" authors, regional ASINs, no series metadata...) and serves
Audible, Audnexus and Hardcover simulators of the same world. ``gap_figures`` maps wanted rows back
to the world's works (by ASIN, else by title: titles are unique in a generated world) and computes
recall over the true gaps and the rows that name an owned book.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from shared.engine import ledger
from shared.infra.db import session_scope
from shared.models.jobs import Job
from shared.normalize import fold_name
from tests.integration.stack import wait_state
from tests.sims.abs import ADMIN_TOKEN, AbsState, serve_abs
from tests.sims.providers import build_audible_app, build_audnexus_app, build_hardcover_app, serve
from tests.sims.providers.common import SimApp
from tests.sims.world import Work, World, generate_world

HARDCOVER_TOKEN = "sim-token"


def load_abs(world: World, library_dir: Path | None = None) -> AbsState:
    """ABS holding the world's owned books; with ``library_dir`` its library is that folder on disk,
    which scans read (imports land there), the owned books staying records without files."""
    state = AbsState(seed=world.seed)
    state.add_api_key(ADMIN_TOKEN, state.add_user("root", type="root"))
    folder = str(library_dir) if library_dir is not None else None
    library = state.add_library("Audiobooks", folder_path=folder, disk_path=folder)
    for book in world.owned_books:
        state.add_book(library.id, title=book.title, authors=book.authors, series=book.series,
                       narrators=tuple(book.narrators), asin=book.asin, isbn=book.isbn, language=book.language,
                       duration=float(book.duration_seconds), rel_path=f"{book.item_id} {book.title}")
    return state


@dataclass
class ServedWorld:
    world: World
    abs_state: AbsState
    abs_url: str
    sims: dict[str, SimApp]
    urls: dict[str, str]
    stops: list[Callable[[], None]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"MAMC_ABS_URL": self.abs_url, "MAMC_ABS_TOKEN": ADMIN_TOKEN,
                "MAMC_AUDIBLE_URL": self.urls["audible"], "MAMC_AUDNEXUS_URL": self.urls["audnexus"],
                "MAMC_HARDCOVER_URL": self.urls["hardcover"], "MAMC_HARDCOVER_TOKEN": HARDCOVER_TOKEN}

    def calls(self) -> dict[str, int]:
        return {name: app.state.total for name, app in self.sims.items()}

    def reset_counters(self) -> None:
        for app in self.sims.values():
            app.state.reset_counters()

    def stop(self) -> None:
        for stop in reversed(self.stops):
            stop()


def serve_world(world: World, *, sim_limits: bool = False, wrap: Callable[[SimApp], Any] | None = None,
                library_dir: Path | None = None) -> ServedWorld:
    """Serve ABS and the three provider sims; ``sim_limits`` keeps the providers' own documented limits;
    ``library_dir`` is ABS's library folder on disk (see :func:`load_abs`)."""
    state = load_abs(world, library_dir)
    abs_url, stop_abs = serve_abs(state)
    sims = {"audible": build_audible_app(world),
            "audnexus": build_audnexus_app(world, enforce_limits=sim_limits),
            "hardcover": build_hardcover_app(world, enforce_limits=sim_limits, tokens_allowed=(HARDCOVER_TOKEN,))}
    served = ServedWorld(world, state, abs_url, sims, {}, [stop_abs])
    for name, app in sims.items():
        url, stop = serve(wrap(app) if wrap else app)
        served.urls[name] = url
        served.stops.append(stop)
    return served


def run_job(job_type: str, args: dict[str, Any] | None = None, timeout: float = 600) -> Job:
    with session_scope() as s:
        job_id = ledger.create_job(s, job_type, args or {}).job.id
    return wait_state(job_id, ("succeeded", "failed", "dead", "cancelled"), timeout)


def jobs_of(job_type: str) -> list[Job]:
    with session_scope() as s:
        return list(s.query(Job).filter(Job.type == job_type).order_by(Job.created_at))


@dataclass
class Figures:
    true_gaps: int
    found: int
    recall: float
    owned_listed: list[str]  # wanted rows naming an owned work (or a position an owned omnibus covers)
    extra: list[str]  # reported gaps that are not true gaps (e.g. unreleased), for information
    unmapped: list[str]  # wanted rows the world cannot place

    def line(self) -> str:
        return (f"recall {self.found}/{self.true_gaps} = {self.recall:.2%}; owned books listed: "
                f"{len(self.owned_listed)}; extra gaps: {len(self.extra)}; unmapped rows: {len(self.unmapped)}")


def _work_index(world: World) -> tuple[dict[str, Work], dict[str, Work]]:
    by_asin = {asin: w for asin, (w, _) in world.editions.items()}
    by_title = {fold_name(w.title): w for w in world.works.values()}
    return by_asin, by_title


def wanted_rows(reason: str | None = None) -> list[dict[str, Any]]:
    with session_scope() as s:
        rows = s.execute(text("SELECT id, title, asin, position, reasons, state, series_name FROM wanted "
                              "WHERE CAST(:r AS text) IS NULL OR CAST(:r AS text) = ANY(reasons) ORDER BY id"),
                         {"r": reason}).mappings().all()
    return [dict(r) for r in rows]


def gap_figures(world: World, rows: list[dict[str, Any]]) -> Figures:
    by_asin, by_title = _work_index(world)
    owned = world.owned_work_ids
    covered = {(t.series_id, p) for t in world.truths.values() for p in t.covered_positions}
    true = {(sid, p) for sid, t in world.truths.items() for p in t.true_gaps}
    reported: set[tuple[str, int]] = set()
    owned_listed, extra, unmapped = [], [], []
    for row in rows:
        work = by_asin.get(row["asin"] or "") or by_title.get(fold_name(row["title"] or ""))
        if work is None:
            unmapped.append(f"{row['title']} ({row['asin']})")
            continue
        label = f"{work.work_id} {work.kind} {work.position} {work.title!r}"
        if work.work_id in owned or (work.kind == "primary" and (work.series_id, int(work.position)) in covered):
            owned_listed.append(label)
            continue
        if "series_gap" not in row["reasons"]:
            continue
        if work.kind == "primary":
            reported.add((work.series_id, int(work.position)))
        if work.kind != "primary" or (work.series_id, int(work.position)) not in true:
            extra.append(label)
    found = len(reported & true)
    return Figures(len(true), found, found / len(true) if true else 1.0, owned_listed, extra, unmapped)


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def test_world_loads_into_abs_as_the_world_describes_it() -> None:
    world = generate_world(12, seed=5)
    state = load_abs(world)
    items = state.items_in(next(iter(state.libraries)))
    assert len(items) == len(world.owned_books)
    by_title = {i.title: i for i in items}
    for book in world.owned_books:
        item = by_title[book.title]
        assert (item.asin, item.isbn, item.language) == (book.asin, book.isbn, book.language)
        assert item.duration == book.duration_seconds
