"""The library upsert against real PostgreSQL: the result never depends on how items were batched.

Items arrive in chunks whose order and composition depend on paging, retries and which worker
took which chunk, so storing the same items in other batches, in another order, must end with
the same rows — including which spelling of a name is displayed when ABS has several ("Ursula K.
Le Guin" / "ursula k. le guin"). The databases here use an ICU English collation, where
lowercase sorts before uppercase, unlike Python: "smallest spelling wins" has to be decided in
code-point order on both sides or a spelling would win only in some batchings. Storing the same
items again must write no row at all (every row keeps its ``xmin``).
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.devstack.postgres_server import EmbeddedPostgres
from shared.infra.migrate import upgrade
from shared.normalize import fold_name
from tests.sims.abs import generate_library, serve_abs
from workers.library.abs_client import AbsClient
from workers.library.abs_models import AbsItem, SeriesRef
from workers.library.sync import mark_gone
from workers.library.upsert import derive_memberships, upsert_items, work_key, work_title
from workers.upstream import UpstreamOptions

DOMAIN_TABLES = ("works", "authors", "series", "narrators", "work_authors", "series_memberships", "recordings",
                 "recording_narrators", "library_items", "library_item_series")


@pytest.fixture(scope="module")
def items() -> list[AbsItem]:
    state, truth = generate_library(800, seed=11)
    base, stop = serve_abs(state)
    try:
        with AbsClient(UpstreamOptions(base), truth.admin_token) as client:
            out: list[AbsItem] = []
            for lib in client.book_libraries():
                out += client.get_expanded([e.id for e in client.iter_minified(lib.id)])
        return out
    finally:
        stop()


def _icu_database(pg_server: EmbeddedPostgres) -> Iterator[Engine]:
    name = f"icu_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.dsn_for("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C'")
                     .format(sql.Identifier(name)))
    url = pg_server.url_for(name)
    upgrade(url)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        pg_server.drop_database(name)


@pytest.fixture
def db_a(pg_server: EmbeddedPostgres) -> Iterator[Engine]:
    yield from _icu_database(pg_server)


@pytest.fixture
def db_b(pg_server: EmbeddedPostgres) -> Iterator[Engine]:
    yield from _icu_database(pg_server)


def store(engine: Engine, items: list[AbsItem], batch: int) -> None:
    with Session(engine) as s, s.begin():
        for library_id in sorted({i.library_id for i in items}):
            s.execute(text("INSERT INTO libraries (id, name, media_type) VALUES (:i, :i, 'book') "
                           "ON CONFLICT DO NOTHING"), {"i": library_id})
    for start in range(0, len(items), batch):
        with Session(engine) as s, s.begin():
            upsert_items(s, items[start:start + batch])


def dump(engine: Engine) -> dict[str, Any]:
    """Every domain row by business key (surrogate ids depend on insertion order)."""
    with engine.connect() as c:
        q = lambda stmt: sorted(tuple(r) for r in c.execute(text(stmt)))  # noqa: E731
        return {
            "names": {t: q(f"SELECT key, name FROM {t}") for t in ("authors", "series", "narrators")},
            "works": q("SELECT key, title, title_key FROM works"),
            "work_authors": q("SELECT w.key, a.key, wa.ordinal FROM work_authors wa JOIN works w ON w.id = wa.work_id"
                              " JOIN authors a ON a.id = wa.author_id"),
            "series": q("SELECT w.key, s.key, m.position, m.sort_key, m.source_item FROM series_memberships m"
                        " JOIN works w ON w.id = m.work_id JOIN series s ON s.id = m.series_id"),
            "recordings": q("SELECT r.key, w.key, r.asin, r.duration_seconds, r.audio_files::text, r.source_item"
                            " FROM recordings r JOIN works w ON w.id = r.work_id"),
            "narrations": q("SELECT r.key, n.key, rn.ordinal FROM recording_narrators rn"
                            " JOIN recordings r ON r.id = rn.recording_id JOIN narrators n ON n.id = rn.narrator_id"),
            "items": q("SELECT i.abs_id, r.key, i.path, i.state, i.abs_updated_at FROM library_items i"
                       " JOIN recordings r ON r.id = i.recording_id"),
        }


def xmins(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        return [(t, x) for t in DOMAIN_TABLES for (x,) in c.execute(text(f"SELECT xmin::text FROM {t} ORDER BY 1"))]


def test_batching_and_order_do_not_change_the_result(items: list[AbsItem], db_a: Engine, db_b: Engine) -> None:
    spellings: dict[str, set[str]] = defaultdict(set)
    for item in items:
        for name in [a.name for a in item.authors] + list(item.narrators):
            spellings[fold_name(name)].add(name.strip())
    contested = {k: v for k, v in spellings.items() if len(v) > 1}
    assert contested, "the generated library should name someone in two spellings"
    assert any(min(v).lower() != min(v) for v in contested.values()), "want a case-only contest"

    store(db_a, sorted(items, key=lambda i: i.id), batch=250)
    shuffled = list(items)
    random.Random(5).shuffle(shuffled)
    store(db_b, shuffled, batch=37)
    a = dump(db_a)
    assert a == dump(db_b)
    assert a["items"] and len(a["items"]) == len({i.id for i in items if i.media_type == "book"})
    shown = dict(a["names"]["authors"] + a["names"]["narrators"])
    for key, names in contested.items():
        assert shown[key] == min(names), (key, names)  # code-point order, whatever the collation


def test_storing_the_same_items_again_writes_nothing(items: list[AbsItem], db_a: Engine) -> None:
    store(db_a, items, batch=250)
    before = xmins(db_a)
    store(db_a, list(reversed(items)), batch=100)
    assert xmins(db_a) == before


def _narrators_and_series(engine: Engine, abs_id: str) -> tuple[list[str], list[tuple[str, str | None]]]:
    with engine.connect() as c:
        narrators = list(c.scalars(text(
            "SELECT n.name FROM library_items i JOIN recording_narrators rn ON rn.recording_id = i.recording_id"
            " JOIN narrators n ON n.id = rn.narrator_id WHERE i.abs_id = :i ORDER BY rn.ordinal"), {"i": abs_id}))
        series = [tuple(r) for r in c.execute(text(
            "SELECT s.name, m.position FROM library_items i JOIN recordings r ON r.id = i.recording_id"
            " JOIN series_memberships m ON m.work_id = r.work_id JOIN series s ON s.id = m.series_id"
            " WHERE i.abs_id = :i ORDER BY s.name"), {"i": abs_id})]
    return narrators, series


def test_edits_that_remove_narrators_or_series_are_mirrored(items: list[AbsItem], db_a: Engine, db_b: Engine) -> None:
    """An ABS user fixing a wrong narrator or series must see the fix, not the union of old and new."""
    store(db_a, items, batch=250)
    def work(i: AbsItem) -> str:
        return work_key(fold_name(work_title(i)), [fold_name(a.name) for a in i.authors])

    works, recordings = Counter(map(work, items)), Counter(i.asin for i in items)
    item = next(i for i in items
                if len(i.series) >= 2 and i.narrators and i.asin and recordings[i.asin] == 1 and works[work(i)] == 1)
    kept = item.series[0]
    edited = dataclasses.replace(item, narrators=("Zed Newvoice", *item.narrators[1:]),
                                 series=(SeriesRef(kept.id, kept.name, "7"),), updated_at=item.updated_at + 1)
    store(db_a, [edited], batch=1)
    narrators, series = _narrators_and_series(db_a, item.id)
    assert narrators == ["Zed Newvoice", *item.narrators[1:]]
    assert series == [(kept.name, "7")]
    # the same end state as a database that only ever saw the edited item
    rest = [i for i in items if i.id != item.id]
    store(db_b, rest + [edited], batch=250)
    assert dump(db_a) == dump(db_b)


def test_an_item_that_gains_an_asin_keeps_its_recording_row(items: list[AbsItem], db_a: Engine,
                                                             db_b: Engine) -> None:
    """Metadata matches hang off the recording row: an ASIN set by an ABS match or by our write-back
    must not orphan them on a new row."""
    item = next(i for i in items if not i.asin and i.media_type == "book")
    store(db_a, items, batch=250)
    with db_a.connect() as c:
        before = c.scalar(text("SELECT recording_id FROM library_items WHERE abs_id = :i"), {"i": item.id})
    edited = dataclasses.replace(item, asin="B0NEWASIN1", updated_at=item.updated_at + 1)
    store(db_a, [edited], batch=1)
    with db_a.connect() as c:
        after = c.execute(text("SELECT r.id, r.key FROM library_items i JOIN recordings r ON r.id = i.recording_id"
                               " WHERE i.abs_id = :i"), {"i": item.id}).one()
        orphans = c.scalar(text("SELECT count(*) FROM recordings WHERE key = :k"), {"k": f"item:{item.id}"})
    assert tuple(after) == (before, "asin:B0NEWASIN1") and orphans == 0
    store(db_b, [i for i in items if i.id != item.id] + [edited], batch=250)
    assert dump(db_a) == dump(db_b)


def test_a_deleted_edition_stops_claiming_its_series_and_claims_it_again_if_it_returns(
        items: list[AbsItem], db_a: Engine) -> None:
    """Two editions of one work, one of them wrongly tagged with a series: deleting that edition in
    ABS takes the work out of the series (the item is kept, marked gone)."""
    first = next(i for i in items if i.series and i.media_type == "book")
    twin = dataclasses.replace(first, id="zz-twin-edition", asin=None, path=first.path + " (copy)", ino="999",
                               series=(SeriesRef("s-wrong", "A Wrong Series", "3"),))
    store(db_a, [*items, twin], batch=250)

    def series_of_work() -> set[str]:
        return {fold_name(name) for name, _ in _narrators_and_series(db_a, first.id)[1]}

    wrong, right = fold_name("A Wrong Series"), fold_name(first.series[0].name)
    assert {wrong, right} <= series_of_work()
    with Session(db_a) as s, s.begin():
        assert mark_gone(s, [twin.id]) == 1
    assert wrong not in series_of_work() and right in series_of_work()
    with Session(db_a) as s, s.begin():
        s.execute(text("UPDATE library_items SET state = 'present' WHERE abs_id = :i"), {"i": twin.id})
        derive_memberships(s, [twin.id])
    assert wrong in series_of_work()
