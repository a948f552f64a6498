"""Series clustering: every name and id of one series joins one cluster, umbrellas and other series don't."""

from __future__ import annotations

from typing import Any

from workers.metadata.clusters import (
    WorkRefs,
    build_clusters,
    owned_keys,
    refs_from_abs,
    refs_from_record,
    refs_from_title,
)


def record(series: list[tuple[str, str | None, str | None]], region: str = "us", **kw: Any) -> dict[str, Any]:
    return {"source": "audible", "source_id": "B0X", "title": kw.get("title", "T"), "authors": ["Ada Abbott"],
            "series": [{"name": n, "position": p, "source_series_id": i} for n, p, i in series], "region": region}


def work(wid: int, title: str, *refs: list[Any], authors: tuple[str, ...] = ("Abbott, Ada",)) -> WorkRefs:
    w = WorkRefs(wid, title, authors, refs=refs_from_title(title))
    for extra in refs:
        w.refs.extend(extra)
    return w


def test_names_ids_and_title_hints_of_one_series_form_one_cluster() -> None:
    works = [
        work(1, "Dawn", refs_from_abs([(10, "The Iron Crown", "1")]),
             refs_from_record("audible", "us", record([("Iron Crown Series", "1", "B0SERIESUS"),
                                                       ("The Abbott Universe", None, "B0UNIVERSE")]))),
        work(2, "Noon", refs_from_abs([(11, "Iron Crown Chronicles Series", "2")])),  # alt name, no match
        work(3, "Iron Crown 3 - Dusk"),  # only the title says so
        work(4, "Night", refs_from_record("audnexus", "uk", record([("Iron Crown Series", "4", "B0SERIESUK")],
                                                                   region="uk"))),
        work(5, "Other", refs_from_abs([(12, "Silver Road", "1")]),
             refs_from_record("audible", "us", record([("Silver Road", "1", "B0SILVER00"),
                                                       ("The Abbott Universe", None, "B0UNIVERSE")]))),
    ]
    clusters = {c.key: c for c in build_clusters(works, "us")}
    assert set(clusters) == {"audible:us:B0SERIESUS", "audible:us:B0SILVER00"}  # the umbrella joined nothing
    crown = clusters["audible:us:B0SERIESUS"]
    assert sorted(crown.works) == [1, 2, 3, 4]
    assert crown.library_series == [10, 11] and crown.audible_asins == ["B0SERIESUS"]
    assert crown.works[3] == {"title": ["3"]} and crown.works[1] == {"abs": ["1"], "audible": ["1"]}
    assert crown.name in ("The Iron Crown", "Iron Crown Chronicles Series")  # the library's own spelling


def test_same_core_by_another_author_is_another_series() -> None:
    works = [work(1, "A", refs_from_abs([(1, "Crown Saga", "1")]), authors=("Ada Abbott",)),
             work(2, "B", refs_from_abs([(2, "Crown Cycle", "1")]), authors=("Ben Brennan",))]
    assert len(build_clusters(works, "us")) == 2


def test_a_book_in_two_series_at_different_places_does_not_merge_them() -> None:
    works = [work(1, "A", refs_from_abs([(1, "Discworld", "8"), (2, "City Watch", "1")]))]
    assert len(build_clusters(works, "us")) == 2


def test_owned_keys_cover_every_spelling() -> None:
    w = work(1, "Iron Crown 3 - The Ashen Blade: A Novel")
    w.record_titles = ["The Ashen Blade"]
    w.asins = {"B0UKASIN01"}
    kinds = {(row["kind"], row["key"]) for row in owned_keys([w])}
    assert ("title", "the ashen blade") in kinds and ("asin", "B0UKASIN01") in kinds
    assert ("title_short", "the ashen blade") in kinds or ("title", "the ashen blade a novel") in kinds
    assert any(k == "work" and key.startswith("the ashen blade\x1f") for k, key in kinds)
