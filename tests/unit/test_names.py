"""shared.names: where the metadata workers and the edition choice want different answers, both stay.

No older test told the two series-word lists or the two "nobody named" answers apart; these pin each
caller's behaviour so a later merge of the two cannot change one silently.
"""

from __future__ import annotations

from shared.models.metadata import wanted_key
from shared.names import author_keys, authors_agree, mam_series_core, names_agree, series_core


def test_the_metadata_series_core_keeps_an_umbrella_universe_and_drops_archives_collection_tales() -> None:
    assert series_core("The Abbott Universe") == "abbott universe"  # an umbrella is not its series
    assert series_core("The Stormlight Archives") == "stormlight"
    assert series_core("Iron Crown Collection") == series_core("Iron Crown Tales") == "iron crown"


def test_the_mam_series_core_drops_universe_and_keeps_archives_collection_tales() -> None:
    assert mam_series_core("Expanse Universe") == mam_series_core("The Expanse Series") == "expanse"
    assert mam_series_core("The Stormlight Archives") == "stormlight archives"
    assert mam_series_core("Iron Crown Collection") == "iron crown collection"


def test_both_cores_fold_the_same_way_otherwise() -> None:
    for name in ("The Iron Crown Chronicles: An Epic Fantasy Series", "Sword & Sun Saga", "Discworld"):
        assert series_core(name) == mam_series_core(name)


def test_authors_agree_counts_nobody_as_no_match_names_agree_as_no_evidence() -> None:
    assert authors_agree(set(), author_keys(["Ada Abbott"])) == 0.0
    assert names_agree([], ["Ada Abbott"]) is None
    assert names_agree(["Tolkien, J. R. R."], ["J.R.R. Tolkien"]) == 1.0
    assert authors_agree(author_keys(["Tolkien, J. R. R."]), author_keys(["J.R.R. Tolkien"])) == 1.0
    assert 0.0 < authors_agree({"ada abbott"}, {"ada abbot"}) == names_agree(["Ada Abbott"], ["Ada Abbot"]) < 1.0


def test_the_wanted_key_ignores_authors_that_fold_to_nothing() -> None:
    assert wanted_key("Dawn", ["Abbott, Ada", " ", "Ada Abbott"]) == "dawn\x1fada abbott"
