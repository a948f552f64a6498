"""Merging fields with provenance under a precedence; protected fields keep verified values."""

from __future__ import annotations

from typing import Any

import pytest

from shared.infra.errors import ConfigError
from shared.infra.settings import Settings, load_settings
from shared.models.metadata import RecordingMatch
from workers.metadata.merge import FieldState, Observation, merge_field, merge_recording, writeback_patch
from workers.metadata.recordings import LibraryRecording

ORDER = ["audible", "audnexus", "hardcover", "abs"]
REC = LibraryRecording(recording_id=1, work_id=1, title="Iron Crown 3 - The Ashen Blade", authors=("Abbott, Ada",),
                       narrators=(), series=(), asin=None, isbn=None, language="English",
                       duration_seconds=36_025.0, abridged=False, item_ids=("li_1",))
RECORD: dict[str, Any] = {
    "source": "audible", "source_id": "B0MAIN0001", "asin": "B0MAIN0001", "isbn": None, "title": "The Ashen Blade",
    "subtitle": "Iron Crown, Book 3", "authors": ["Ada Abbott"], "narrators": ["Nils Vance"],
    "series": [{"name": "Iron Crown", "position": "3", "source_series_id": "B0SERIES01"}],
    "duration_seconds": 36_000, "language": "en", "release_date": "2020-02-02", "abridged": False,
    "format_type": "unabridged", "region": "us"}


def obs(value: Any, identity: bool = False) -> Observation:
    return Observation(value, 1.0, identity)


def match(state: str = "applied", method: str = "asin", record: dict[str, Any] | None = None) -> RecordingMatch:
    return RecordingMatch(recording_id=1, provider="audible", provider_id="B0MAIN0001", method=method,
                          confidence=1.0, state=state, record=record or RECORD, details={})


def test_precedence_picks_the_strongest_source_and_keeps_what_everyone_said() -> None:
    merged = merge_field("title", {"abs": obs("Iron Crown 3 - X"), "hardcover": obs("X"), "audible": obs("X")},
                         None, ORDER, protected=False)
    assert merged is not None
    assert (merged.value, merged.source, merged.verified) == ("X", "audible", True)  # two sources agree
    assert merged.observations == {"abs": "Iron Crown 3 - X", "hardcover": "X", "audible": "X"}


def test_a_verified_protected_value_is_never_overwritten_by_a_weaker_source() -> None:
    held = FieldState("The Ashen Blade", "audible", 1.0, True, {})
    later = {"hardcover": obs("The Ashen Blade (Book 3)"), "abs": obs("Iron Crown 3 - The Ashen Blade")}
    kept = merge_field("title", later, held, ORDER, protected=True)
    assert kept is not None and (kept.value, kept.source) == ("The Ashen Blade", "audible")
    assert kept.observations == {k: v.value for k, v in later.items()}
    # unprotected, the best source still present wins
    moved = merge_field("title", later, held, ORDER, protected=False)
    assert moved is not None and moved.source == "hardcover"
    # a stronger source may replace it
    stronger = merge_field("title", {"audible": obs("Ashen Blade")}, FieldState("x", "hardcover", 1.0, True, {}),
                           ORDER, protected=True)
    assert stronger is not None and stronger.value == "Ashen Blade"


def test_duration_from_the_files_is_verified_and_wins_by_default() -> None:
    settings = Settings()
    merged = merge_recording(REC, [match()], {}, settings)
    assert (merged["duration_seconds"].value, merged["duration_seconds"].source) == (36_025.0, "abs")
    assert merged["duration_seconds"].verified
    assert (merged["title"].value, merged["title"].source) == ("The Ashen Blade", "audible")
    assert merged["series"].value == [{"name": "Iron Crown", "position": "3"}]
    assert merged["language"].value == "en" and merged["language"].verified  # "English" and "en" agree


def test_a_match_in_review_contributes_nothing() -> None:
    merged = merge_recording(REC, [match(state="review")], {}, Settings())
    assert merged["title"].source == "abs" and "narrators" not in merged


def test_writeback_writes_only_what_a_provider_improved() -> None:
    merged = merge_recording(REC, [match()], {}, Settings())
    patch = writeback_patch(REC, merged)
    assert patch == {"title": "The Ashen Blade", "subtitle": "Iron Crown, Book 3", "narrators": ["Nils Vance"],
                     "series": [("Iron Crown", "3")], "asin": "B0MAIN0001"}
    # "Abbott, Ada" is the same person; the files' duration and ABS's free-text language are never written


@pytest.mark.parametrize(("variable", "value"), [
    ("MAMC_METADATA_PRECEDENCE", '{"default": ["audible", "goodreads"]}'),
    ("MAMC_METADATA_PRECEDENCE", '{"title": ["audible"]}'),
    ("MAMC_METADATA_PROTECTED_FIELDS", '["colour"]'),
    ("MAMC_GAP_RULES", '["sequels"]'),
    ("MAMC_METADATA_CONFIDENCE_THRESHOLD", "1.5"),
    ("MAMC_METADATA_REGIONS", "[]"),
])
def test_bad_metadata_settings_fail_fast(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()
