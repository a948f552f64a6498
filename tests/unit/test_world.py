"""The generated world is deterministic and its ground truth is self-consistent.

Gap-detection tests downstream trust ``World.truths``; these tests are what makes that trust earned:
every true gap is a released primary book nobody owns, every owned work is really listed by a
provider simulator, and the library's identifiers really point at the owned work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sims.providers import build_audible_app, build_hardcover_app, in_process_client
from tests.sims.world import AS_OF, OwnedBook, World, generate_world, isbn10_of

ROOT = Path(__file__).resolve().parents[2]
_SERIES_QUERY = """query S($id: Int!) { series_by_pk(id: $id) {
  book_series(distinct_on: position, order_by: [{position: asc}, {book: {users_count: desc}}],
              where: {book: {compilation: {_eq: false}, canonical_id: {_is_null: true}}}) { book { id } } } }"""


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world()


def _digest(world: World) -> str:
    text = repr((world.authors, world.series, world.universes, world.ownerships, sorted(world.truths.items())))
    return hashlib.sha256(text.encode()).hexdigest()


def test_same_arguments_give_the_same_world() -> None:
    first, second = generate_world(50, seed=3), generate_world(50, seed=3)
    assert first == second
    assert first.owned_books == second.owned_books
    assert first.truths == second.truths
    assert _digest(first) != _digest(generate_world(50, seed=4))


def test_world_does_not_depend_on_hash_randomisation() -> None:
    code = (
        "from tests.unit.test_world import _digest; from tests.sims.world import generate_world; "
        "print(_digest(generate_world(30, seed=2)))"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert digests == {_digest(generate_world(30, seed=2))}


def test_every_true_gap_is_a_released_primary_that_nobody_owns(world: World) -> None:
    owned_by_series: dict[str, set[int]] = {}
    for o in world.ownerships:
        owned_by_series.setdefault(o.series_id, set()).update(world.works[o.work_id].covers)
    total_gaps = 0
    for series in world.series:
        truth = world.truths[series.series_id]
        covered = owned_by_series.get(series.series_id, set())
        released = {int(w.position) for w in series.works if w.kind == "primary" and w.release_date <= AS_OF}
        for gap in truth.true_gaps:
            assert gap in released and gap >= 1
            assert gap not in covered, f"{series.series_id}: gap {gap} is owned"
        assert set(truth.true_gaps) == released - covered  # and nothing missing is left out
        total_gaps += len(truth.true_gaps)
    assert total_gaps > 0


def test_novellas_prequels_omnibus_and_unreleased_books_are_never_gaps(world: World) -> None:
    for series in world.series:
        truth = world.truths[series.series_id]
        primary_released = {w.position for w in series.works if w.kind == "primary" and w.release_date <= AS_OF}
        assert {str(g) for g in truth.true_gaps} <= primary_released
        assert 0 not in truth.true_gaps
        assert not set(truth.unreleased_positions) & set(truth.true_gaps)
    unreleased = [s for s in world.series if any(q.startswith("unreleased") for q in s.quirks)]
    assert unreleased and all(world.truths[s.series_id].unreleased_positions for s in unreleased)


def test_an_owned_omnibus_covers_its_range(world: World) -> None:
    omnibus = [o for o in world.ownerships if world.works[o.work_id].kind == "omnibus"]
    assert omnibus
    for o in omnibus:
        covered = world.works[o.work_id].covers
        assert not set(covered) & set(world.truths[o.series_id].true_gaps)
        assert o.book.series == [] or o.book.series[0][1] == world.works[o.work_id].position


def test_every_owned_work_is_listed_by_audible_or_hardcover(world: World) -> None:
    audible = in_process_client(build_audible_app(world))
    hardcover = in_process_client(build_hardcover_app(world, enforce_limits=False))
    by_hardcover_id = {w.hardcover_id: w.work_id for w in world.works.values()}
    listed: set[str] = set()
    for series in world.series:
        product = audible.get(
            f"/1.0/catalog/products/{series.audible_asin('us')}", params={"response_groups": "relationships"}
        ).json()["product"]
        listed |= {world.editions[r["asin"]][0].work_id for r in product["relationships"]}
        answer = hardcover.post(
            "/v1/graphql",
            json={"query": _SERIES_QUERY, "variables": {"id": series.hardcover_id}},
            headers={"authorization": "Bearer sim-token"},
        ).json()
        listed |= {by_hardcover_id[link["book"]["id"]] for link in answer["data"]["series_by_pk"]["book_series"]}
    missing = world.owned_work_ids - listed
    assert not missing


def test_library_identifiers_point_at_the_owned_work(world: World) -> None:
    for o in world.ownerships:
        work = world.works[o.work_id]
        if o.book.asin is not None:
            assert world.editions[o.book.asin][0].work_id == o.work_id
            assert world.editions[o.book.asin][1].region == ("uk" if o.mess == "other_region_asin" else "us")
        if o.book.isbn is not None:
            assert o.book.isbn in {work.isbn13, isbn10_of(work.isbn13 or "")}
        assert abs(o.book.duration_seconds - world.editions[o.edition_asin][1].duration_seconds) <= 40
        if o.mess in ("odd_title", "no_series_meta"):
            assert o.book.series == []
        if o.mess.startswith("no_asin") or o.mess == "odd_title":
            assert o.book.asin is None


def test_every_kind_of_mess_and_disagreement_occurs(world: World) -> None:
    assert {o.mess for o in world.ownerships} == {
        "clean",
        "odd_title",
        "other_region_asin",
        "no_asin_isbn",
        "no_asin_no_isbn",
        "alt_series_name",
        "no_series_meta",
    }
    kinds = {q.split(":")[0] for s in world.series for q in s.quirks}
    assert kinds == {
        "name",
        "hc_extra_novella",
        "audible_missing",
        "hc_duplicate",
        "omnibus",
        "unreleased",
        "uk",
        "universe",
    }
    assert {w.kind for w in world.works.values()} == {"primary", "novella", "prequel", "omnibus"}
    assert {e.kind for _, e in world.editions.values()} == {"main", "abridged", "foreign"}
    assert all(world.truths[s.series_id].owned_work_ids for s in world.series)  # the user owns part of each


def test_quirks_describe_real_differences(world: World) -> None:
    for series in world.series:
        for quirk in series.quirks:
            kind, _, position = quirk.partition(":")
            work = next((w for w in series.works if w.position == position), None)
            if kind == "name":
                assert series.audible_name != series.hardcover_name
            elif kind == "hc_extra_novella":
                assert work is not None and work.kind == "novella" and not work.editions
            elif kind == "audible_missing":
                assert work is not None and work.editions and not any(e.in_series for e in work.editions)
            elif kind == "hc_duplicate":
                assert work is not None and work.hardcover_duplicate_id is not None


def test_owned_book_is_a_plain_dataclass() -> None:
    params = OwnedBook.__dataclass_params__  # type: ignore[attr-defined]
    assert dataclasses.is_dataclass(OwnedBook) and not params.frozen
    assert [f.name for f in dataclasses.fields(OwnedBook)][:8] == [
        "title",
        "authors",
        "series",
        "narrators",
        "asin",
        "isbn",
        "duration_seconds",
        "language",
    ]
