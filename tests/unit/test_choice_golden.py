"""The golden set: search situations built from the traps of issue 9, each with the expected choice.

Data in ``choice_golden.yaml`` (readable, one situation per entry). Every rejected row's codes are
checked exactly, and every row not listed as rejected must be acceptable, so a rule that starts
rejecting good rows, or stops rejecting bad ones, fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.crawl.choice import QualityProfile, choose
from shared.crawl.torrent import AccountSnapshot
from tests.fixtures.choice import account, row_from_yaml, target

_DATA = yaml.safe_load((Path(__file__).parent / "choice_golden.yaml").read_text())
_SITUATIONS: list[dict[str, Any]] = _DATA["situations"]


def _account(name: str) -> AccountSnapshot | None:
    spec = _DATA["accounts"][name]
    return None if spec is None else account(**spec)


def test_the_golden_set_is_big_enough_and_names_are_unique() -> None:
    names = [s["name"] for s in _SITUATIONS]
    assert len(names) >= 45
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("situation", _SITUATIONS, ids=[s["name"] for s in _SITUATIONS])
def test_golden(situation: dict[str, Any]) -> None:
    wanted = target(**{**_DATA["targets"][situation["target"]], **situation.get("target_overrides", {})})
    rows = [row_from_yaml(r, wanted) for r in situation["rows"]]
    decision = choose(wanted, rows, _account(situation.get("account", "user")),
                      QualityProfile.model_validate(situation.get("profile", {})))
    report = "\n".join(c.__class__.__name__ + " " + repr(c.as_dict()) for c in decision.candidates)

    chosen = decision.chosen
    if situation["expect"] == "nothing":
        assert chosen is None, report
        assert decision.summary.startswith("nothing acceptable"), decision.summary
        assert not decision.confident
    else:
        assert chosen is not None and chosen.torrent_id == int(situation["expect"]), report
        assert decision.candidates[0] is chosen
    expected = {int(k): set(v) for k, v in (situation.get("rejected") or {}).items()}
    for candidate in decision.candidates:
        codes = {str(r.code) for r in candidate.rejections}
        assert codes == expected.get(candidate.torrent_id, set()), (candidate.torrent_id, report)
        assert all(r.reason for r in candidate.rejections)
    if "confident" in situation:
        assert decision.confident is situation["confident"], report
    if "count" in situation:
        assert len(decision.candidates) == situation["count"], report
    if "cost" in situation:
        assert chosen is not None and str(chosen.cost.kind) == situation["cost"], report
